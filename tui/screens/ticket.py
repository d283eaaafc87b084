"""The ticket screen: the thread, the properties panel and the composer.

| key | action (binding id) |
|---|---|
| ``r`` | reply to the customer (``ticket.reply``) |
| ``n`` | internal note (``ticket.note``) |
| ``ctrl+s`` | send the reply / note (``composer.send``) |
| ``ctrl+r`` | insert a canned reply at the cursor (``composer.canned``) |
| ``ctrl+o`` | the status the reply sends the ticket to: next one (``composer.send_as``) |
| ``i`` | show / hide the details panel (``ticket.details``; folded below 100 columns) |
| ``a`` / ``A`` | assign (picker, with availability) / take it (``ticket.assign`` /
  ``ticket.take``; shared with the queue, :mod:`tui.screens.ticket_actions`) |
| ``s`` | status (``ticket.status``) |
| ``p`` | priority (``ticket.priority``) |
| ``P`` | pipeline (``ticket.pipeline``) |
| ``T`` | team (``ticket.team``) |
| ``O`` | contact owner (``ticket.contact_owner``) |
| ``c`` / ``o`` | close at once (``u`` undoes it for 10 s) / reopen (``ticket.close`` /
  ``ticket.reopen``) |
| ``R`` | retry a failed send (``ticket.retry``) |
| ``V`` | (voice) call the customer back: your phone rings first (``ticket.call``; calls channel) |
| ``escape`` / ``q`` | back to the queue, same row (``ticket.back``) |
| ``j`` ``k`` ``g`` ``G`` ``ctrl+d`` ``ctrl+u`` | scroll the thread (``thread.*``) |

Team work: the screen publishes "viewing" (composer open: "replying") for this ticket, shows
who else is on it in its header ("Sam Lee is replying…"), and holds a reply whose ticket
changed since the composer opened (a customer's message, another agent's reply, a
reassignment or a close) until the agent has seen why: ``ctrl+s`` again sends it anyway.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Static, TextArea

from engine.channels.registry import adapter_class, entry, orphan_kinds, pick_reply_channel
from engine.models import Event, Message, Pipeline, Ticket
from tui import pickers
from tui.presence import header
from tui.screens.base import stored_id
from tui.screens.ticket_actions import ASSIGN, CLOSE, TAKE, TicketActions
from tui.screens.ticket_live import ChatLive
from tui.text import line, plural
from tui.widgets.composer import Composer
from tui.widgets.key_footer import KeyFooter
from tui.widgets.properties import PropertiesPanel, TicketContext
from tui.widgets.status_bar import StatusBar
from tui.widgets.thread import ThreadView

if TYPE_CHECKING:
    from engine.store.presence import Presence
    from tui.host import DeskApp

#: the keys the properties panel names beside each property and action
PROPERTY_KEYS = ("ticket.status", "ticket.pipeline", "ticket.priority", "ticket.assign",
                 "ticket.take", "ticket.team", "ticket.contact_owner", "ticket.close",
                 "ticket.reopen", "ticket.reply", "ticket.note")


class TicketScreen(TicketActions):
    SCREEN_KIND = "ticket"
    HELP_TITLE = "ticket"
    DEFAULT_CSS = """
    TicketScreen #ticket-title { height: 1; background: $panel; text-style: bold; padding: 0 1; }
    TicketScreen #ticket-body { height: 1fr; }
    TicketScreen.-folded PropertiesPanel { display: none; }
    """
    FOLD_BELOW = 100  # columns: a narrower screen gives the thread the whole width
    BINDINGS = [
        Binding("escape,q", "back", "Back", id="ticket.back",
                tooltip="Back to the queue (same row)"),
        Binding("r", "reply", "Reply", id="ticket.reply",
                tooltip="Reply to the customer"),
        Binding("n", "note", "Note", id="ticket.note",
                tooltip="Internal note (only agents see it)"),
        ASSIGN,
        TAKE,
        Binding("s", "status", "Status", id="ticket.status",
                tooltip="Change the status"),
        Binding("p", "priority", "Priority", id="ticket.priority",
                tooltip="Change the priority"),
        Binding("P", "pipeline", "Pipeline", show=False, id="ticket.pipeline",
                tooltip="Move to another pipeline"),
        Binding("T", "team", "Team", show=False, id="ticket.team",
                tooltip="Set the team"),
        Binding("O", "owner", "Contact owner", show=False, id="ticket.contact_owner",
                tooltip="Set the contact's owner"),
        CLOSE,
        Binding("o", "reopen", "Reopen", id="ticket.reopen",
                tooltip="Reopen the ticket"),
        Binding("R", "retry", "Retry failed send", show=False, id="ticket.retry",
                tooltip="Retry the failed send"),
        Binding("V", "call_back", "Call back", show=False, id="ticket.call",
                tooltip="Call the customer back (your phone rings first)"),
        Binding("i", "details", "Details", id="ticket.details",
                tooltip="Show or hide the details panel (status, assignee, contact …)"),
        Binding("t", "contact", "Contact", show=False, id="ticket.contact",
                tooltip="The contact's timeline: tickets, form submissions, consent"),
    ]

    def __init__(self, ticket_id: int) -> None:
        super().__init__()
        self.ticket_id = ticket_id
        self.ctx: TicketContext | None = None
        self.pipeline: Pipeline | None = None
        self.messages: list[Message] = []
        self.details: bool | None = None  # the agent's choice; None: by the screen's width
        self._loading = False
        self._dirty = False
        self._first = True
        self.live = ChatLive()  # a chat ticket's visitor: online, typing (ticket_live.py)
        self.others: list[Presence] = []
        self.loaded_event = 0  # the newest event id when the screen last read the ticket
        self.composer_since = 0  # the newest event the agent had seen when the composer opened

    def compose(self) -> ComposeResult:
        yield Static(Text(f"#{self.ticket_id}"), id="ticket-title")
        with Horizontal(id="ticket-body"):
            yield ThreadView(clock=self.tapp.clock, tz=self.tapp.tz,
                             retry_key=self._key("ticket.retry"), id="thread")
            yield PropertiesPanel({k: self._key(k) for k in PROPERTY_KEYS}, tz=self.tapp.tz,
                                  id="properties")
        composer = Composer(id="composer")
        composer.display = False
        yield composer
        yield StatusBar(id="status")
        yield KeyFooter()

    def _key(self, binding_id: str) -> str:
        """The key bound to ``binding_id`` now (after the config's keymap)."""
        default = next((b.key for b in self.BINDINGS
                        if isinstance(b, Binding) and b.id == binding_id), "")
        return self.tapp.key_for(binding_id, default)

    @property
    def dirty(self) -> bool:
        return self._loading or self._dirty

    def current_ticket_id(self) -> int | None:
        return self.ticket_id

    def acted_ticket(self) -> Ticket | None:
        return self.ctx.ticket if self.ctx is not None else None

    @property
    def thread(self) -> ThreadView:
        return self.query_one(ThreadView)

    @property
    def composer(self) -> Composer:
        return self.query_one(Composer)

    # ---------------------------------------------------------------- loading
    def engine_ready(self) -> None:
        self.thread.focus()
        self.request_load()
        self.others = self.tapp.others()
        self.tapp.place(self.ticket_id, "viewing")

    def on_screen_resume(self) -> None:
        if self.ctx is not None:
            self.tapp.place(self.ticket_id, self._doing())

    def on_unmount(self) -> None:
        self.tapp.place(None)

    def _doing(self) -> str:
        composer = self.composer
        return "replying" if composer.display and composer.kind == "reply" else "viewing"

    def presence_changed(self, others: list[Presence]) -> None:
        self.others = others
        if self.ctx is not None:  # composed and loaded (a message can come before that)
            self._show_title()

    def request_load(self) -> None:
        if self._loading:
            self._dirty = True
            return
        self._loading = True
        self.run_worker(self._load(), group="ticket-load", exit_on_error=False)

    async def _load(self) -> None:
        store = self.tapp.store
        try:
            seen = await store.last_event_id()  # read first: anything newer counts as unseen
            ticket = await store.ticket(self.ticket_id)
            if ticket is None:
                self.notify(f"ticket #{self.ticket_id} no longer exists", severity="error")
                self.dismiss()
                return
            messages = await store.messages(self.ticket_id)
            channels = await store.channels()
            agents = await store.agents()
            self.pipeline = next((p for p in await store.pipelines() if p.name == ticket.pipeline),
                                 None)
            contact = await store.contact(ticket.contact_id) if ticket.contact_id else None
            channel = next((c for c in channels if c.id == ticket.channel_id), None)
            self.ctx = TicketContext(ticket, contact, agents, channel,
                                     pick_reply_channel(channel, channels))
            self.messages = messages
            if self._first and channel is not None and entry(channel.kind).live:
                self.live.online = await store.chat_presence(self.ticket_id)
            self.loaded_event = seen
            self._show({c.id: c.name for c in channels if c.id is not None})
            if ticket.unread and self._first:
                self.tapp.desk_call(lambda d: d.mark_read(self.ticket_id))
            self._first = False
        finally:
            self._loading = False
            if self._dirty:
                self._dirty = False
                self.request_load()

    def _show(self, channel_names: dict[int, str]) -> None:
        assert self.ctx is not None
        t = self.ctx.ticket
        self._show_title()
        self.thread.set_messages(self.messages, channel_names, follow=self._first)
        self.query_one(PropertiesPanel).show(self.ctx)
        count = sum(1 for m in self.messages if m.direction.value != "system")
        self.query_one(StatusBar).info = f"#{t.id} · {plural(count, 'message')}"

    def _show_title(self) -> None:
        title = Text(f"#{self.ticket_id} ")
        if self.ctx is not None:
            t = self.ctx.ticket
            title.append(line(t.subject) or "(no subject)")
            title.append(f"  · {t.status} · {t.priority.value}", "dim")
            if self.has_class("-folded"):  # the panel is away: the essentials go up here
                title.append(f" · {line(t.assignee_name) or 'nobody'}", "dim")
                title.append(f" · {self._key('ticket.details')} details", "dim")
            if self.ctx.channel is not None and entry(self.ctx.channel.kind).live:
                title.append_text(self.live.header())
            window = self._reply_window()
            if window is not None:
                title.append(f" · {window}", "bold")
        here = header(self.others, self.ticket_id)
        if here:
            title.append("   ")
            title.append_text(here)
        self.query_one("#ticket-title", Static).update(title)

    def _reply_window(self) -> str | None:
        """The reply window in words, for kinds that have one (messaging apps): the time left,
        or that it is closed; None for kinds without one."""
        ctx = self.ctx
        if ctx is None or ctx.reply_channel is None or not ctx.ticket.is_open:
            return None
        window = adapter_class(ctx.reply_channel.kind).composer_spec(
            ctx.reply_channel, ctx.ticket).window
        if not window.open:
            return "reply window closed"
        if window.closes_at is None:
            return None
        seconds = max(0, int((window.closes_at - datetime.now(UTC)).total_seconds()))
        days, rest = divmod(seconds, 86400)
        hours, minutes = rest // 3600, rest % 3600 // 60
        span = f"{days} d {hours} h" if days else f"{hours} h {minutes} min"
        return f"{span} left to reply"

    # ---------------------------------------------------------------- layout
    def on_resize(self) -> None:
        self._fold()

    def _fold(self) -> None:
        shown = self.details if self.details is not None else self.size.width >= self.FOLD_BELOW
        if self.has_class("-folded") == shown:
            self.set_class(not shown, "-folded")
            self._show_title()

    def action_details(self) -> None:
        self.details = self.has_class("-folded")
        self._fold()

    def engine_event(self, event: Event) -> None:
        if event.ticket_id == self.ticket_id and self.live.take(event):
            self._show_title()  # presence and typing: the header only, no reload
            self.set_timer(7, self._show_title)  # a typing mark fades
            return
        if event.ticket_id == self.ticket_id or event.kind in ("agent.updated",
                                                               "contact.updated"):
            self.request_load()

    @on(TextArea.Changed, "#composer-text")
    def _agent_typing(self) -> None:
        """Writing a reply (never a note) on a chat ticket: the visitor sees "typing…"."""
        channel = self.ctx.channel if self.ctx is not None else None
        if channel is None or channel.kind != "chat" or self.composer.kind != "reply" \
                or not self.composer.text_area.text or not self.live.should_signal_typing():
            return
        agent = self.tapp.agent
        self.run_worker(self.tapp.store.signal(
            "chat.typing", self.ticket_id, who="agent", on=True,
            name=agent.name if agent else ""), group="chat-typing", exit_on_error=False)

    # ------------------------------------------------------------- navigation
    def action_back(self) -> None:
        self.dismiss()

    # --------------------------------------------------------------- composer
    def action_reply(self) -> None:
        self.command_reply("")

    def action_note(self) -> None:
        self.command_note("")

    def command_reply(self, _arg: str) -> None:
        ctx = self.ctx
        agent = self.tapp.agent
        # the reply channel's kind (without one: the kind that would answer) says how the
        # composer looks: subject, signature, whether the reply window is open
        reply = ctx.reply_channel if ctx is not None else None
        kinds = " or ".join(orphan_kinds()) or "sending"
        signature: str | None = None
        offer_templates = False
        subject, closed = "", f"No {kinds} channel: this reply cannot be sent."
        name = reply.kind if reply is not None else next(iter(orphan_kinds()), None)
        if ctx is not None and name is not None:
            kind = adapter_class(name)
            spec = kind.composer_spec(reply, ctx.ticket)
            subject = spec.subject if spec.has_subject else ""
            if reply is not None and spec.window.open:
                signature = kind.signature_preview(reply, agent.name if agent else "")
            elif reply is not None:
                closed = spec.window.reason
                offer_templates = bool(kind.reply_templates(reply, ctx.ticket))
        to = line(ctx.ticket.contact_email) if ctx else ""
        pipeline = self.pipeline
        self.composer.keys["send_as"] = self._key("composer.send_as") or "ctrl+o"
        self.composer.keys["canned"] = self._key("composer.canned") or "ctrl+r"
        self.composer.open(
            "reply", f"Reply to {to}" if to else "Reply", signature,
            self._key("composer.send") or "ctrl+s", subject=subject, closed=closed,
            statuses=[st.name for st in pipeline.statuses] if pipeline else [],
            send_as=pipeline.reply_status() if pipeline else None)
        self.composer_since = self.loaded_event
        self.tapp.place(self.ticket_id, "replying")
        if offer_templates and not self.composer.text_area.text.strip():
            self.command_template("")  # outside the window only a template goes: offer them

    def command_template(self, _arg: str) -> None:
        """``:template``: pick an approved template (WhatsApp outside its 24-hour window); its
        line, values filled in, becomes the reply's text."""
        ctx = self.ctx
        reply = ctx.reply_channel if ctx is not None else None
        offers = adapter_class(reply.kind).reply_templates(
            reply, ctx.ticket, ctx.ticket.contact_name or "") if ctx and reply else []
        if not offers:
            self.notify("No approved templates for this ticket's channel (synced with"
                        " ticketty channels sync NAME).", severity="warning", markup=False)
            return

        async def pick() -> None:
            text = await pickers.choose_template(self.tapp, offers)
            if text is not None:
                if not self.composer.display or self.composer.kind != "reply":
                    self.command_reply("")
                self.composer.text_area.text = text

        self.run_worker(pick(), group="pick", exit_on_error=False)

    def command_attach(self, arg: str) -> None:
        """``:attach FILE``: send a file with the reply being written (kinds that take them)."""
        path = Path(arg.strip()).expanduser()
        if not arg.strip():
            self.notify("Which file? :attach PATH", severity="warning")
            return
        ctx = self.ctx
        reply = ctx.reply_channel if ctx is not None else None
        if ctx is None or reply is None or not adapter_class(reply.kind).composer_spec(
                reply, ctx.ticket).attachments:
            self.notify("Files cannot be attached to replies on this ticket's channel.",
                        severity="warning")
            return
        if not path.is_file():
            self.notify(f"No file {str(path)!r}.", severity="error", markup=False)
            return
        if not self.composer.display or self.composer.kind != "reply":
            self.command_reply("")
        self.composer.attach(path)

    def command_note(self, _arg: str) -> None:
        self.composer.open("note", "Internal note", "", self._key("composer.send") or "ctrl+s")
        self.tapp.place(self.ticket_id, "viewing")

    @on(Composer.Send)
    def _send(self, message: Composer.Send) -> None:
        body = message.body
        if not body.strip() and not message.attachments:
            self.notify("Nothing to send yet.", severity="warning")
            return
        if message.kind == "reply":
            self.run_worker(self._send_reply(body, message.status, message.attachments),
                            group="send",
                            exclusive=True, exit_on_error=False)
            return
        self.tapp.op_note(self.ticket_id, body)
        self._sent()

    async def _send_reply(self, body: str, status: str | None,
                          attachments: tuple[Path, ...]) -> None:
        """Send, unless the ticket changed since the composer opened: then hold it and say
        what changed; the next send (nothing new since) goes out."""
        agent = self.tapp.agent
        changes, now = await self.tapp.store.ticket_changes_since(
            self.ticket_id, self.composer_since, agent.id if agent else None)
        self.composer_since = now
        if changes:
            self.composer.hold(changes)
            return
        self.tapp.op_reply(self.ticket_id, body, status, attachments)
        self._sent()

    def _sent(self) -> None:
        self.composer.clear()
        self.composer.display = False
        self.thread.focus()
        self.tapp.place(self.ticket_id, "viewing")

    @on(Composer.Cancelled)
    def _cancelled(self) -> None:
        self.thread.focus()
        self.tapp.place(self.ticket_id, "viewing")

    @on(Composer.CannedWanted)
    def _canned(self) -> None:
        async def pick() -> None:
            canned_id = await pickers.choose_canned(self.tapp)
            if canned_id is not None:
                self.composer.insert(await self.tapp.desk.canned_reply(self.ticket_id, canned_id))

        self.run_worker(pick(), group="pick", exit_on_error=False)

    # ------------------------------------------------------------- properties
    def _pick(self, chooser: Callable[[DeskApp, Ticket], Coroutine[Any, Any, None]]) -> None:
        if self.ctx is not None:
            self.run_worker(chooser(self.tapp, self.ctx.ticket), group="pick",
                            exit_on_error=False)

    def action_status(self) -> None:
        self._pick(pickers.choose_status)

    def action_priority(self) -> None:
        self._pick(pickers.choose_priority)

    def action_pipeline(self) -> None:
        self._pick(pickers.choose_pipeline)

    def action_team(self) -> None:
        self._pick(pickers.choose_team)

    def action_owner(self) -> None:
        self._pick(pickers.choose_owner)

    def action_contact(self) -> None:
        """The contact's timeline (tickets, form submissions with hidden fields, consent)."""
        ticket = self.ctx.ticket if self.ctx is not None else None
        if ticket is None or not ticket.contact_email:
            self.notify("This ticket's contact has no email address.", timeout=2)
            return
        from tui.screens.contact import ContactScreen

        self.app.push_screen(ContactScreen(ticket.contact_email))

    def action_reopen(self) -> None:
        self.tapp.op_reopen(self.ticket_id)

    def action_retry(self) -> None:
        failed = [m for m in self.messages
                  if m.direction.value == "outbound" and m.delivery_state.value == "failed"]
        if not failed:
            self.notify("No failed sends on this ticket.", timeout=2)
            return
        self.tapp.op_retry(stored_id(failed[-1].id))  # refuses when the engine is not running


    def action_call_back(self) -> None:
        self.tapp.desk_call(lambda d: d.call_back(self.ticket_id),
                            f"Call-back on #{self.ticket_id} queued: your phone rings first")
