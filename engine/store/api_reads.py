"""Reads of the tickets API: keyset pages of a ticket view, and a contact by its address.

A page is read after a *key*: the sort values of the last row of the page before (and its
id), compared as one SQLite row value in the view's own order. Unlike an offset, a key does
not shift when tickets arrive or change while a client pages through: nothing is skipped or
repeated because of rows above it. The key's values are the stored ones (REAL timestamps as
stored), never a rounded copy.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from engine.models import Ticket
from engine.store.directory import contact_row_json
from engine.store.queries import TICKET_SELECT, SearchCache, TicketQuery, _source, ticket_from_row

#: the columns each sort orders by (all descending), the last one always the id
SORT_KEYS = {
    "activity": ("t.activity_at", "t.id"),
    "created": ("t.created_at", "t.id"),
    "priority": ("t.prio", "t.activity_at", "t.id"),
}


def ticket_page(conn: sqlite3.Connection, q: TicketQuery, after: list[Any] | None, limit: int,
                search: SearchCache | None = None) -> tuple[list[Ticket], list[Any] | None]:
    """Up to ``limit`` tickets of ``q`` after the key ``after``; and the key of the next page
    (None when this is the last)."""
    cols = SORT_KEYS[q.sort]
    src, where, params = _source(conn, q, search)
    if after is not None:
        if len(after) != len(cols):
            raise ValueError("a key for another sort")
        cond = f"({', '.join(cols)}) < ({', '.join('?' * len(cols))})"
        where = f"{where} AND {cond}" if where else f" WHERE {cond}"
        params = [*params, *after]
    rows = conn.execute(f"SELECT {', '.join(cols)} FROM {src}{where}{q.order()} LIMIT ?",
                        [*params, limit + 1]).fetchall()
    more = len(rows) > limit
    rows = rows[:limit]
    if not rows:
        return [], None
    ids = [r[-1] for r in rows]
    marks = ",".join("?" * len(ids))
    found = {r["id"]: r for r in conn.execute(f"{TICKET_SELECT} WHERE t.id IN ({marks})", ids)}
    tickets = [ticket_from_row(found[i]) for i in ids if i in found]
    return tickets, (list(rows[-1]) if more else None)


def contact_by_email(conn: sqlite3.Connection, email: str) -> dict[str, Any] | None:
    """The contact with this address, in the shape of ``contacts list --json``."""
    row = conn.execute(
        "SELECT ct.id, ct.name, ct.unverified, a.email AS owner,"
        " (SELECT group_concat(value, ',') FROM contact_identities ci"
        "  WHERE ci.contact_id=ct.id AND ci.kind='email') AS emails,"
        " (SELECT count(*) FROM tickets t WHERE t.contact_id=ct.id) AS tickets"
        " FROM contact_identities i JOIN contacts ct ON ct.id = i.contact_id"
        " LEFT JOIN agents a ON a.id = ct.owner_id"
        " WHERE i.kind='email' AND i.value=? LIMIT 1", (email.lower(),)).fetchone()
    return contact_row_json(row) if row else None


class ApiReadsMixin:
    """The API's reads, mixed into ``Store``."""

    async def ticket_page(self, q: TicketQuery, after: list[Any] | None,
                          limit: int) -> tuple[list[Ticket], list[Any] | None]:
        return await self.read(ticket_page, q, after, limit, self._search)  # type: ignore[attr-defined]

    async def contact_by_email(self, email: str) -> dict[str, Any] | None:
        return await self.read(contact_by_email, email)  # type: ignore[attr-defined]
