"""The channel host: all a channel adapter may use of the engine.

:class:`ChannelHost` is the contract (a Protocol); :class:`StoreChannelHost` is the one
implementation the engine, the CLI and the wizards use — built by
:func:`engine.channels.build_adapter` — and :class:`engine.channels.testing.MemoryChannelHost`
the in-memory one for unit tests (like httpx's mock transport). An adapter never sees the
``Engine`` or the ``Store``: what a kind needs from them is a typed member here, so a new kind
shows by its host calls what it depends on.
"""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from engine.channels.live_store import StoreLiveMixin
from engine.channels.messaging_impl import StoreMessaging
from engine.models import InboundMessage, IngestResult

if TYPE_CHECKING:
    from engine.channels.calls_book import CallBook
    from engine.form_defs import FormDef
    from engine.store import Store
    from engine.workers import WorkerProcess


class WorkerPool(Protocol):
    """The engine's shared worker processes by name (:meth:`engine.engine.Engine.worker`)."""

    def __call__(self, name: str, *, preload: tuple[str, ...] = (),
                 recycle_mb: int | None = None) -> WorkerProcess: ...


@dataclass(frozen=True)
class WorkBudget:
    """What one piece of heavy work (parsing a mail) may take in a worker process
    (``[engine] parse_timeout`` and ``parse_memory_mb``)."""

    timeout: float = 60.0
    memory_mb: int = 256


@dataclass(frozen=True)
class HostServices:
    """What a running engine lends its channels: its worker processes and their budget.
    Without an engine (the CLI, a wizard) an adapter starts and stops its own workers."""

    workers: WorkerPool | None = None
    budget: WorkBudget = field(default_factory=WorkBudget)
    #: the engine's public base URL (``[engine] public_url`` or where it listens): webhook
    #: URLs and their signatures are built from it
    public_url: str | None = None


@dataclass(frozen=True)
class SendLimit:
    """At most ``most`` automatic sends on behalf of one ``per`` (a sender's address) within
    ``window`` seconds."""

    per: str
    most: int
    window: float = 86400.0


@runtime_checkable
class ChannelHost(Protocol):
    """What a channel adapter may use of the engine, for its own channel only."""

    channel_id: int | None
    log: logging.Logger
    #: where inbound bytes wait while they arrive and are parsed (next to the database)
    spool_dir: Path
    #: the engine's shared worker processes (None: the adapter starts its own)
    workers: WorkerPool | None
    budget: WorkBudget
    #: the engine's public base URL, no trailing slash (None: not known here)
    public_url: str | None

    async def ingest(self, msg: InboundMessage) -> IngestResult:
        """Run one message through the ingest pipeline (idempotent by its key)."""
        ...

    async def ingest_many(self, msgs: Sequence[InboundMessage]) -> list[IngestResult]:
        """Ingest a batch in one transaction (history imports)."""
        ...

    async def quarantine(self, source: str, reason: str, raw: bytes) -> int:
        """Keep raw input that cannot become a message, with the reason; returns its id."""
        ...

    async def health(self, **fields: Any) -> None:
        """Merge ``fields`` (connected, listening, last_error, last_sync_at …) into the
        channel's health, which every process shows."""
        ...

    async def state(self) -> dict[str, Any]:
        """The channel's own bookkeeping (e.g. IMAP UIDVALIDITY and last UID)."""
        ...

    async def set_state(self, state: dict[str, Any]) -> None:
        ...

    async def enqueue(self, kind: str, *, ticket_id: int | None, payload: dict[str, Any],
                      key: str, limit: SendLimit | None = None) -> int | None:
        """Queue an outbound item on this channel, once per ``key``; None when ``limit``
        holds it back."""
        ...

    def clock(self) -> float:
        """Now, in epoch seconds (tests freeze it)."""
        ...

    async def agent_addresses(self) -> set[str]:
        """Every agent's email address (who "we" are in forwarded mail and archives)."""
        ...

    async def ticket_count(self) -> int:
        """How many tickets this channel has opened (sync reports)."""
        ...

    async def save_secret(self, key: str, value: str) -> None:
        """Keep a new value of one of the channel's secret settings (sealed, like every
        secret), e.g. the refresh token an OAuth provider rotated; the channel keeps running."""
        ...

    async def form(self, slug: str) -> FormDef | None:
        """A form's definition as the store has it now (the forms channel)."""
        ...

    def call_book(self) -> CallBook:
        """The calling channel's calls (:mod:`engine.channels.calls_book`)."""
        ...


def spool_dir_for(db_path: str | Path | None) -> Path:
    """Where inbound bytes wait: next to the database, else in the temporary directory."""
    return Path(db_path).with_suffix(".spool") if db_path \
        else Path(tempfile.gettempdir()) / "ticketty-spool"


class StoreChannelHost(StoreLiveMixin, StoreMessaging):
    """The host of one channel on a :class:`~engine.store.Store` (the engine, CLI, wizards);
    it also has the live members (:class:`engine.channels.live.LiveHost`) and the messaging
    channels' members (:class:`StoreMessaging`)."""

    def __init__(self, store: Store, channel_id: int | None, *, kind: str = "",
                 services: HostServices | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        services = services or HostServices()
        self._store = store
        self.channel_id = channel_id
        self.log = logging.getLogger(f"engine.channels.{kind}" if kind else "engine.channels")
        self.spool_dir = spool_dir_for(getattr(store, "path", None))
        self.workers = services.workers
        self.budget = services.budget
        self.public_url = services.public_url.rstrip("/") if services.public_url else None
        self._clock = clock

    def _need_id(self) -> int:
        if self.channel_id is None:
            raise RuntimeError("this channel is not saved yet: it has no state, health or tickets")
        return self.channel_id

    async def ingest(self, msg: InboundMessage) -> IngestResult:
        from engine.ingest import ingest

        return await ingest(self._store, msg)

    async def ingest_many(self, msgs: Sequence[InboundMessage]) -> list[IngestResult]:
        from engine.ingest import ingest_many

        return await ingest_many(self._store, msgs)

    async def quarantine(self, source: str, reason: str, raw: bytes) -> int:
        return await self._store.add_quarantine(source, reason, raw, self.channel_id)

    async def health(self, **fields: Any) -> None:
        await self._store.set_channel_health(self._need_id(), **fields)

    async def state(self) -> dict[str, Any]:
        return await self._store.channel_state(self._need_id())

    async def set_state(self, state: dict[str, Any]) -> None:
        await self._store.set_channel_state(self._need_id(), state)

    async def enqueue(self, kind: str, *, ticket_id: int | None, payload: dict[str, Any],
                      key: str, limit: SendLimit | None = None) -> int | None:
        return await self._store.enqueue_outbound(
            kind, channel_id=self.channel_id, ticket_id=ticket_id, payload=payload, key=key,
            limit=(limit.per, limit.most, limit.window) if limit else None)

    def clock(self) -> float:
        return self._clock()

    async def agent_addresses(self) -> set[str]:
        return {a.email for a in await self._store.agents()}

    async def ticket_count(self) -> int:
        return await self._store.count_channel_tickets(self._need_id())

    async def save_secret(self, key: str, value: str) -> None:
        await self._store.save_channel_secret(self._need_id(), key, value)

    async def form(self, slug: str) -> FormDef | None:
        return await self._store.form(slug)

    def call_book(self) -> CallBook:
        from engine.channels.calls_book import StoreCallBook

        return StoreCallBook(self._store, self._need_id())
