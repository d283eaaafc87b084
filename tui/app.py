"""The Textual app: owns the engine for its lifetime and maps keys to engine calls.

``TickettyApp`` enters :class:`engine.engine.Engine` in a worker when it mounts (so the first
frame paints while the database opens), follows the store's event log in a second worker and
forwards each event to the open screens, and leaves the engine cleanly on quit. Every ticket
action — a key, a ``:`` command or a palette entry — ends in one of the ``op_*`` methods here,
which run a :class:`engine.desk.Desk` call in a worker and report errors as notifications.

Desk calls run one after another in the order their keys were pressed (``desk_call`` holds a
lock), so "send, then close" never ends with the reply's status on top of the close.

Toasts read alike everywhere: :meth:`TickettyApp.notify` starts each with a capital letter and
drops a final full stop ("Closed #384 — u to undo", "Reply queued on #384 as pending"); they
sit above the status bar, never over its position counter.

App-wide keys (ids in brackets): ``?`` help (``app.help``), ``:`` command line
(``app.command_line``), ``ctrl+p`` palette (``app.palette``), ``ctrl+t`` available/away
(``app.availability``), ``u`` undo the last close for 10 s (``app.undo``), ``C`` channels
(``app.channels``), ``ctrl+q`` quit (``app.quit``). The config's ``[keymap]`` remaps any binding
by id; ids of earlier versions still work (:mod:`tui.keymap`).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from textual.app import App
from textual.binding import Binding
from textual.reactive import reactive
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from engine.config import Config
from engine.desk import CloseUndo, Desk
from engine.models import Agent, Event
from engine.store import Store, StoreError
from engine.store.collision import UNSEEN
from themes import DEFAULT_THEME, STYLESHEET, THEMES
from tui import keymap
from tui.commands import COMMANDS, Command, CommandProvider, run_command
from tui.messages import AgentChanged, EngineEvent, EngineReady
from tui.presence import PresenceHost
from tui.screens.admin.commands import admin_commands
from tui.timefmt import system_clock

if TYPE_CHECKING:
    from engine.engine import Engine
    from engine.identity import Identity
    from engine.presence import PresenceSession
    from tui.host import DeskApp

log = logging.getLogger("ticketty.tui")
BACKGROUND_GROUPS = {"engine", "events", "wizard", "demo"}
USER_ERRORS = (StoreError, ValueError)
UNDO_SECONDS = 10.0  # how long ``u`` can take a close back


def toast_text(message: str) -> str:
    """One style for every toast: a capital first letter, no final full stop."""
    text = message.strip()
    if text.endswith(".") and not text.endswith(".."):
        text = text[:-1]
    return text[:1].upper() + text[1:]


class TickettyApp(PresenceHost, App[int]):
    """The help desk. ``clock`` and ``tz`` are injectable so tests freeze time.

    Screens see it through :class:`tui.host.DeskApp`; it builds its ``:`` command table
    (``commands``: the desk's and the admin ones) when it is created."""

    TITLE = "ticketty"
    CSS_PATH = str(STYLESHEET)
    CSS = """
    ToastRack { margin-bottom: 2; }  /* above the status bar: its counter stays readable */
    """
    COMMANDS = App.COMMANDS | {CommandProvider}
    BINDINGS = [
        Binding("ctrl+q", "quit", "Quit", show=False, priority=True, id="app.quit",
                tooltip="Quit ticketty from any screen"),
        Binding("question_mark", "help", "Help", id="app.help", tooltip="Keys of this screen"),
        Binding("colon", "command_line", "Command", id="app.command_line",
                tooltip="Command line (:assign, :status, :view …)"),
        Binding("ctrl+p", "command_palette", "Palette", show=False, priority=True,
                id="app.palette", tooltip="Command palette"),
        Binding("ctrl+t", "toggle_availability", "Available/away", show=False,
                id="app.availability",
                tooltip="Toggle available / away (routing skips away agents)"),
        Binding("C", "channels", "Channels", show=False, id="app.channels",
                tooltip="Channels: health, connect, edit, enable/disable"),
        Binding("u", "undo", "Undo close", show=False, id="app.undo",
                tooltip="Undo the last close (for 10 seconds)"),
    ]

    agent: reactive[Agent | None] = reactive(None, always_update=True)

    def __init__(self, config: Config | None = None, db: str | Path | None = None, *,
                 agent_email: str | None = None, clock: Callable[[], datetime] = system_clock,
                 tz: tzinfo | None = None, run_channels: bool | None = None,
                 started_at: float | None = None, via: str = "local",
                 ssh_agent: str | None = None) -> None:
        super().__init__()
        self.ssh_agent = ssh_agent  # an SSH session's agent, named by the SSH server
        self.via = via  # how this session reached the desk ("local", "ssh"): shown in :who
        self.presence: PresenceSession | None = None  # once the engine is open
        self.config = config or Config()
        self.db = db
        self.agent_email = agent_email
        self.clock = clock
        self.tz = tz
        self.run_channels = run_channels
        self.started_at = started_at if started_at is not None else time.monotonic()
        self.engine: Engine | None = None  # once open
        self.identity: Identity | None = None  # once resolved
        self.commands: list[Command] = [*COMMANDS, *admin_commands()]
        self.keymap: dict[str, str] = {}  # the config's [keymap] (binding id → keys)
        self.exit_message: str | None = None  # why the app refused to start (one line)
        self.ready_ms: float | None = None
        self._stop = asyncio.Event()
        self._engine_closed = asyncio.Event()
        self._desk_lock = asyncio.Lock()
        self.undo: tuple[CloseUndo, float] | None = None  # the last close and when it expires
        for theme in THEMES:
            self.register_theme(theme)
        self.theme = self.config.ui.theme if self.config.ui.theme in self.available_themes \
            else DEFAULT_THEME
        if self.config.keymap:
            self.keymap = keymap.upgrade(self.config.keymap)
            self.set_keymap(self.keymap)

    # ---------------------------------------------------------------- lifecycle
    @property
    def engine_open(self) -> bool:
        return self.engine is not None

    def _engine(self) -> Engine:
        if self.engine is None:
            raise StoreError("the engine is not running")
        return self.engine

    @property
    def store(self) -> Store:
        """The store for screens; while an admin works on behalf of another agent, every
        write through it records the admin as ``actor`` (engine.identity.ActingStore)."""
        store = self._engine().store
        who = self.identity.acting() if self.identity is not None else None
        if who:
            from engine.identity import ActingStore

            return cast(Store, ActingStore(store, who))  # forwards every Store method
        return store

    @property
    def desk(self) -> Desk:
        acting = self.identity.acting() if self.identity is not None else None
        return Desk(self._engine().store, self.agent, acting)

    def on_mount(self) -> None:
        from tui.screens.queue import QueueScreen

        if self.via == "ssh":  # the client hung up (engine/ssh/session.py): leave cleanly
            import signal

            asyncio.get_running_loop().add_signal_handler(
                signal.SIGHUP, lambda: self.call_later(self.action_quit))

        self.push_screen(QueueScreen())
        self.run_worker(self._run_engine(), name="engine", group="engine", exit_on_error=False)
        self.set_timer(10, gc.enable)  # in case no rows are ever painted (a start-up error)
        self.theme_changed_signal.subscribe(self, self._remember_theme)

    async def _run_engine(self) -> None:
        from engine.engine import Engine
        from engine.identity import resolve

        try:
            async with Engine(self.config, self.db, run_channels=self.run_channels) as engine:
                requested, requested_by = self.agent_email, "--as"
                if not requested and self.config.agent.email:
                    requested = self.config.agent.email
                    requested_by = f"[agent] email in {self.config.path}"
                self.identity = await resolve(engine.store, requested, requested_by=requested_by,
                                              ssh_agent=self.ssh_agent)
                self.engine = engine
                self.agent = self.identity.actor
                stored = await engine.store.get_setting("ui.theme")
                if stored in self.available_themes and stored != self.theme:
                    self._applying_stored_theme = True
                    self.theme = stored
                queue = engine.store.subscribe()
                self.run_worker(self._pump(queue), name="events", group="events",
                                exit_on_error=False)
                await self._start_presence(engine.store)
                try:
                    for screen in self.screen_stack:
                        screen.post_message(EngineReady())
                    await self._stop.wait()
                finally:  # also when cancelled: the presence task must end before the store
                    if self.presence is not None:
                        await self.presence.stop()
        except StoreError as exc:  # no identity, or a database it cannot open: one line, exit 1
            self.exit_message = f"ticketty: error: {exc}"  # tui.run prints it, unwrapped
            self.exit(return_code=1)
        finally:
            self._engine_closed.set()

    async def _pump(self, queue: asyncio.Queue[Event]) -> None:
        """Forward store events to every screen (the current one and those under it)."""
        while True:
            event = await queue.get()
            if event.kind == "presence.changed":
                if self.presence is not None:
                    self.presence.poke()
                continue
            if event.kind == "agent.updated" and self.agent and event.data.get("agent_id") == self.agent.id:
                self.run_worker(self._refresh_agent(), group="agent", exclusive=True,
                                exit_on_error=False)
            for screen in self.screen_stack:
                screen.post_message(EngineEvent(event))

    async def _refresh_agent(self) -> None:
        if self.agent is not None:
            fresh = await self.store.agent(self.agent.email)
            if fresh is not None:
                self.agent = fresh
                self.post_message(AgentChanged())

    async def shutdown_engine(self) -> None:
        self._stop.set()
        if self.engine is not None or not self._engine_closed.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._engine_closed.wait(), 10)

    async def action_quit(self) -> None:
        await self.shutdown_engine()
        self.exit(0)

    async def on_unmount(self) -> None:
        await self.shutdown_engine()

    def rows_painted(self) -> None:
        """The queue painted its first real rows: log start-up time once."""
        if self.ready_ms is None:
            # everything built so far (modules, CSS, widgets, themes) lives as long as the app:
            # keep it out of the cyclic collector so gen-2 passes don't stall a keypress
            gc.freeze()
            gc.enable()  # ticketty's CLI disables it for the start-up
            self.ready_ms = (time.monotonic() - self.started_at) * 1000
            log.info("ready in %d ms", self.ready_ms)
            self.log.info(f"ready in {self.ready_ms:.0f} ms")

    def _remember_theme(self, theme: Any) -> None:
        if getattr(self, "_applying_stored_theme", False):
            self._applying_stored_theme = False
            return
        if self.engine is not None:
            self.run_worker(self.engine.store.set_setting("ui.theme", theme.name),
                            group="settings", exit_on_error=False)

    def notify(self, message: str, *, title: str = "", severity: Any = "information",
               timeout: float | None = None, markup: bool = True) -> None:
        """A toast, worded like every other (see :func:`toast_text`)."""
        super().notify(toast_text(str(message)), title=title, severity=severity,
                       timeout=timeout, markup=markup)

    # ------------------------------------------------------------ worker errors
    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """Every worker error reaches the agent as a notification, never a crash."""
        if event.state == WorkerState.ERROR and event.worker.error is not None:
            error = event.worker.error
            text = str(error) if isinstance(error, USER_ERRORS) else f"{type(error).__name__}: {error}"
            log.warning("worker %s failed: %s", event.worker.name, text)
            self.notify(text, severity="error", markup=False)

    def busy(self) -> bool:
        """Whether any foreground worker is still running (tests wait on this)."""
        return any(w.group not in BACKGROUND_GROUPS and w.state in (WorkerState.PENDING,
                   WorkerState.RUNNING) for w in self.workers)

    async def settle(self) -> None:
        """Wait until foreground workers finished and their messages were handled."""
        for _ in range(200):
            await asyncio.sleep(0)
            pending = [w for w in self.workers if w.group not in BACKGROUND_GROUPS
                       and w.state in (WorkerState.PENDING, WorkerState.RUNNING)]
            if pending:
                await self.workers.wait_for_complete(pending)
                continue
            await asyncio.sleep(0.01)
            if not self.busy() and not any(getattr(s, "dirty", False) for s in self.screen_stack):
                return

    # -------------------------------------------------------------- app actions
    def action_help(self) -> None:
        from tui.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.screen))

    def action_command_line(self) -> None:
        self.action_command_line_with("")

    def action_command_line_with(self, prefill: str) -> None:
        from tui.screens.command_line import CommandLineScreen

        def done(text: str | None) -> None:
            if text:
                self.execute(text)

        self.push_screen(CommandLineScreen(prefill), done)

    def execute(self, text: str) -> None:
        """Run a ``:`` command (also used by the palette)."""
        self.run_worker(self._execute(text), group="command", exit_on_error=False)

    async def _execute(self, text: str) -> None:
        try:
            await run_command(self, text)
        except USER_ERRORS as exc:
            self.notify(str(exc), severity="error", markup=False)

    def base_screen(self) -> Screen[Any]:
        """The top ticketty screen (under any modal, picker or palette)."""
        from tui.screens.base import TickettyScreen

        for screen in reversed(self.screen_stack):
            if isinstance(screen, TickettyScreen):
                return screen
        return self.screen

    def current_ticket_id(self) -> int | None:
        """The ticket ``:`` commands act on: the open one, or the one under the cursor."""
        current = getattr(self.base_screen(), "current_ticket_id", None)
        return current() if current is not None else None

    def key_for(self, binding_id: str, default: str) -> str:
        """How the key bound to ``binding_id`` reads now (the config's keymap, else
        ``default``): its first key, as Textual displays it ("" when there is none)."""
        keys = self.keymap.get(binding_id) or default
        first = keys.split(",")[0].strip()
        return self.get_key_display(Binding(first, "")) if first else ""

    def action_toggle_availability(self) -> None:
        if self.agent is not None:
            self.op_availability("away" if self.agent.availability == "available" else "available")

    def action_channels(self) -> None:
        """``:channels``: the channels screen."""
        from tui.screens.channels import ChannelsScreen

        self.push_screen(ChannelsScreen())

    def open_ticket(self, ticket_id: int) -> None:
        from tui.screens.ticket import TicketScreen

        self.place(ticket_id, "viewing")  # at once: the others see it while the screen builds
        self.push_screen(TicketScreen(ticket_id))

    # ----------------------------------------------------------------- desk ops
    def desk_call(self, call: Callable[[Desk], Awaitable[Any]], done: str | None = None) -> Worker[Any]:
        """Run one Desk call in a worker, after the calls started before it; errors become
        notifications."""

        async def run() -> Any:
            async with self._desk_lock:
                try:
                    result = await call(self.desk)
                except USER_ERRORS as exc:
                    self.notify(str(exc), severity="error", markup=False)
                    return None
            if done:
                self.notify(done, markup=False, timeout=2)
            return result

        return self.run_worker(run(), group="desk", exit_on_error=False)

    def op_assign(self, ticket_id: int, email: str | None, team: str | None = None, *,
                  expected: int | None = UNSEEN) -> Worker[Any]:
        """Assign; with ``expected`` (the assignee id the agent saw, None: nobody) only while
        that is still so — else the agent is told who has it (engine.store.collision)."""
        who = email or (f"team {team}" if team else None)
        if expected != UNSEEN and team is None:
            return self.desk_call(lambda d: d.assign_if(ticket_id, email, expected),
                                  f"Assigned #{ticket_id} to {who}" if who
                                  else f"Unassigned #{ticket_id}")
        return self.desk_call(lambda d: d.assign(ticket_id, email, team),
                              f"Assigned #{ticket_id} to {who}" if who else f"Unassigned #{ticket_id}")

    def op_status(self, ticket_id: int, status: str) -> Worker[Any]:
        return self.desk_call(lambda d: d.set_status(ticket_id, status),
                              f"Set #{ticket_id} to {status}")

    def op_priority(self, ticket_id: int, priority: str) -> Worker[Any]:
        return self.desk_call(lambda d: d.set_priority(ticket_id, priority),
                              f"Set #{ticket_id} to {priority} priority")

    def op_pipeline(self, ticket_id: int, pipeline: str) -> Worker[Any]:
        return self.desk_call(lambda d: d.set_pipeline(ticket_id, pipeline),
                              f"Moved #{ticket_id} to pipeline {pipeline}")

    def op_close(self, ticket_id: int) -> Worker[Any]:
        """Close at once; ``u`` takes it back for :data:`UNDO_SECONDS`."""

        async def call(desk: Desk) -> Any:
            undo = await desk.close_with_undo(ticket_id)
            if undo is None:
                self.notify(f"#{ticket_id} is already closed", markup=False, timeout=2)
                return None
            self.undo = (undo, time.monotonic() + UNDO_SECONDS)
            key = self.key_for("app.undo", "u")
            self.notify(f"Closed #{ticket_id} — {key} to undo", markup=False,
                        timeout=UNDO_SECONDS)
            return undo

        return self.desk_call(call)

    def action_undo(self) -> None:
        undo, self.undo = self.undo, None
        if undo is None or time.monotonic() > undo[1]:
            self.notify("Nothing to undo", markup=False, timeout=2)
            return
        closed = undo[0]

        async def call(desk: Desk) -> None:
            await desk.undo_close(closed)
            self.notify(f"Reopened #{closed.ticket_id} as {closed.previous}", markup=False,
                        timeout=2)
            restored = getattr(self.base_screen(), "ticket_restored", None)
            if restored is not None:
                restored(closed.ticket_id)

        self.desk_call(call)

    def op_reopen(self, ticket_id: int) -> Worker[Any]:
        return self.desk_call(lambda d: d.reopen(ticket_id), f"Reopened #{ticket_id}")

    def op_note(self, ticket_id: int, body: str) -> Worker[Any]:
        return self.desk_call(lambda d: d.note(ticket_id, body), f"Note added to #{ticket_id}")

    def op_reply(self, ticket_id: int, body: str, status: str | None = None,
                 attachments: Sequence[Path] = ()) -> Worker[Any]:
        """Queue a reply sent as ``status`` (None: the pipeline's status after a reply), with
        ``attachments`` (files)."""

        async def call(desk: Desk) -> Any:
            message_id, outbox_id = await desk.reply(ticket_id, body, status=status,
                                                     attachments=attachments)
            ticket = await desk.store.ticket(ticket_id)
            now = f" as {ticket.status}" if ticket else ""
            if outbox_id is None:
                self.notify(f"Reply saved on #{ticket_id}{now} but it cannot be sent:"
                            " no email channel", severity="warning", markup=False)
            else:
                self.notify(f"Reply queued on #{ticket_id}{now}", markup=False, timeout=2)
                if self.engine is not None and self.engine.is_leader:
                    self.engine.outbox.wake()
            return message_id, outbox_id

        return self.desk_call(call)

    def op_retry(self, message_id: int) -> Worker[Any]:
        engine = self._engine()  # raises "the engine is not running" before any worker starts

        async def call(desk: Desk) -> Any:
            return await engine.outbox.retry(message_id=message_id)

        return self.desk_call(call, "Sending the failed reply again")

    def op_contact_owner(self, contact_id: int, email: str | None) -> Worker[Any]:
        return self.desk_call(lambda d: d.store.set_contact_owner(contact_id, email),
                              f"Contact owner set to {email or 'nobody'}")

    def op_availability(self, availability: str) -> Worker[Any]:
        async def call(desk: Desk) -> Any:
            self.agent = await desk.set_availability(availability)
            self.post_message(AgentChanged())

        return self.desk_call(call, f"You are {availability}")


if TYPE_CHECKING:

    def _as_desk_app(app: TickettyApp) -> DeskApp:
        return app  # mypy checks here that the app is what the screens expect
