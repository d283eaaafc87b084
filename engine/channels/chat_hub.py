"""The open widgets of one chat channel: which socket is whose, and what each has seen.

Every socket remembers the id of the last line it was sent (``last``); pushing means "send
this socket every line of its ticket after ``last``" under the socket's own lock. So a line
reaches each socket once, whether the push was started by an event (an agent's reply sent by
any process), by the visitor's own message or by a reconnect asking to resume — nothing is
lost and nothing arrives twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger("engine.channels.chat")

Lines = Callable[[int, int], Awaitable[list[Any]]]  # (ticket, after) → ThreadLine list


@dataclass(eq=False)
class Widget:
    """One open widget (one WebSocket)."""

    visitor: str
    send_text: Callable[[str], Awaitable[None]]
    ticket: int | None = None
    last: int = 0
    name: str = ""
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    closed: bool = False

    async def send(self, frame: dict[str, Any]) -> bool:
        """Send one JSON frame; False when the socket is gone."""
        if self.closed:
            return False
        try:
            await self.send_text(json.dumps(frame, ensure_ascii=False))
            return True
        except Exception:  # a socket that broke is simply gone
            self.closed = True
            return False


class Hub:
    """The widgets of one channel, by visitor and by ticket."""

    def __init__(self, lines: Lines) -> None:
        self._lines = lines
        self.by_visitor: dict[str, set[Widget]] = {}
        self.by_ticket: dict[int, set[Widget]] = {}
        #: visitor → when their last widget closed (epoch seconds), for idle chats
        self.gone_at: dict[str, float] = {}

    def add(self, widget: Widget) -> bool:
        """Register ``widget``; True when it is the visitor's first open one (now online)."""
        mine = self.by_visitor.setdefault(widget.visitor, set())
        first = not mine
        mine.add(widget)
        self.gone_at.pop(widget.visitor, None)
        if widget.ticket is not None:
            self.by_ticket.setdefault(widget.ticket, set()).add(widget)
        return first

    def remove(self, widget: Widget, now: float) -> bool:
        """Forget ``widget``; True when it was the visitor's last one (now offline)."""
        widget.closed = True
        mine = self.by_visitor.get(widget.visitor, set())
        mine.discard(widget)
        if widget.ticket is not None:
            peers = self.by_ticket.get(widget.ticket, set())
            peers.discard(widget)
            if not peers:
                self.by_ticket.pop(widget.ticket, None)
        if not mine:
            self.by_visitor.pop(widget.visitor, None)
            self.gone_at[widget.visitor] = now
            return True
        return False

    def join(self, visitor: str, ticket: int) -> None:
        """The visitor's conversation is ``ticket`` now (their first message opened it)."""
        for widget in self.by_visitor.get(visitor, set()):
            if widget.ticket != ticket:
                if widget.ticket is not None:
                    self.by_ticket.get(widget.ticket, set()).discard(widget)
                widget.ticket = ticket  # ids only grow: ``last`` stays right
            self.by_ticket.setdefault(ticket, set()).add(widget)

    def online(self, visitor: str) -> bool:
        return bool(self.by_visitor.get(visitor))

    def count(self) -> int:
        return sum(len(ws) for ws in self.by_visitor.values())

    async def catch_up(self, widget: Widget) -> None:
        """Send ``widget`` every line of its ticket it has not seen, in order, once."""
        if widget.ticket is None:
            return
        async with widget.lock:
            lines = await self._lines(widget.ticket, widget.last)
            for line in lines:
                if not await widget.send({"type": "message", **line.as_dict()}):
                    return
                widget.last = line.id

    async def push_ticket(self, ticket: int) -> None:
        """Bring every widget of ``ticket`` up to date."""
        widgets = list(self.by_ticket.get(ticket, ()))
        if widgets:
            await asyncio.gather(*(self.catch_up(w) for w in widgets))

    async def tell_ticket(self, ticket: int, frame: dict[str, Any]) -> None:
        """Send ``frame`` (typing, closed) to every widget of ``ticket``."""
        for widget in list(self.by_ticket.get(ticket, ())):
            await widget.send(frame)

    async def tell_visitor(self, visitor: str, frame: dict[str, Any]) -> None:
        for widget in list(self.by_visitor.get(visitor, ())):
            await widget.send(frame)

    async def close_all(self) -> None:
        for widgets in list(self.by_visitor.values()):
            for widget in list(widgets):
                widget.closed = True
        with contextlib.suppress(Exception):
            self.by_visitor.clear()
            self.by_ticket.clear()
