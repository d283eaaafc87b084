"""An in-memory channel host for unit tests of adapters (like httpx's ``MockTransport``).

:class:`MemoryChannelHost` implements :class:`~engine.channels.host.ChannelHost` with lists
and dicts: what the adapter ingested, quarantined, queued and reported is there to assert on,
and the clock stands still until a test moves it. Ingest keeps the one promise adapters rely
on — the same key twice is a duplicate — and threads a message onto the ticket of a key it
refers to (In-Reply-To/References), so conversations look like conversations. Everything
else about tickets (routing, contacts, pipelines) is the store's and is not modelled here.

    host = MemoryChannelHost(agents={"ada@acme.test"})
    adapter = EmailAdapter(channel, host)
    await adapter.ingest_raw(raw, "test")
    assert host.messages[0].sender == "ana@customer.test"
"""

from __future__ import annotations

import copy
import logging
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.channels.host import SendLimit, WorkBudget, WorkerPool
from engine.channels.live_memory import MemoryLiveMixin
from engine.channels.messaging_impl import MemoryMessaging
from engine.form_defs import FormDef
from engine.models import InboundMessage, IngestResult


@dataclass(frozen=True)
class Queued:
    """One outbound item the adapter queued through the host."""

    kind: str
    ticket_id: int | None
    payload: dict[str, Any]
    key: str


@dataclass(frozen=True)
class Quarantined:
    """Raw input the adapter could not turn into a message, as it handed it over."""

    id: int
    source: str
    reason: str
    raw: bytes


class MemoryChannelHost(MemoryLiveMixin, MemoryMessaging):
    """A :class:`~engine.channels.host.ChannelHost` that keeps everything in memory (and the
    live and messaging channels' members)."""

    def __init__(self, channel_id: int | None = 1, *, agents: Iterable[str] = (),
                 now: float = 1_767_225_600.0, spool_dir: Path | None = None,
                 workers: WorkerPool | None = None, budget: WorkBudget | None = None,
                 tickets: int = 0, forms: Iterable[FormDef] = ()) -> None:
        self.channel_id = channel_id
        self.log = logging.getLogger("engine.channels.memory")
        self.spool_dir = spool_dir or Path(tempfile.gettempdir()) / "ticketty-memory-spool"
        self.workers = workers
        self.budget = budget or WorkBudget()
        self.agents = set(agents)
        self.secrets: dict[str, str] = {}  # secrets the adapter saved (save_secret)
        self.now = now
        #: every message ingested for the first time, in order
        self.messages: list[InboundMessage] = []
        #: every ingest result handed back, duplicates included
        self.results: list[IngestResult] = []
        self.quarantined: list[Quarantined] = []
        self.queued: list[Queued] = []
        #: the merged health, and each call's fields in order
        self.health_now: dict[str, Any] = {}
        self.health_calls: list[dict[str, Any]] = []
        self.saved_state: dict[str, Any] = {}
        self.public_url: str | None = None
        #: the calling channel's calls, in memory (tests may replace it)
        self.calls: Any = None
        self._seen: dict[str, IngestResult] = {}
        self._sends: dict[str, list[float]] = {}
        self._tickets = tickets
        #: form definitions by slug (the forms channel reads them)
        self.forms: dict[str, FormDef] = {f.slug: f for f in forms}

    # ----------------------------------------------------------------- the host
    async def ingest(self, msg: InboundMessage) -> IngestResult:
        if msg.key in self._seen:
            first = self._seen[msg.key]
            result = IngestResult(ticket_id=first.ticket_id, message_id=first.message_id,
                                  duplicate=True)
        else:
            refs = [r for r in (msg.in_reply_to, *msg.references) if r]
            earlier = next((self._seen[r] for r in refs if r in self._seen), None)
            created = earlier is None
            if created:
                self._tickets += 1
            ticket_id = self._tickets if earlier is None else earlier.ticket_id
            result = IngestResult(ticket_id=ticket_id, message_id=len(self.messages) + 1,
                                  created_ticket=created)
            self._seen[msg.key] = result
            self.messages.append(msg)
        self.results.append(result)
        return result

    async def ingest_many(self, msgs: Sequence[InboundMessage]) -> list[IngestResult]:
        return [await self.ingest(m) for m in msgs]

    async def quarantine(self, source: str, reason: str, raw: bytes) -> int:
        item = Quarantined(len(self.quarantined) + 1, source, reason, bytes(raw))
        self.quarantined.append(item)
        return item.id

    async def health(self, **fields: Any) -> None:
        self.health_calls.append(dict(fields))
        self.health_now.update(fields)

    async def state(self) -> dict[str, Any]:
        return copy.deepcopy(self.saved_state)  # like the store: a fresh copy each read

    async def set_state(self, state: dict[str, Any]) -> None:
        self.saved_state = copy.deepcopy(state)

    async def enqueue(self, kind: str, *, ticket_id: int | None, payload: dict[str, Any],
                      key: str, limit: SendLimit | None = None) -> int | None:
        for i, item in enumerate(self.queued, 1):
            if item.key == key:
                return i
        if limit is not None:
            recent = [t for t in self._sends.get(limit.per, []) if t > self.now - limit.window]
            if len(recent) >= limit.most:
                return None
            self._sends[limit.per] = [*recent, self.now]
        self.queued.append(Queued(kind, ticket_id, copy.deepcopy(payload), key))
        return len(self.queued)

    def clock(self) -> float:
        return self.now

    async def agent_addresses(self) -> set[str]:
        return set(self.agents)

    async def ticket_count(self) -> int:
        return self._tickets

    async def save_secret(self, key: str, value: str) -> None:
        self.secrets[key] = value

    async def form(self, slug: str) -> FormDef | None:
        return self.forms.get(slug)

    def call_book(self) -> Any:
        if self.calls is None:
            from engine.channels.calls_book import MemoryCallBook

            self.calls = MemoryCallBook(self)
        return self.calls

    # ------------------------------------------------------------ for the tests
    def advance(self, seconds: float) -> None:
        """Move the clock on."""
        self.now += seconds
