"""Following other processes' changes: the :class:`ChangeFeed` seam and its SQLite implementation.

Several processes share one database (agents' TUIs, ``ticketty engine``). Each writes its
changes and their events in one transaction; the store publishes its *own* events to
in-process subscribers right after commit (``Store.subscribe``). Events committed by *other*
processes reach it through a change feed:

- :class:`ChangeFeed` is all the store needs: ``start()``, ``stop()``, ``subscribe(deliver)``
  (``deliver`` receives each batch of foreign events, oldest first) and ``poll()`` (read
  what is new right now).
- :class:`SqliteDataVersionFeed` polls ``PRAGMA data_version`` every :data:`FOLLOW_INTERVAL`
  seconds — it changes when another connection commits, and costs no table read — and reads
  the new ``events`` rows only then. It has a connection of its own, through aiosqlite's
  public API (a poll is one statement, so one thread hop each is fine), so following never
  queues behind a paging read on the store's reader.
- A PostgreSQL backend would implement the same protocol with ``LISTEN``/``NOTIFY``: each
  transaction that writes events ends with ``NOTIFY ticketty_events``, the feed holds one
  connection that ``LISTEN``\\s and, on a notification, reads ``events`` rows past its cursor
  exactly as the SQLite feed does (the notification is a wake-up, the table stays the truth,
  so a missed notification costs latency, never an event).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol, runtime_checkable

import aiosqlite

from engine.models import Event

log = logging.getLogger(__name__)

FOLLOW_INTERVAL = 0.05  # seconds between data_version polls of the cross-process follower
BATCH = 5000  # events read per poll at most (the next poll reads on)

Deliver = Callable[[list[Event]], None]


@runtime_checkable
class ChangeFeed(Protocol):
    """Events committed by other processes, delivered to subscribers as they appear."""

    async def start(self) -> None:
        """Begin following (returns at once; idempotent)."""

    async def stop(self) -> None:
        """Stop following; nothing is delivered after this returns."""

    def subscribe(self, deliver: Deliver) -> Callable[[], None]:
        """Call ``deliver(events)`` for every batch from now on; returns the unsubscribe."""

    async def poll(self) -> list[Event]:
        """Read and deliver what other processes committed since the last look."""


NEWER = ("SELECT id, at, kind, ticket_id, origin, data FROM events WHERE id > ?"
         " ORDER BY id LIMIT ?")


def last_event_id(conn: sqlite3.Connection) -> int:
    """Where a new follower starts: after the newest event now."""
    return conn.execute("SELECT max(id) FROM events").fetchone()[0] or 0


class SqliteDataVersionFeed:
    """:class:`ChangeFeed` over SQLite: a cheap ``PRAGMA data_version`` poll on a connection of
    its own (aiosqlite), then the new ``events`` rows not written by ``origin`` (this store)."""

    def __init__(self, path: Path, origin: str, cursor: int,
                 interval: float = FOLLOW_INTERVAL) -> None:
        self._path = path
        self._conn: aiosqlite.Connection | None = None
        self._origin = origin
        self._cursor = cursor
        self._interval = interval
        self._deliver: list[Deliver] = []
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._follow(), name="store-follow")

    async def stop(self) -> None:
        task, self._task = self._task, None
        conn, self._conn = self._conn, None
        try:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        finally:
            if conn is not None:
                await asyncio.shield(conn.close())  # its thread must not outlive the store

    async def _connection(self) -> aiosqlite.Connection:
        if self._conn is None:
            conn = await aiosqlite.connect(self._path, timeout=30)
            conn.row_factory = sqlite3.Row
            await conn.execute("PRAGMA query_only=ON")
            self._conn = conn
        return self._conn

    def subscribe(self, deliver: Deliver) -> Callable[[], None]:
        self._deliver.append(deliver)

        def unsubscribe() -> None:
            with contextlib.suppress(ValueError):
                self._deliver.remove(deliver)

        return unsubscribe

    async def _follow(self) -> None:
        last_version = -1
        while True:
            try:
                conn = await self._connection()
                async with conn.execute("PRAGMA data_version") as cur:
                    row = await cur.fetchone()
                version = row[0] if row else -1
                if version != last_version:
                    last_version = version
                    await self.poll()
            except sqlite3.Error as exc:  # keep following; the next poll retries
                log.warning("event follower: %s", exc)
            await asyncio.sleep(self._interval)

    async def poll(self) -> list[Event]:
        conn = await self._connection()
        rows = list(await conn.execute_fetchall(NEWER, (self._cursor, BATCH)))
        if not rows:
            return []
        self._cursor = rows[-1]["id"]
        foreign = [
            Event(id=r["id"], at=datetime.fromtimestamp(r["at"], UTC), kind=r["kind"], ticket_id=r["ticket_id"],
                  data=json.loads(r["data"]))
            for r in rows
            if r["origin"] != self._origin
        ]
        if foreign:
            for deliver in list(self._deliver):
                deliver(foreign)
        return foreign
