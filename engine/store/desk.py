"""The agent actions' transactions (what :class:`engine.desk.Desk` does, one write each).

Each method is one transaction with its events; the rules that need no database (filling a
canned reply's placeholders, what an undo may take back) stay with the desk. Who acts on whose
behalf is recorded by the caller around the call (:func:`engine.store.db.acting`).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from engine.models import Agent, Direction, normalize_email
from engine.store import tickets as T
from engine.store.db import StoreError, Tx
from engine.store.directory import require_agent


@dataclass(frozen=True)
class CannedContext:
    """A canned reply's text and who it will be filled in for."""

    body: str
    customer_name: str
    customer_email: str | None


def _canned_context(conn: sqlite3.Connection, ticket_id: int, canned_id: int) -> CannedContext:
    T.require_ticket(conn, ticket_id)
    row = conn.execute("SELECT body FROM canned_replies WHERE id=?", (canned_id,)).fetchone()
    if row is None:
        raise StoreError(f"no canned reply #{canned_id}")
    who = conn.execute(
        "SELECT ct.name, (SELECT value FROM contact_identities ci WHERE"
        " ci.contact_id = ct.id AND ci.kind='email' LIMIT 1) FROM tickets t"
        " LEFT JOIN contacts ct ON ct.id = t.contact_id WHERE t.id=?", (ticket_id,)).fetchone()
    return CannedContext(row[0], who[0] or "", who[1])


def _note(tx: Tx, ticket_id: int, body: str, author: Agent) -> int:
    T.require_ticket(tx, ticket_id)
    return T.add_message(tx, ticket_id, direction=Direction.note, text=body,
                         author_name=author.name, author_email=author.email, agent_id=author.id)


def clear_pending_routing(tx: Tx, ticket_id: int) -> None:
    """A ticket someone took no longer waits for deferred routing."""
    tx.execute("DELETE FROM routing_pending WHERE ticket_id=?", (ticket_id,))


def _assign(tx: Tx, ticket_id: int, agent_email: str | None, team: str | None,
            by_agent_id: int | None) -> bool:
    agent_id = team_id = None
    if agent_email:
        agent = require_agent(tx.conn, normalize_email(agent_email))
        if not agent.seat:
            raise StoreError(f"{agent.name} <{agent.email}> has no seat and cannot be assigned")
        agent_id = agent.id
    if team:
        row = tx.one("SELECT id FROM teams WHERE name=?", (team,))
        if row is None:
            raise StoreError(f"no team named {team!r}")
        team_id = row[0]
        if agent_id is None:
            current = T.require_ticket(tx, ticket_id)
            agent_id = current["assignee_id"]
    changed = T.assign(tx, ticket_id, agent_id, team_id, by_agent_id)
    if changed:
        clear_pending_routing(tx, ticket_id)
    return changed


def _close_undoably(tx: Tx, ticket_id: int, agent_id: int | None) -> tuple[str, str] | None:
    before = T.require_ticket(tx, ticket_id)["status"]
    if not T.close(tx, ticket_id, agent_id):
        return None
    return before, T.require_ticket(tx, ticket_id)["status"]


def _undo_close(tx: Tx, ticket_id: int, previous: str, closed_as: str,
                agent_id: int | None) -> None:
    now = T.require_ticket(tx, ticket_id)["status"]
    if now != closed_as:
        raise StoreError(f"#{ticket_id} changed since it was closed (it is {now});"
                         " nothing undone")
    T.set_status(tx, ticket_id, previous, agent_id, reason=f"close undone: back to {previous}")


def _mark_read(tx: Tx, ticket_id: int) -> None:
    cur = tx.execute("UPDATE tickets SET unread=0 WHERE id=? AND unread=1", (ticket_id,))
    if cur.rowcount:
        tx.event("ticket.read", ticket_id)


class DeskMixin:
    """Ticket actions of an agent, mixed into ``Store``; ``agent_id`` is who acts (system
    notes name them), ``None`` for the system."""

    async def canned_reply_context(self, ticket_id: int, canned_id: int) -> CannedContext:
        """A canned reply's body and the ticket's customer (name, first email address)."""
        return await self.read(_canned_context, ticket_id, canned_id)  # type: ignore[attr-defined]

    async def add_note(self, ticket_id: int, body: str, author: Agent) -> int:
        """An internal note by ``author``; returns the message id."""
        return await self.write(_note, ticket_id, body, author)  # type: ignore[attr-defined]

    async def assign_ticket(self, ticket_id: int, agent_email: str | None, team: str | None,
                            agent_id: int | None) -> bool:
        """Assign to an agent (by email; they need a seat), a team (keeping the assignee when
        no agent is named), or nobody; a changed ticket leaves deferred routing."""
        return await self.write(  # type: ignore[attr-defined]
            _assign, ticket_id, agent_email, team, agent_id)

    async def set_ticket_status(self, ticket_id: int, status: str, agent_id: int | None) -> bool:
        return await self.write(T.set_status, ticket_id, status, agent_id)  # type: ignore[attr-defined]

    async def close_ticket(self, ticket_id: int, agent_id: int | None) -> bool:
        return await self.write(T.close, ticket_id, agent_id)  # type: ignore[attr-defined]

    async def close_ticket_undoably(self, ticket_id: int, agent_id: int | None
                                    ) -> tuple[str, str] | None:
        """Close; returns ``(status before, status closed as)``, ``None`` if already closed."""
        return await self.write(_close_undoably, ticket_id, agent_id)  # type: ignore[attr-defined]

    async def undo_close(self, ticket_id: int, previous: str, closed_as: str,
                         agent_id: int | None) -> None:
        """Back to ``previous`` — only while the ticket is still ``closed_as``."""
        await self.write(  # type: ignore[attr-defined]
            _undo_close, ticket_id, previous, closed_as, agent_id)

    async def reopen_ticket(self, ticket_id: int, agent_id: int | None) -> bool:
        return await self.write(T.reopen, ticket_id, agent_id)  # type: ignore[attr-defined]

    async def set_ticket_priority(self, ticket_id: int, priority: str,
                                  agent_id: int | None) -> bool:
        return await self.write(T.set_priority, ticket_id, priority, agent_id)  # type: ignore[attr-defined]

    async def set_ticket_pipeline(self, ticket_id: int, pipeline: str,
                                  agent_id: int | None) -> bool:
        return await self.write(T.set_pipeline, ticket_id, pipeline, agent_id)  # type: ignore[attr-defined]

    async def mark_ticket_read(self, ticket_id: int) -> None:
        await self.write(_mark_read, ticket_id)  # type: ignore[attr-defined]
