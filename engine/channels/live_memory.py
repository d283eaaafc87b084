"""The live members (:class:`engine.channels.live.LiveHost`) of the in-memory test host:
lists to assert on, events published by the test (:meth:`MemoryLiveMixin.publish`)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from engine.store.chat import ThreadLine

if TYPE_CHECKING:
    from engine.models import Event, InboundMessage, IngestResult


class MemoryLiveMixin:
    """Live members kept in memory. ``messages``/``results`` come from the host itself."""

    messages: list[InboundMessage]
    results: list[IngestResult]
    now: float

    def _live(self) -> dict[str, Any]:
        live: dict[str, Any] | None = getattr(self, "_live_state", None)
        if live is None:
            live = self._live_state = {"posted": [], "signals": [], "links": [], "via": [],
                                       "subscribers": [], "closed": set(), "available": True}
        return live

    # --------------------------------------------------------------- for tests
    @property
    def posted(self) -> list[tuple[int, str, str, str]]:
        """Automatic lines: ``(ticket_id, text, author_name, key)``."""
        return self._live()["posted"]

    @property
    def signals(self) -> list[tuple[str, int | None, dict[str, Any]]]:
        return self._live()["signals"]

    @property
    def links(self) -> list[tuple[str, str, str, str, str]]:
        return self._live()["links"]

    @property
    def queued_via(self) -> list[tuple[str, str, int | None, dict[str, Any], str]]:
        return self._live()["via"]

    def publish(self, event: Event) -> None:
        """Hand ``event`` to every :meth:`events` subscriber (as the store would)."""
        for queue in self._live()["subscribers"]:
            queue.put_nowait(event)

    def close_ticket(self, ticket_id: int) -> None:
        self._live()["closed"].add(ticket_id)

    def set_agents_available(self, value: bool) -> None:
        self._live()["available"] = value

    # ------------------------------------------------------------------ members
    async def thread(self, ticket_id: int, after: int = 0) -> list[ThreadLine]:
        lines = [ThreadLine(r.message_id or 0, "visitor", m.sender_name, m.text,
                            m.received_at.timestamp())
                 for m, r in zip(self.messages, [x for x in self.results if not x.duplicate],
                                 strict=False) if r.ticket_id == ticket_id]
        lines += [ThreadLine(10_000 + i, "bot", name, text, self.now)
                  for i, (tid, text, name, _) in enumerate(self.posted) if tid == ticket_id]
        return sorted((x for x in lines if x.id > after), key=lambda x: x.id)

    async def conversation_ticket(self, key: str) -> int | None:
        found = [r.ticket_id for m, r in zip(self.messages, [x for x in self.results
                                                           if not x.duplicate], strict=False)
                 if m.conversation_key == key]
        return found[-1] if found else None

    async def ticket_open(self, ticket_id: int) -> bool:
        return ticket_id not in self._live()["closed"]

    async def link_identity(self, kind: str, value: str, new_kind: str, new_value: str,
                            name: str = "") -> int | None:
        self.links.append((kind, value, new_kind, new_value, name))
        return 1

    async def post(self, ticket_id: int, text: str, author_name: str, key: str) -> int:
        for i, (tid, _, _, k) in enumerate(self.posted):
            if tid == ticket_id and k == key:
                return 10_000 + i
        self.posted.append((ticket_id, text, author_name, key))
        return 10_000 + len(self.posted) - 1

    async def signal(self, kind: str, ticket_id: int | None, **data: Any) -> None:
        self.signals.append((kind, ticket_id, data))

    @contextlib.asynccontextmanager
    async def events(self) -> AsyncIterator[asyncio.Queue[Event]]:
        queue: asyncio.Queue[Event] = asyncio.Queue()
        self._live()["subscribers"].append(queue)
        try:
            yield queue
        finally:
            self._live()["subscribers"].remove(queue)

    async def customer_email(self, ticket_id: int) -> str | None:
        for kind, _value, new_kind, new_value, _ in reversed(self.links):
            if new_kind == "email" and kind == "visitor":
                return new_value
        return None

    async def enqueue_via(self, channel_name: str, kind: str, *, ticket_id: int | None,
                          payload: dict[str, Any], key: str) -> int | None:
        if any(k == key for *_, k in self.queued_via):
            return None
        self.queued_via.append((channel_name, kind, ticket_id, dict(payload), key))
        return len(self.queued_via)

    async def route(self, ticket_id: int) -> int | None:
        self.signals.append(("routed", ticket_id, {}))
        return None

    async def routed_agents_available(self) -> bool:
        return bool(self._live()["available"])


def event(kind: str, ticket_id: int | None = None, **data: Any) -> Event:
    """An event as the store would deliver it (for tests publishing to the memory host)."""
    from engine.models import Event

    return Event(id=0, at=datetime.now(UTC), kind=kind, ticket_id=ticket_id, data=data)
