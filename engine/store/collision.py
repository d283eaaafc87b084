"""Collision safety: what changed on a ticket since an agent looked, and compare-and-set
assignment.

- :meth:`CollisionMixin.ticket_changes_since` reads the event log: an agent's composer
  remembers the newest event id when it opens (:meth:`CollisionMixin.last_event_id`); at send
  time the events of that ticket after it — a customer's message, another agent's reply, a
  reassignment, a close — are the reasons to hold the send. The event log is the truth every
  process shares, so this sees changes made by other processes as well as this one.
- :meth:`CollisionMixin.assign_if` assigns only if the ticket's assignee is still the one the
  caller saw, inside the write transaction (``BEGIN IMMEDIATE`` serialises writers, across
  processes too): of two agents taking one ticket at the same moment, one wins and the other
  gets :class:`AssignConflict` naming who has it.
"""

from __future__ import annotations

import json
import sqlite3

from engine.models import normalize_email
from engine.store.db import StoreError, Tx
from engine.store.desk import _assign
from engine.store.tickets import require_ticket

UNSEEN = -1  # ``expected`` for "I saw nobody" is None; this means "do not check"


class AssignConflict(StoreError):
    """Someone else got the ticket first; ``holder`` is who has it now ("Name <email>")."""

    def __init__(self, ticket_id: int, holder: str) -> None:
        super().__init__(f"#{ticket_id} is already assigned to {holder}")
        self.ticket_id = ticket_id
        self.holder = holder


def _holder(tx: Tx, agent_id: int) -> str:
    row = tx.one("SELECT name, email FROM agents WHERE id=?", (agent_id,))
    return f"{row['name']} <{row['email']}>" if row else f"agent #{agent_id}"


def _assign_if(tx: Tx, ticket_id: int, agent_email: str | None, expected: int | None,
               by_agent_id: int | None) -> bool:
    current = require_ticket(tx, ticket_id)["assignee_id"]
    if expected != UNSEEN and current != expected and current is not None:
        target = tx.one("SELECT id FROM agents WHERE email=?",
                        (normalize_email(agent_email),)) if agent_email else None
        if target is None or target[0] != current:
            raise AssignConflict(ticket_id, _holder(tx, current))
    return _assign(tx, ticket_id, agent_email, None, by_agent_id)


def _changes(conn: sqlite3.Connection, ticket_id: int, since: int,
             agent_id: int | None) -> tuple[list[str], int]:
    cursor = conn.execute("SELECT max(id) FROM events").fetchone()[0] or 0
    rows = conn.execute(
        "SELECT kind, data FROM events WHERE ticket_id=? AND id>? AND kind IN"
        " ('message.added', 'ticket.assigned', 'ticket.status') ORDER BY id",
        (ticket_id, since)).fetchall()
    changes: list[str] = []
    for row in rows:
        data = json.loads(row["data"])
        if row["kind"] == "message.added" and data.get("direction") in ("inbound", "outbound"):
            msg = conn.execute("SELECT author_name, author_email, agent_id, text FROM messages"
                               " WHERE id=?", (data.get("message_id"),)).fetchone()
            if msg is None or (msg["agent_id"] is not None and msg["agent_id"] == agent_id):
                continue
            who = msg["author_name"] or msg["author_email"] or "someone"
            first = " ".join((msg["text"] or "").split())[:60]
            verb = "wrote" if data["direction"] == "inbound" else "replied"
            changes.append(f"{who} {verb}: “{first}”")
        elif row["kind"] == "ticket.assigned" and data.get("assignee_id") != agent_id:
            who = conn.execute("SELECT name FROM agents WHERE id=?",
                               (data.get("assignee_id"),)).fetchone()
            changes.append(f"reassigned to {who[0]}" if who else "unassigned")
        elif row["kind"] == "ticket.status" and data.get("is_open") is False:
            changes.append(f"closed ({data.get('status')})")
    return changes, cursor


class CollisionMixin:
    """Change detection for the composer and compare-and-set assignment."""

    async def last_event_id(self) -> int:
        """The newest event's id: where "since I opened the composer" starts."""
        return await self.read(  # type: ignore[attr-defined]
            lambda c: c.execute("SELECT max(id) FROM events").fetchone()[0] or 0)

    async def ticket_changes_since(self, ticket_id: int, since: int,
                                   agent_id: int | None) -> tuple[list[str], int]:
        """What happened to ``ticket_id`` after event ``since`` that ``agent_id`` did not do
        (one line each), and the newest event id now (the next ``since``)."""
        return await self.read(  # type: ignore[attr-defined]
            _changes, ticket_id, since, agent_id)

    async def assign_if(self, ticket_id: int, agent_email: str | None, expected: int | None,
                        by_agent_id: int | None) -> bool:
        """Assign to ``agent_email`` (None: nobody) only while the assignee is still
        ``expected`` (None: nobody; :data:`UNSEEN`: whoever); else :class:`AssignConflict`."""
        if agent_email is None and expected == UNSEEN:
            raise StoreError("assign_if needs an expected assignee to unassign")
        return await self.write(  # type: ignore[attr-defined]
            _assign_if, ticket_id, agent_email, expected, by_agent_id)
