"""A session's presence, kept alive and watched: :class:`PresenceSession`.

One per TUI (local or over SSH). It publishes where the agent is (``place(ticket, state)``),
sends a heartbeat every :data:`~engine.store.presence.HEARTBEAT` seconds, and keeps
``others``: every *other* live session, re-read when a ``presence.changed`` event arrives
(:meth:`PresenceSession.poke`, from any process through the change feed) and on every
heartbeat (so a crashed session, which writes no event, drops out once its heartbeat is
older than the TTL). ``on_change`` is called with the new list whenever who is where
differs — a heartbeat alone (a newer ``seen_at``) is not a change, so 30 sessions do not make
every screen repaint every second.

No UI here: the TUI renders ``others`` (engine never imports textual).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Callable

from engine.store import Store
from engine.store.presence import HEARTBEAT, Presence

log = logging.getLogger(__name__)


class PresenceSession:
    """Publish this session's place and follow everyone else's (see the module docstring)."""

    def __init__(self, store: Store, agent_id: int, *, via: str = "local",
                 on_change: Callable[[list[Presence]], None] | None = None,
                 heartbeat: float = HEARTBEAT, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.agent_id = agent_id
        self.via = via
        self.session = uuid.uuid4().hex
        self.on_change = on_change
        self.heartbeat = heartbeat
        self.clock = clock
        self.ticket_id: int | None = None
        self.state = "online"
        self.others: list[Presence] = []
        self._wake = asyncio.Event()
        self._publish = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.store.publish_presence(self.session, self.agent_id, None, "online", self.via)
        await self.refresh()
        self._task = asyncio.create_task(self._run(), name="presence")

    async def stop(self) -> None:
        """Leave at once (a clean quit); a crash leaves the row to expire instead."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        with contextlib.suppress(Exception):
            await self.store.leave_presence(self.session)

    def place(self, ticket_id: int | None, state: str = "viewing") -> None:
        """Where this session is now (``ticket_id`` None: the queue); published at once."""
        state = "online" if ticket_id is None else state
        if (ticket_id, state) != (self.ticket_id, self.state):
            self.ticket_id, self.state = ticket_id, state
            self._publish.set()
            self._wake.set()

    def poke(self) -> None:
        """Someone's presence changed (an event): read the list again now."""
        self._wake.set()

    async def refresh(self) -> None:
        everyone = await self.store.presence(self.clock())
        others = [p for p in everyone if p.session != self.session]
        if [p.place() for p in others] != [p.place() for p in self.others]:
            self.others = others
            if self.on_change is not None:
                self.on_change(others)

    async def _run(self) -> None:
        next_beat = time.monotonic() + self.heartbeat
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(),
                                       max(0.0, next_beat - time.monotonic()))
            self._wake.clear()
            try:
                beat = time.monotonic() >= next_beat
                if beat or self._publish.is_set():
                    self._publish.clear()
                    await self.store.publish_presence(self.session, self.agent_id,
                                                      self.ticket_id, self.state, self.via)
                if beat:
                    next_beat = time.monotonic() + self.heartbeat
                await self.refresh()
            except Exception as exc:  # a busy or closing database: try again next beat
                log.warning("presence: %s", exc)
                await asyncio.sleep(self.heartbeat)


def on_ticket(others: list[Presence], ticket_id: int) -> list[Presence]:
    """The sessions on ``ticket_id``, replying first."""
    here = [p for p in others if p.ticket_id == ticket_id]
    return sorted(here, key=lambda p: (p.state != "replying", p.agent_name))


def open_tickets(others: list[Presence]) -> dict[int, str]:
    """Ticket id → the name of the (first) other agent who has it open."""
    out: dict[int, str] = {}
    for p in others:
        if p.ticket_id is not None:
            out.setdefault(p.ticket_id, p.agent_name)
    return out


def online_names(others: list[Presence]) -> list[str]:
    """The other agents online, once each."""
    return list(dict.fromkeys(p.agent_name for p in others))
