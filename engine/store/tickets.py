"""Ticket mutations: create, add messages and attachments, status, assignment, priority, pipeline.

Mutations are synchronous functions over a :class:`~engine.store.db.Tx` so that ingest can run
many of them in one transaction; :class:`TicketsMixin` wraps the reads of
:mod:`engine.store.queries` (and the quarantine) for async callers.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Callable

from engine.models import (
    PRIORITY_RANK,
    DeliveryState,
    Direction,
    Message,
    Priority,
    Source,
    Ticket,
)
from engine.store.db import StoreError, Tx, dt
from engine.store.files import write_private
from engine.store.queries import (
    SearchCache,
    TicketQuery,
    Window,
    count_tickets,
    get_ticket,
    index_of,
    load_messages,
    page_tickets,
    read_window,
    view_counts,
)
from engine.store.sqlite.fts import index_message
from engine.store.workflow import get_pipeline


# ------------------------------------------------------------------ sync mutations
def create_ticket(
    tx: Tx, *, subject: str, contact_id: int | None, channel_id: int | None,
    pipeline: str, status: str | None, priority: Priority | str,
    source: Source | str = Source.channel, at: float | None = None,
    assignee_id: int | None = None, team_id: int | None = None, thread_key: str | None = None,
    updated_at: float | None = None,
) -> int:
    pipe = get_pipeline(tx, pipeline)
    status = status or pipe.first_open
    st = pipe.status(status)
    if st is None:
        raise StoreError(f"status {status!r} is not in pipeline {pipeline!r}")
    at = at if at is not None else tx.now
    tid = tx.insert(
        "INSERT INTO tickets(subject, pipeline, status, is_open, prio, channel_id, contact_id,"
        " assignee_id, team_id, source, unread, thread_key, created_at, updated_at, activity_at,"
        " closed_at) VALUES (?,?,?,?,?,?,?,?,?,?,1,?,?,?,?,?)",
        (subject, pipeline, status, int(not st.closed), PRIORITY_RANK[str(priority)], channel_id,
         contact_id, assignee_id, team_id, str(source), thread_key, at,
         updated_at if updated_at is not None else at, at, at if st.closed else None),
    )
    tx.event("ticket.created", tid, channel_id=channel_id, assignee_id=assignee_id)
    return tid


def add_message(
    tx: Tx, ticket_id: int, *, direction: Direction | str, text: str, html: str | None = None,
    author_name: str = "", author_email: str | None = None, agent_id: int | None = None,
    contact_id: int | None = None, external_id: str | None = None, channel_id: int | None = None,
    delivery_state: DeliveryState | str = DeliveryState.none, at: float | None = None,
    subject: str | None = None, attachments: list[tuple[str, str, bytes]] | None = None,
    touch: bool = True, reply_to: str | None = None,
) -> int:
    """Store one message (FTS row, attachments, ticket activity, event). ``reply_to``: where
    answers to this inbound message go when that is not the contact's own address."""
    at = at if at is not None else tx.now
    mid = tx.insert(
        "INSERT INTO messages(ticket_id, direction, author_name, author_email, agent_id,"
        " contact_id, text, html, external_id, channel_id, delivery_state, created_at, reply_to)"
        " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
        (ticket_id, str(direction), author_name, author_email, agent_id, contact_id, text, html,
         external_id, channel_id, str(delivery_state), at, reply_to),
    )
    if str(direction) != "system":
        if subject is None:
            row = tx.one("SELECT subject FROM tickets WHERE id=?", (ticket_id,))
            subject = row[0] if row else ""
        index_message(tx, mid, subject, text, ticket_id)
    for filename, ctype, data in attachments or []:
        save_attachment(tx, mid, filename, ctype, data)
    if touch:
        unread = 1 if str(direction) == "inbound" else 0
        tx.execute(
            "UPDATE tickets SET activity_at=max(activity_at, ?), updated_at=?,"
            " unread=CASE WHEN ? THEN 1 ELSE unread END WHERE id=?",
            (at, tx.now, unread, ticket_id),
        )
    tx.event("message.added", ticket_id, message_id=mid, direction=str(direction))
    return mid


def save_attachment(tx: Tx, message_id: int, filename: str, ctype: str, data: bytes) -> None:
    digest = hashlib.sha256(data).hexdigest()
    path = tx.blob_dir / digest[:2] / digest
    if not path.exists():
        write_private(path, data)  # 0600 in 0700 directories: attachments are customer data
    tx.execute(
        "INSERT INTO attachments(message_id, filename, content_type, size, sha256) VALUES (?,?,?,?,?)",
        (message_id, filename, ctype, len(data), digest),
    )


def system_note(tx: Tx, ticket_id: int, text: str, agent_id: int | None = None) -> None:
    who = tx.one("SELECT name FROM agents WHERE id=?", (agent_id,)) if agent_id else None
    add_message(tx, ticket_id, direction=Direction.system, text=text, agent_id=agent_id,
                author_name=who[0] if who else "ticketty", touch=False)


def require_ticket(tx_or_conn: Tx | sqlite3.Connection, ticket_id: int) -> sqlite3.Row:
    conn = tx_or_conn.conn if isinstance(tx_or_conn, Tx) else tx_or_conn
    row = conn.execute("SELECT * FROM tickets WHERE id=?", (ticket_id,)).fetchone()
    if row is None:
        raise StoreError(f"no ticket #{ticket_id}")
    return row


def set_status(tx: Tx, ticket_id: int, status: str, agent_id: int | None = None,
               reason: str | None = None) -> bool:
    row = require_ticket(tx, ticket_id)
    if row["status"] == status:
        return False
    pipe = get_pipeline(tx, row["pipeline"])
    st = pipe.status(status)
    if st is None:
        names = ", ".join(s.name for s in pipe.statuses)
        raise StoreError(f"status {status!r} is not in pipeline {pipe.name!r} ({names})")
    tx.execute(
        "UPDATE tickets SET status=?, is_open=?, closed_at=?, updated_at=? WHERE id=?",
        (status, int(not st.closed), tx.now if st.closed else None, tx.now, ticket_id),
    )
    verb = reason or f"status changed from {row['status']} to {status}"
    system_note(tx, ticket_id, verb, agent_id)
    tx.event("ticket.status", ticket_id, status=status, previous=row["status"], is_open=not st.closed)
    return True


def reopen(tx: Tx, ticket_id: int, agent_id: int | None = None, reason: str = "reopened") -> bool:
    row = require_ticket(tx, ticket_id)
    if row["is_open"]:
        return False
    pipe = get_pipeline(tx, row["pipeline"])
    named = pipe.status("open")
    target = "open" if named and not named.closed else pipe.first_open
    return set_status(tx, ticket_id, target, agent_id, reason=reason)


def customer_wrote_back(tx: Tx, ticket_id: int) -> bool:
    """A customer's new message on a ticket moves it to its pipeline's status for that
    (:meth:`~engine.models.Pipeline.customer_status`, default ``open``) — a waiting, on-hold
    or closed ticket alike — unless it is still in its first status (nobody answered yet).
    Returns whether it was closed (reopened)."""
    row = require_ticket(tx, ticket_id)
    pipe = get_pipeline(tx, row["pipeline"])
    target = pipe.customer_status()
    if row["status"] == target or (row["is_open"] and row["status"] == pipe.statuses[0].name):
        return False
    reason = ("reopened by a customer reply" if not row["is_open"] else
              f"status changed from {row['status']} to {target} by a customer reply")
    set_status(tx, ticket_id, target, reason=reason)
    return not row["is_open"]


def close(tx: Tx, ticket_id: int, agent_id: int | None = None) -> bool:
    row = require_ticket(tx, ticket_id)
    pipe = get_pipeline(tx, row["pipeline"])
    named = pipe.status("closed")
    target = "closed" if named and named.closed else pipe.first_closed
    return set_status(tx, ticket_id, target, agent_id, reason="closed")


def assign(tx: Tx, ticket_id: int, agent_id: int | None, team_id: int | None = None,
           by_agent_id: int | None = None, reason: str | None = None) -> bool:
    row = require_ticket(tx, ticket_id)
    if row["assignee_id"] == agent_id and (team_id is None or row["team_id"] == team_id):
        return False
    new_team = team_id if team_id is not None else row["team_id"]
    tx.execute("UPDATE tickets SET assignee_id=?, team_id=?, updated_at=? WHERE id=?",
               (agent_id, new_team, tx.now, ticket_id))
    if agent_id is None:
        text = "unassigned"
    else:
        who = tx.one("SELECT name, email FROM agents WHERE id=?", (agent_id,))
        text = f"assigned to {who['name']} <{who['email']}>" if who else f"assigned to #{agent_id}"
    if team_id is not None:
        team = tx.one("SELECT name FROM teams WHERE id=?", (team_id,))
        text += f" (team {team['name'] if team else team_id})"
    if reason:
        text += f" — {reason}"
    system_note(tx, ticket_id, text, by_agent_id)
    tx.event("ticket.assigned", ticket_id, assignee_id=agent_id, team_id=new_team)
    return True


def set_priority(tx: Tx, ticket_id: int, priority: str, agent_id: int | None = None) -> bool:
    row = require_ticket(tx, ticket_id)
    if priority not in PRIORITY_RANK:
        raise StoreError(f"priority must be one of {', '.join(PRIORITY_RANK)}, not {priority!r}")
    if row["prio"] == PRIORITY_RANK[priority]:
        return False
    tx.execute("UPDATE tickets SET prio=?, updated_at=? WHERE id=?",
               (PRIORITY_RANK[priority], tx.now, ticket_id))
    system_note(tx, ticket_id, f"priority changed to {priority}", agent_id)
    tx.event("ticket.priority", ticket_id, priority=priority)
    return True


def set_pipeline(tx: Tx, ticket_id: int, pipeline: str, agent_id: int | None = None) -> bool:
    row = require_ticket(tx, ticket_id)
    if row["pipeline"] == pipeline:
        return False
    pipe = get_pipeline(tx, pipeline)
    status = row["status"] if pipe.status(row["status"]) else pipe.first_open
    st = pipe.status(status)
    tx.execute("UPDATE tickets SET pipeline=?, status=?, is_open=?, updated_at=? WHERE id=?",
               (pipeline, status, int(not (st and st.closed)), tx.now, ticket_id))
    system_note(tx, ticket_id, f"moved to pipeline {pipeline} ({status})", agent_id)
    tx.event("ticket.pipeline", ticket_id, pipeline=pipeline, status=status)
    return True


class TicketsMixin:
    """Async ticket reads; mutations go through :class:`engine.service.Desk`."""

    @property
    def _search(self) -> SearchCache:
        cache = self.__dict__.get("_search_cache")
        if cache is None:
            cache = self.__dict__["_search_cache"] = SearchCache()
        return cache

    async def count_tickets(self, q: TicketQuery) -> int:
        return await self.read(count_tickets, q, self._search)  # type: ignore[attr-defined]

    async def page_tickets(self, q: TicketQuery, offset: int, limit: int,
                           total: int | None = None) -> list[Ticket]:
        return await self.read(  # type: ignore[attr-defined]
            page_tickets, q, offset, limit, total, self._search)

    async def index_of(self, q: TicketQuery, ticket_id: int) -> int | None:
        return await self.read(index_of, q, ticket_id, self._search)  # type: ignore[attr-defined]

    async def ticket_window(self, q: TicketQuery, keep: int | None, cursor: int,
                            place: Callable[[int, int], tuple[int, int]],
                            page_size: int) -> Window:
        """A queue window read in one snapshot (see :func:`~engine.store.queries.read_window`)."""
        return await self.read(  # type: ignore[attr-defined]
            read_window, q, keep, cursor, place, page_size, self._search)

    async def ticket(self, ticket_id: int) -> Ticket | None:
        return await self.read(get_ticket, ticket_id)  # type: ignore[attr-defined]

    async def messages(self, ticket_id: int) -> list[Message]:
        return await self.read(load_messages, ticket_id)  # type: ignore[attr-defined]

    async def count_channel_tickets(self, channel_id: int) -> int:
        """How many tickets a channel ever created (open or not)."""
        return await self.read(  # type: ignore[attr-defined]
            lambda c: c.execute("SELECT count(*) FROM tickets WHERE channel_id=?",
                                (channel_id,)).fetchone()[0])

    async def view_counts(self, agent_id: int | None) -> dict[str, int]:
        return await self.read(view_counts, agent_id)  # type: ignore[attr-defined]

    async def attachment_path(self, sha256: str):  # Path
        return self.blob_dir / sha256[:2] / sha256  # type: ignore[attr-defined]

    async def quarantine(self, limit: int = 100) -> list[dict]:
        def fn(c: sqlite3.Connection) -> list[dict]:
            return [
                {"id": r["id"], "at": dt(r["at"]), "channel_id": r["channel_id"],
                 "source": r["source"], "reason": r["reason"], "size": r["size"]}
                for r in c.execute(
                    "SELECT id, at, channel_id, source, reason, length(raw) AS size FROM quarantine"
                    " WHERE resolved=0 ORDER BY id DESC LIMIT ?", (limit,))
            ]

        return await self.read(fn)  # type: ignore[attr-defined]

    async def add_quarantine(self, source: str, reason: str, raw: bytes,
                             channel_id: int | None = None) -> int:
        def fn(tx: Tx) -> int:
            return quarantine_raw(tx, source, reason, raw, channel_id)

        return await self.write(fn)  # type: ignore[attr-defined]


def quarantine_raw(tx: Tx, source: str, reason: str, raw: bytes, channel_id: int | None) -> int:
    item_id = tx.insert(
        "INSERT INTO quarantine(at, channel_id, source, reason, raw) VALUES (?,?,?,?,?)",
        (tx.now, channel_id, source, reason, raw),
    )
    tx.event("quarantine.added", channel_id=channel_id, reason=reason, quarantine_id=item_id)
    return item_id

