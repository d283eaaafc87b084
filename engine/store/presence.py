"""Presence: which agents have a TUI open, on which ticket, viewing or replying.

Each TUI session (local or over SSH) owns one ``presence`` row, keyed by a random session id,
and refreshes its ``seen_at`` every :data:`HEARTBEAT` seconds. A row whose heartbeat is older
than :data:`PRESENCE_TTL` counts as gone — that is how a crashed or killed TUI disappears
without anyone deleting its row (stale rows are purged by the next writer). A change of ticket
or state writes a ``presence.changed`` event in the same transaction, so other processes learn
of it through the change feed (:mod:`engine.store.follow`) within one follow interval; a pure
heartbeat writes no event.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from engine.store.db import Tx

HEARTBEAT = 1.5  # seconds between a session's heartbeats
PRESENCE_TTL = 4.5  # seconds without a heartbeat after which a session counts as gone
PURGE_AFTER = 60.0  # stale rows older than this are deleted by the next presence write
STATES = ("online", "viewing", "replying")


@dataclass(frozen=True)
class Presence:
    """One open session: who, where (``ticket_id``, None on the queue), doing what."""

    session: str
    agent_id: int
    agent_name: str
    agent_email: str
    availability: str
    ticket_id: int | None
    state: str
    via: str
    seen_at: float

    def place(self) -> tuple[str, int, str, int | None, str, str]:
        """What the screens show of a session (everything but its heartbeat)."""
        return (self.session, self.agent_id, self.availability, self.ticket_id, self.state,
                self.agent_name)


def _publish(tx: Tx, session: str, agent_id: int, ticket_id: int | None, state: str,
             via: str) -> bool:
    if state not in STATES:
        raise ValueError(f"presence state must be one of {', '.join(STATES)}, not {state!r}")
    row = tx.one("SELECT agent_id, ticket_id, state FROM presence WHERE session=?", (session,))
    changed = row is None or (row["agent_id"], row["ticket_id"], row["state"]) != (
        agent_id, ticket_id, state)
    if row is None:
        tx.execute("INSERT INTO presence(session, agent_id, ticket_id, state, via, started_at,"
                   " seen_at) VALUES (?,?,?,?,?,?,?)",
                   (session, agent_id, ticket_id, state, via, tx.now, tx.now))
    else:
        tx.execute("UPDATE presence SET agent_id=?, ticket_id=?, state=?, seen_at=?"
                   " WHERE session=?", (agent_id, ticket_id, state, tx.now, session))
    if changed:
        tx.event("presence.changed", None, session=session, agent_id=agent_id,
                 presence_ticket=ticket_id, state=state)
        tx.execute("DELETE FROM presence WHERE seen_at < ?", (tx.now - PURGE_AFTER,))
    return changed


def _leave(tx: Tx, session: str) -> None:
    if tx.execute("DELETE FROM presence WHERE session=?", (session,)).rowcount:
        tx.event("presence.changed", None, session=session, state="gone")


def _read(conn: sqlite3.Connection, now: float, ttl: float) -> list[Presence]:
    rows = conn.execute(
        "SELECT p.session, p.agent_id, a.name, a.email, a.availability, p.ticket_id, p.state,"
        " p.via, p.seen_at FROM presence p JOIN agents a ON a.id = p.agent_id"
        " WHERE p.seen_at >= ? ORDER BY a.name, p.started_at", (now - ttl,)).fetchall()
    return [Presence(*row) for row in rows]


class PresenceMixin:
    """Publish, refresh, leave and read presence (see the module docstring)."""

    async def publish_presence(self, session: str, agent_id: int, ticket_id: int | None = None,
                               state: str = "online", via: str = "local") -> bool:
        """Say where ``session`` is now (also its heartbeat); True when that changed."""
        return await self.write(  # type: ignore[attr-defined]
            _publish, session, agent_id, ticket_id, state, via)

    async def leave_presence(self, session: str) -> None:
        """The session ends (a clean quit): its row goes at once, not after the TTL."""
        await self.write(_leave, session)  # type: ignore[attr-defined]

    async def presence(self, now: float, ttl: float = PRESENCE_TTL) -> list[Presence]:
        """The sessions alive at ``now`` (heartbeat within ``ttl``), by agent name."""
        return await self.read(_read, now, ttl)  # type: ignore[attr-defined]
