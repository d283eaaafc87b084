"""A write transaction of the SQLite store: what every synchronous store function receives.

:class:`Tx` wraps the writer's ``sqlite3`` connection for the length of one ``BEGIN
IMMEDIATE`` … ``COMMIT`` (``Store.write`` opens and ends it): ``execute``/``one``/``all`` for
statements, ``insert`` for a new row's id, ``event`` for the event log. Events are written
in one ``executemany`` just before the commit, and their ids come from ``last_insert_rowid``
— the SQLite way of numbering them.
"""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from engine.models import Event

_to_json = json.JSONEncoder(default=str).encode  # one encoder, not one per event


@dataclass
class Tx:
    """A write transaction in progress: the raw connection plus the events it will publish."""

    conn: sqlite3.Connection
    origin: str
    blob_dir: Path
    events: list[tuple[int, float, str, int | None, dict[str, Any]]] = field(default_factory=list)
    now: float = field(default_factory=time.time)
    cache: dict[str, Any] = field(default_factory=dict)  # per-transaction lookups (pipelines …)
    acting: dict[str, str] | None = None  # who acts (engine.store.db.ACTING)
    _pending: list[tuple[Any, ...]] = field(default_factory=list)

    def execute(self, sql: str, params: Any = ()) -> sqlite3.Cursor:
        return self.conn.execute(sql, params)

    def insert(self, sql: str, params: Any = ()) -> int:
        """Run one ``INSERT`` and return the new row's id (SQLite: its rowid)."""
        return self.conn.execute(sql, params).lastrowid  # type: ignore[return-value]

    def one(self, sql: str, params: Any = ()) -> sqlite3.Row | None:
        return self.conn.execute(sql, params).fetchone()

    def row(self, sql: str, params: Any = ()) -> sqlite3.Row:
        """The first row of a query that must return one (a row this transaction just read
        or wrote); a missing row is a bug, raised as ``LookupError`` with the query."""
        found = self.conn.execute(sql, params).fetchone()
        if found is None:
            raise LookupError(f"no row for {sql!r} {params!r}")
        return found

    def all(self, sql: str, params: Any = ()) -> list[sqlite3.Row]:
        return self.conn.execute(sql, params).fetchall()

    def scalar(self, sql: str, params: Any = ()) -> Any:
        """The first column of the first row (``count(*)`` …); the query must return a row."""
        return self.conn.execute(sql, params).fetchone()[0]

    def event(self, kind: str, ticket_id: int | None = None, **data: Any) -> None:
        """Record an event; the rows are written in one ``executemany`` before commit."""
        if self.acting:
            data = {**data, **self.acting}
        self._pending.append((self.now, kind, ticket_id, self.origin, _to_json(data), data))

    def flush_events(self) -> None:
        """Write the pending events (``StoreBase.write`` calls this just before COMMIT)."""
        pending, self._pending = self._pending, []
        if not pending:
            return
        self.conn.executemany(
            "INSERT INTO events(at, kind, ticket_id, origin, data) VALUES (?,?,?,?,?)",
            [p[:5] for p in pending],
        )
        # AUTOINCREMENT ids of rows inserted back to back under the write lock are consecutive
        last = self.conn.execute("SELECT last_insert_rowid()").fetchone()[0]
        first = last - len(pending) + 1
        self.events.extend(
            (first + i, at, kind, tid, data) for i, (at, kind, tid, _, _, data) in enumerate(pending)
        )

    def built_events(self) -> list[Event]:
        return [Event(id=i, at=datetime.fromtimestamp(at, UTC), kind=k, ticket_id=t, data=d)
                for i, at, k, t, d in self.events]
