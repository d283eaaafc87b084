"""Ticket reads: queue windows (count, page, position), one ticket, its thread, view counts.

The read side of the ticket store: :class:`TicketQuery` (what a queue view shows) and
synchronous reads over a ``sqlite3.Connection`` that :class:`~engine.store.tickets.TicketsMixin`
runs for async callers. Text search is SQLite's FTS5 (:mod:`engine.store.sqlite.fts`); with a
text, the matching ticket ids drive the query through SQLite's ``json_each``. Mutations live
in :mod:`engine.store.tickets`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field

from engine.models import PRIORITY_RANK, Attachment, Message, Ticket
from engine.store.db import dt
from engine.store.sqlite.fts import SearchCache

RANK_PRIORITY = {v: k for k, v in PRIORITY_RANK.items()}

TICKET_SELECT = """
SELECT t.*, c.name AS channel_name, c.kind AS channel_kind,
       ct.name AS contact_name,
       (SELECT value FROM contact_identities ci WHERE ci.contact_id = t.contact_id
          AND ci.kind = 'email' LIMIT 1) AS contact_email,
       a.email AS assignee_email, a.name AS assignee_name, tm.name AS team_name
FROM tickets t
LEFT JOIN channels c ON c.id = t.channel_id
LEFT JOIN contacts ct ON ct.id = t.contact_id
LEFT JOIN agents a ON a.id = t.assignee_id
LEFT JOIN teams tm ON tm.id = t.team_id
"""


# columns whose name is the model field's name: copied by name
_TICKET_FIELDS = ("id", "subject", "pipeline", "status", "channel_id", "channel_name",
                  "channel_kind", "contact_id", "contact_name", "contact_email", "assignee_id",
                  "assignee_email", "assignee_name", "team_id", "team_name", "source")
_MESSAGE_FIELDS = ("id", "ticket_id", "direction", "author_name", "author_email", "agent_id",
                   "contact_id", "text", "html", "external_id", "channel_id", "delivery_state",
                   "delivery_error")
_ATTACHMENT_FIELDS = ("id", "filename", "content_type", "size", "sha256")


def ticket_from_row(r: sqlite3.Row) -> Ticket:
    return Ticket(
        **{k: r[k] for k in _TICKET_FIELDS},
        is_open=bool(r["is_open"]), priority=RANK_PRIORITY[r["prio"]], unread=bool(r["unread"]),
        created_at=dt(r["created_at"]), updated_at=dt(r["updated_at"]),
        last_activity_at=dt(r["activity_at"]), closed_at=dt(r["closed_at"]),
    )


@dataclass(frozen=True)
class TicketQuery:
    """What a queue view shows. ``view``: unassigned | mine | open | closed | all | channel."""

    view: str = "open"
    agent_id: int | None = None  # for "mine"
    channel_id: int | None = None  # for "channel" views and channel: filters
    status: str | None = None
    assignee_id: int | None = None
    unassigned: bool = False
    priority: str | None = None
    text: str | None = None
    sort: str = "activity"  # activity | created | priority
    extra: tuple[str, ...] = field(default_factory=tuple)

    def where(self) -> tuple[str, list[object]]:
        """``(WHERE clause, params)`` of every filter but ``text`` (which :func:`_source`
        turns into the list of matching tickets the query starts from)."""
        clauses: list[str] = []
        params: list[object] = []
        if self.view in ("open", "unassigned", "mine"):
            clauses.append("t.is_open = 1")
        elif self.view == "closed":
            clauses.append("t.is_open = 0")
        elif self.view == "channel":
            clauses.append("t.is_open = 1")
        if self.view == "unassigned" or self.unassigned:
            clauses.append("t.assignee_id IS NULL")
        if self.view == "mine":
            clauses.append("t.assignee_id = ?")
            params.append(self.agent_id)  # None (no agent) matches no row: NULL equals nothing
        if self.channel_id is not None:
            clauses.append("t.channel_id = ?")
            params.append(self.channel_id)
        if self.assignee_id is not None:
            clauses.append("t.assignee_id = ?")
            params.append(self.assignee_id)
        if self.status:
            clauses.append("t.status = ?")
            params.append(self.status)
        if self.priority:
            clauses.append("t.prio = ?")
            params.append(PRIORITY_RANK.get(self.priority))  # an unknown one: None, no row
        return (" WHERE " + " AND ".join(clauses)) if clauses else "", params

    def order(self, reverse: bool = False) -> str:
        d = "ASC" if reverse else "DESC"
        if self.sort == "created":
            return f" ORDER BY t.created_at {d}, t.id {d}"
        if self.sort == "priority":
            return f" ORDER BY t.prio {d}, t.activity_at {d}, t.id {d}"
        return f" ORDER BY t.activity_at {d}, t.id {d}"


def _source(conn: sqlite3.Connection, q: TicketQuery,
            search: SearchCache | None) -> tuple[str, str, list[object]]:
    """``(FROM clause, WHERE clause, params)`` of a query.

    With a text, the (bounded) list of matching ticket ids drives the query — ``CROSS JOIN``
    keeps SQLite from scanning a status index over every open ticket and probing the list.
    """
    where, params = q.where()
    if not q.text:
        return "tickets t", where, params
    ids = (search or SearchCache()).ticket_ids(conn, q.text)
    return "json_each(?) j CROSS JOIN tickets t ON t.id = j.value", where, [ids, *params]



# ------------------------------------------------------------------- sync reads
def count_tickets(conn: sqlite3.Connection, q: TicketQuery,
                  search: SearchCache | None = None) -> int:
    src, where, params = _source(conn, q, search)
    return conn.execute(f"SELECT count(*) FROM {src}{where}", params).fetchone()[0]


def page_tickets(conn: sqlite3.Connection, q: TicketQuery, offset: int, limit: int,
                 total: int | None = None, search: SearchCache | None = None) -> list[Ticket]:
    """Rows ``offset .. offset+limit`` of a view; deep offsets are read from the far end."""
    src, where, params = _source(conn, q, search)
    if total is not None and 2 * offset > total:  # past the middle
        start = max(0, total - offset - limit)
        n = min(limit, total - offset)
        if n <= 0:
            return []
        ids_sql = f"SELECT t.id FROM {src}{where}{q.order(reverse=True)} LIMIT ? OFFSET ?"
        ids = [r[0] for r in conn.execute(ids_sql, [*params, n, start])][::-1]
    else:
        ids_sql = f"SELECT t.id FROM {src}{where}{q.order()} LIMIT ? OFFSET ?"
        ids = [r[0] for r in conn.execute(ids_sql, [*params, limit, offset])]
    if not ids:
        return []
    marks = ",".join("?" * len(ids))
    rows = {r["id"]: r for r in conn.execute(f"{TICKET_SELECT} WHERE t.id IN ({marks})", ids)}
    return [ticket_from_row(rows[i]) for i in ids if i in rows]


def index_of(conn: sqlite3.Connection, q: TicketQuery, ticket_id: int,
             search: SearchCache | None = None) -> int | None:
    """Position of a ticket in a view (to keep the cursor on it after a change)."""
    row = conn.execute("SELECT activity_at, created_at, prio FROM tickets WHERE id=?",
                       (ticket_id,)).fetchone()
    if row is None:
        return None
    src, where, params = _source(conn, q, search)
    if q.sort == "created":
        cond, cp = "(t.created_at > ? OR (t.created_at = ? AND t.id > ?))", [row[1], row[1], ticket_id]
    elif q.sort == "priority":
        cond = ("(t.prio > ? OR (t.prio = ? AND (t.activity_at > ? OR"
                " (t.activity_at = ? AND t.id > ?))))")
        cp = [row[2], row[2], row[0], row[0], ticket_id]
    else:
        cond, cp = "(t.activity_at > ? OR (t.activity_at = ? AND t.id > ?))", [row[0], row[0], ticket_id]
    joiner = " AND " if where else " WHERE "
    return conn.execute(f"SELECT count(*) FROM {src}{where}{joiner}{cond}", [*params, *cp]).fetchone()[0]


@dataclass
class Window:
    """A queue view read in one snapshot: its size, the cursor's row and the pages around it."""

    total: int
    cursor: int
    pages: dict[int, list[Ticket]]


def read_window(conn: sqlite3.Connection, q: TicketQuery, keep: int | None, cursor: int,
                place: Callable[[int, int], tuple[int, int]], page_size: int,
                search: SearchCache | None = None) -> Window:
    """Count a view, find ``keep``'s row (else use ``cursor``) and read the pages on screen.

    One read transaction, so the count, the position and the rows agree: read separately, a
    ticket committed in between shifts the rows under a position counted before it (the cursor
    lands on a neighbour). ``place(cursor, total)`` gives the first and last row to read.
    """
    total = count_tickets(conn, q, search)
    if keep is not None:
        index = index_of(conn, q, keep, search)
        if index is not None:
            cursor = index
    cursor = max(0, min(cursor, total - 1))
    first, last = place(cursor, total)
    pages = {page: page_tickets(conn, q, page * page_size, page_size, total, search)
             for page in range(first // page_size, last // page_size + 1)
             if page * page_size < total}
    return Window(total, cursor, pages)


def get_ticket(conn: sqlite3.Connection, ticket_id: int) -> Ticket | None:
    row = conn.execute(f"{TICKET_SELECT} WHERE t.id = ?", (ticket_id,)).fetchone()
    if row is None:
        return None
    wrote = conn.execute("SELECT max(created_at) FROM messages WHERE ticket_id=?"
                         " AND direction='inbound'", (ticket_id,)).fetchone()[0]
    return ticket_from_row(row).model_copy(update={"customer_wrote_at": dt(wrote)})


def load_messages(conn: sqlite3.Connection, ticket_id: int) -> list[Message]:
    atts: dict[int, list[Attachment]] = {}
    for a in conn.execute(
        "SELECT a.* FROM attachments a JOIN messages m ON m.id = a.message_id WHERE m.ticket_id=?",
        (ticket_id,),
    ):
        atts.setdefault(a["message_id"], []).append(
            Attachment(**{k: a[k] for k in _ATTACHMENT_FIELDS}))
    return [Message(**{k: r[k] for k in _MESSAGE_FIELDS}, created_at=dt(r["created_at"]),
                    attachments=atts.get(r["id"], []))
            for r in conn.execute("SELECT * FROM messages WHERE ticket_id=? ORDER BY created_at, id",
                                  (ticket_id,))]


def view_counts(conn: sqlite3.Connection, agent_id: int | None) -> dict[str, int]:
    open_n = conn.execute("SELECT count(*) FROM tickets WHERE is_open=1").fetchone()[0]
    return {
        "unassigned": conn.execute(
            "SELECT count(*) FROM tickets WHERE assignee_id IS NULL AND is_open=1").fetchone()[0],
        "mine": conn.execute("SELECT count(*) FROM tickets WHERE assignee_id=? AND is_open=1",
                             (agent_id,)).fetchone()[0],  # None: NULL equals no row
        "open": open_n,
        "closed": conn.execute("SELECT count(*) FROM tickets WHERE is_open=0").fetchone()[0],
        # distinct channel ids by a loose index scan, then one covering-index count each
        # (the GROUP BY plan read every open ticket's row: 0.7 s at a million tickets)
        **{
            f"channel:{r[0]}": r[1]
            for r in conn.execute(
                "WITH RECURSIVE ch(id) AS ("
                " SELECT min(channel_id) FROM tickets WHERE channel_id IS NOT NULL"
                " UNION ALL SELECT (SELECT min(channel_id) FROM tickets WHERE channel_id > ch.id)"
                " FROM ch WHERE ch.id IS NOT NULL)"
                " SELECT id, (SELECT count(*) FROM tickets t WHERE t.channel_id = ch.id"
                " AND t.is_open = 1) AS n FROM ch WHERE id IS NOT NULL")
            if r[1]
        },
    }
