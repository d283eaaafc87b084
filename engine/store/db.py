"""The store's connections, transactions and event log.

One writer connection (WAL) owned by the store runs every write as a *synchronous* function
inside one ``BEGIN IMMEDIATE`` transaction on the connection's own thread
(:class:`~engine.store.sqlite.connection.SqliteConnection`): one thread hop per transaction,
not per statement, which is what makes ingest fast. A separate reader connection serves paging
queries so the UI never waits behind a write.

Every change appends rows to the ``events`` table inside the same transaction. After commit,
in-process subscribers get the events at once; events other processes commit arrive through
the store's change feed (:mod:`engine.store.follow`).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import os
import sqlite3
import time
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from engine.models import Event
from engine.store.files import create_private, private_dir
from engine.store.follow import ChangeFeed, SqliteDataVersionFeed, last_event_id
from engine.store.schema import migrate
from engine.store.sqlite import connection as sqlite
from engine.store.sqlite.connection import SqliteConnection, open_error
from engine.store.sqlite.tx import Tx
from engine.vault import Vault

log = logging.getLogger(__name__)
T = TypeVar("T")


#: Who the events being written are done by, when an admin acts on behalf of another agent
#: (``{"actor": admin_email, "on_behalf_of": agent_email}``); merged into every event's data.
ACTING: contextvars.ContextVar[dict[str, str] | None] = contextvars.ContextVar(
    "ticketty_acting", default=None)


@contextlib.contextmanager
def acting(who: dict[str, str] | None):  # a context manager
    """Record ``who`` in the events written inside this block (this task only)."""
    token = ACTING.set(who)
    try:
        yield
    finally:
        ACTING.reset(token)


def ts(dt: datetime | None) -> float | None:
    return None if dt is None else dt.timestamp()


def dt(value: float | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, UTC)


class StoreError(Exception):
    """A user-facing problem with a store operation (unknown ticket, bad value ...)."""


class StoreBase:
    """Connections, transactions and events; domain queries are mixed in by ``Store``."""

    def __init__(self, path: str | os.PathLike[str], blob_dir: str | os.PathLike[str] | None = None,
                 vault: Vault | None = None):
        self.path = Path(path)
        self.vault = vault or Vault()  # seals channel secrets (engine/vault.py)
        self.blob_dir = Path(blob_dir) if blob_dir else self.path.with_suffix(".blobs")
        self.origin = uuid.uuid4().hex[:12]
        self._writer: SqliteConnection | None = None
        self._reader: SqliteConnection | None = None
        self._lease_writer: SqliteConnection | None = None  # opened by the first write_lease
        self._write_lock = asyncio.Lock()
        self._lease_lock = asyncio.Lock()
        self._subscribers: list[asyncio.Queue[Event]] = []
        self.feed: ChangeFeed | None = None  # other processes' events (engine/store/follow.py)

    # ----------------------------------------------------------------- lifecycle
    async def open(self) -> StoreBase:
        """Open (creating it 0600 in a 0700 directory if new) and migrate the database.

        A database this process cannot write (read-only file or directory) raises
        :class:`StoreError` at once, with every connection closed again — an open connection
        thread left behind would keep the process from exiting.
        """
        try:
            private_dir(self.path.parent)
            create_private(self.path)
        except OSError as exc:
            raise StoreError(f"cannot create the database {self.path}: {exc.strerror}") from None
        try:
            self._writer = SqliteConnection(self.path, "ticketty-writer")
            await self._writer.open(lambda c: sqlite.prepare_writer(c, migrate))
            self._reader = SqliteConnection(self.path, "ticketty-reader")
            await self._reader.open(sqlite.prepare_reader)
            cursor = await self.read(last_event_id)
        except sqlite3.Error as exc:
            await self.close()
            raise StoreError(open_error(self.path, exc)) from None
        self.feed = SqliteDataVersionFeed(self.path, self.origin, cursor)
        self.feed.subscribe(self._publish)
        await self._after_open()
        return self

    async def _after_open(self) -> None:
        """Hook for the store's own upkeep right after opening (see ``Store``)."""

    async def checkpoint(self) -> None:
        """Copy the WAL into the database file and empty it (best effort: readers of other
        processes may hold it; SQLite's own checkpoints finish the job later)."""
        assert self._writer is not None, "store is not open"
        async with self._write_lock:
            await self._writer.run(sqlite.checkpoint)

    async def close(self) -> None:
        """Close both connections and stop their threads — even if this task is cancelled
        meanwhile: the connections' threads are not daemons, and one left running keeps the
        process alive after the app has quit."""
        conns = [c for c in (self._reader, self._writer, self._lease_writer) if c is not None]
        self._reader = self._writer = self._lease_writer = None
        feed, self.feed = self.feed, None
        try:
            if feed is not None:
                await feed.stop()
            for conn in conns:
                with contextlib.suppress(sqlite3.Error, ValueError):
                    await conn.close()
        finally:
            for conn in conns:
                conn.stop()  # queues the thread's stop (a no-op once closed); never blocks

    async def __aenter__(self):  # returns the concrete store
        return await self.open()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # ------------------------------------------------------------- transactions
    async def write(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run ``fn(tx, *args)`` in one write transaction; publish its events after commit."""
        assert self._writer is not None, "store is not open"
        async with self._write_lock:
            return await self._write_on(self._writer, fn, *args, **kwargs)

    async def write_lease(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Like :meth:`write`, on a small connection of its own, for the runner lease.

        A lease renewal must never wait behind a queue of ingest writes (or one big one still
        queued on the main writer's thread): this connection only waits for SQLite's write
        lock itself, for at most the transaction that holds it.
        """
        assert self._writer is not None, "store is not open"
        async with self._lease_lock:
            if self._lease_writer is None:
                conn = SqliteConnection(self.path, "ticketty-lease")
                try:
                    await conn.open(lambda c: sqlite.prepare_writer(c, None))
                except BaseException:
                    # cancelled (engine stopping) or failed: an open connection's thread
                    # would keep the process from exiting
                    await asyncio.shield(conn.close())
                    raise
                self._lease_writer = conn
            return await self._write_on(self._lease_writer, fn, *args, **kwargs)

    async def _write_on(self, connection: SqliteConnection, fn: Callable[..., T],
                        *args: Any, **kwargs: Any) -> T:
        who, now = ACTING.get(), time.time()  # in the calling task: ACTING is a contextvar

        def run(conn: sqlite3.Connection) -> tuple[T, Tx]:
            tx = Tx(conn=conn, origin=self.origin, blob_dir=self.blob_dir, now=now, acting=who)
            conn.execute("BEGIN IMMEDIATE")
            try:
                result = fn(tx, *args, **kwargs)
                tx.flush_events()
                conn.execute("COMMIT")
                return result, tx
            except BaseException:
                conn.execute("ROLLBACK")
                raise

        try:
            result, tx = await connection.run(run)
        except sqlite3.OperationalError as exc:
            if sqlite.is_read_only_error(exc):  # made read-only while open: say what to check
                raise StoreError(open_error(self.path, exc)) from None
            raise
        if tx.events and self._subscribers:
            self._publish(tx.built_events())
        return result

    async def read(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run ``fn(conn, *args)`` on the reader connection (a consistent snapshot)."""
        assert self._reader is not None, "store is not open"

        def run(conn: sqlite3.Connection) -> T:
            conn.execute("BEGIN")
            try:
                return fn(conn, *args, **kwargs)
            finally:
                conn.execute("COMMIT")

        return await self._reader.run(run)

    # ------------------------------------------------------------------ events
    def subscribe(self) -> asyncio.Queue[Event]:
        """A queue that receives every event committed from now on (this process or others)."""
        queue: asyncio.Queue[Event] = asyncio.Queue()
        self._subscribers.append(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[Event]) -> None:
        with contextlib.suppress(ValueError):
            self._subscribers.remove(queue)

    @contextlib.asynccontextmanager
    async def events(self) -> AsyncIterator[asyncio.Queue[Event]]:
        queue = self.subscribe()
        try:
            yield queue
        finally:
            self.unsubscribe(queue)

    def _publish(self, events: list[Event]) -> None:
        for queue in list(self._subscribers):
            for event in events:
                queue.put_nowait(event)

    async def start_following(self) -> None:
        """Deliver the events other processes commit to this store's subscribers too."""
        assert self.feed is not None, "store is not open"
        await self.feed.start()

    async def poll_events(self) -> list[Event]:
        """Read (and publish) what other processes committed since the last look."""
        assert self.feed is not None, "store is not open"
        return await self.feed.poll()
