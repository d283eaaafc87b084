"""The outbox rows: every SQL statement of outbound delivery (``engine.outbox`` drives them).

A row moves ``queued`` → ``sending`` → ``sent`` | ``queued`` (retry later) | ``failed``. A
``sending`` row names its ``owner`` (the delivering process, ``host:pid:nonce``) and carries a
``heartbeat_at`` the owner refreshes while the send runs; only a row whose owner is gone may be
put back in the queue, so a slow send in one process is never repeated by another.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

from engine.ingest_rules import notification_payload
from engine.store.db import StoreError, Tx


@dataclass
class OutboxItem:
    id: int
    kind: str  # "reply" | "notify" | "autoreply"
    channel_id: int | None
    ticket_id: int | None
    message_id: int | None
    idempotency_key: str
    payload: dict[str, Any]
    attempts: int
    state: str
    last_error: str | None
    owner: str | None = None
    heartbeat_at: float | None = None


class Sending(NamedTuple):
    """A row being delivered: who owns it and when it last said so."""

    id: int
    owner: str | None
    heartbeat_at: float | None


def row_item(r: sqlite3.Row) -> OutboxItem:
    return OutboxItem(
        id=r["id"], kind=r["kind"], channel_id=r["channel_id"], ticket_id=r["ticket_id"],
        message_id=r["message_id"], idempotency_key=r["idempotency_key"],
        payload=json.loads(r["payload"]), attempts=r["attempts"], state=r["state"],
        last_error=r["last_error"], owner=r["owner"], heartbeat_at=r["heartbeat_at"],
    )


def insert(tx: Tx, *, kind: str, payload: dict[str, Any], channel_id: int | None,
           ticket_id: int | None, message_id: int | None, key: str) -> int:
    """Queue one item under ``key``; an existing key returns its row (idempotent)."""
    row = tx.one(
        "INSERT INTO outbox(message_id, ticket_id, channel_id, kind, idempotency_key, payload,"
        " state, next_attempt_at, created_at) VALUES (?,?,?,?,?,?,'queued',?,?)"
        " ON CONFLICT(idempotency_key) DO NOTHING RETURNING id",
        (message_id, ticket_id, channel_id, kind, key, json.dumps(payload), tx.now, tx.now),
    )
    if row is None:
        return tx.scalar("SELECT id FROM outbox WHERE idempotency_key=?", (key,))
    tx.event("outbox.queued", ticket_id, outbox_id=row[0], item_kind=kind)
    return row[0]


def enqueue(tx: Tx, *, kind: str, payload: dict[str, Any], channel_id: int | None = None,
            ticket_id: int | None = None, message_id: int | None = None,
            key: str | None = None) -> int:
    """Queue one item; without a ``key`` it gets a fresh one (then it is never a duplicate)."""
    key = key or f"{kind}:{message_id or ''}:{secrets.token_hex(8)}"
    return insert(tx, kind=kind, payload=payload, channel_id=channel_id,
                  ticket_id=ticket_id, message_id=message_id, key=key)


def enqueue_notification(tx: Tx, agent_id: int, ticket_id: int, subject: str) -> int | None:
    """Tell an agent by email that a ticket was routed to them while they were away."""
    agent = tx.one("SELECT email, name FROM agents WHERE id=?", (agent_id,))
    if agent is None:
        return None
    return enqueue(tx, kind="notify", ticket_id=ticket_id, key=f"notify:{ticket_id}:{agent_id}",
                   payload=notification_payload(agent["name"], agent["email"], ticket_id, subject))


def due(conn: sqlite3.Connection, now: float, limit: int) -> list[OutboxItem]:
    return [row_item(r) for r in conn.execute(
        "SELECT * FROM outbox WHERE state='queued' AND next_attempt_at <= ?"
        " ORDER BY next_attempt_at, id LIMIT ?", (now, limit))]


def item(conn: sqlite3.Connection, outbox_id: int) -> OutboxItem | None:
    r = conn.execute("SELECT * FROM outbox WHERE id=?", (outbox_id,)).fetchone()
    return row_item(r) if r else None


def claim(tx: Tx, outbox_id: int, message_id: int | None, owner: str) -> bool:
    """``queued`` → ``sending`` owned by ``owner``; False when someone else got there first."""
    cur = tx.execute(
        "UPDATE outbox SET state='sending', attempts=attempts+1, owner=?, heartbeat_at=?"
        " WHERE id=? AND state='queued'", (owner, tx.now, outbox_id))
    if cur.rowcount and message_id:
        tx.execute("UPDATE messages SET delivery_state='sending' WHERE id=?", (message_id,))
    return bool(cur.rowcount)


def heartbeat(tx: Tx, ids: list[int], owner: str) -> int:
    """Say that ``owner`` is still delivering these rows."""
    if not ids:
        return 0
    marks = ",".join("?" * len(ids))
    return tx.execute(
        f"UPDATE outbox SET heartbeat_at=? WHERE state='sending' AND owner=? AND id IN ({marks})",
        (tx.now, owner, *ids)).rowcount


def sending(conn: sqlite3.Connection) -> list[Sending]:
    """``id, owner, heartbeat_at`` of every row being delivered (cheap: the state index)."""
    return [Sending(*r) for r in conn.execute(
        "SELECT id, owner, heartbeat_at FROM outbox WHERE state='sending'")]


def requeue_orphans(tx: Tx, gone: Callable[[str | None, float | None, float], bool]) -> list[int]:
    """Put back in the queue every ``sending`` row whose owner ``gone(owner, heartbeat, now)``.

    Decided inside the write transaction, so an owner's heartbeat cannot slip in between the
    look and the update. The attempt stays counted; the key and Message-ID stay the same.
    """
    ids = [r["id"] for r in tx.all("SELECT id, owner, heartbeat_at FROM outbox WHERE state='sending'")
           if gone(r["owner"], r["heartbeat_at"], tx.now)]
    for oid in ids:
        tx.execute("UPDATE outbox SET state='queued', next_attempt_at=?, owner=NULL,"
                   " heartbeat_at=NULL, last_error=coalesce(last_error, 'interrupted')"
                   " WHERE id=? AND state='sending'", (tx.now, oid))
        row = tx.row("SELECT ticket_id, message_id FROM outbox WHERE id=?", (oid,))
        if row["message_id"]:
            tx.execute("UPDATE messages SET delivery_state='queued' WHERE id=?", (row["message_id"],))
        tx.event("message.delivery", row["ticket_id"], message_id=row["message_id"],
                 outbox_id=oid, state="queued", error="its sender stopped; sending again")
    return ids


def _owned(owner: str | None) -> tuple[str, tuple[Any, ...]]:
    """SQL that keeps a late writer from overwriting a row another process now owns."""
    return (" AND (owner IS NULL OR owner=?)", (owner,)) if owner else ("", ())


def mark_sent(tx: Tx, item: OutboxItem, external_id: str | None) -> None:
    tx.execute("UPDATE outbox SET state='sent', sent_at=?, last_error=NULL, heartbeat_at=NULL"
               " WHERE id=?", (tx.now, item.id))
    if item.message_id:
        tx.execute(
            "UPDATE messages SET delivery_state='sent', delivery_error=NULL,"
            " external_id=coalesce(?, external_id) WHERE id=?",
            (external_id, item.message_id),
        )
    tx.event("message.delivery", item.ticket_id, message_id=item.message_id,
             outbox_id=item.id, state="sent")


def _mirror(tx: Tx, item: OutboxItem, state: str, error: str, **extra: Any) -> None:
    """Show a delivery state on the message row and in the event log."""
    if item.message_id:
        tx.execute("UPDATE messages SET delivery_state=?, delivery_error=? WHERE id=?",
                   (state, error, item.message_id))
    tx.event("message.delivery", item.ticket_id, message_id=item.message_id,
             outbox_id=item.id, state=state, error=error, **extra)


def mark_requeued(tx: Tx, item: OutboxItem, attempts: int, error: str, delay: float,
                  owner: str | None = None) -> None:
    cond, args = _owned(owner)
    cur = tx.execute("UPDATE outbox SET state='queued', next_attempt_at=?, last_error=?, owner=NULL,"
                     f" heartbeat_at=NULL WHERE id=?{cond}", (tx.now + delay, error, item.id, *args))
    if cur.rowcount:
        _mirror(tx, item, "queued", error, attempts=attempts)


def mark_failed(tx: Tx, item: OutboxItem, error: str, owner: str | None = None) -> None:
    cond, args = _owned(owner)
    cur = tx.execute("UPDATE outbox SET state='failed', last_error=?, heartbeat_at=NULL"
                     f" WHERE id=?{cond}", (error, item.id, *args))
    if cur.rowcount:
        _mirror(tx, item, "failed", error)


def retry(tx: Tx, outbox_id: int | None, message_id: int | None) -> int:
    """Put a failed (or waiting) item back at the front of the queue."""
    if outbox_id is not None:
        row = tx.one("SELECT * FROM outbox WHERE id=?", (outbox_id,))
    else:
        row = tx.one("SELECT * FROM outbox WHERE message_id=? ORDER BY id DESC LIMIT 1",
                     (message_id,))
    if row is None:
        raise StoreError("nothing to retry: no outbound delivery for that message")
    if row["state"] == "sent":
        raise StoreError("that message was already sent")
    if row["state"] == "sending":
        raise StoreError("that message is being sent right now")
    tx.execute("UPDATE outbox SET state='queued', attempts=0, next_attempt_at=? WHERE id=?",
               (tx.now, row["id"]))
    if row["message_id"]:
        tx.execute("UPDATE messages SET delivery_state='queued' WHERE id=?", (row["message_id"],))
    tx.event("message.delivery", row["ticket_id"], message_id=row["message_id"],
             outbox_id=row["id"], state="queued")
    return row["id"]


def pending(conn: sqlite3.Connection) -> int:
    """Items still waiting to leave (queued or being sent)."""
    return conn.execute("SELECT count(*) FROM outbox WHERE state IN ('queued','sending')"
                        ).fetchone()[0]


class OutboxMixin:
    """The outbox's typed operations, mixed into ``Store`` (``engine.outbox`` drives them)."""

    async def enqueue_outbox(self, kind: str, *, payload: dict[str, Any],
                             channel_id: int | None = None, ticket_id: int | None = None,
                             message_id: int | None = None, key: str | None = None) -> int:
        """Queue one outbound item (idempotent by ``key``: a known key returns its row)."""
        return await self.write(  # type: ignore[attr-defined]
            lambda tx: enqueue(tx, kind=kind, payload=payload, channel_id=channel_id,
                               ticket_id=ticket_id, message_id=message_id, key=key))

    async def outbox_sending(self) -> list[Sending]:
        return await self.read(sending)  # type: ignore[attr-defined]

    async def requeue_orphaned_outbox(
            self, gone: Callable[[str | None, float | None, float], bool]) -> list[int]:
        """Queue again every row being sent whose owner ``gone(owner, heartbeat_at, now)``."""
        return await self.write(requeue_orphans, gone)  # type: ignore[attr-defined]

    async def outbox_due(self, limit: int, now: float | None = None) -> list[OutboxItem]:
        """Queued items whose time has come, the most overdue first."""
        return await self.read(  # type: ignore[attr-defined]
            due, time.time() if now is None else now, limit)

    async def outbox_item(self, outbox_id: int) -> OutboxItem | None:
        return await self.read(item, outbox_id)  # type: ignore[attr-defined]

    async def outbox_pending(self) -> int:
        return await self.read(pending)  # type: ignore[attr-defined]

    async def outbox_heartbeat(self, ids: list[int], owner: str) -> int:
        return await self.write(heartbeat, ids, owner)  # type: ignore[attr-defined]

    async def claim_outbox(self, outbox_id: int, message_id: int | None, owner: str) -> bool:
        return await self.write(claim, outbox_id, message_id, owner)  # type: ignore[attr-defined]

    async def outbox_sent(self, item: OutboxItem, external_id: str | None) -> None:
        await self.write(mark_sent, item, external_id)  # type: ignore[attr-defined]

    async def outbox_requeued(self, item: OutboxItem, attempts: int, error: str, delay: float,
                              owner: str | None = None) -> None:
        await self.write(  # type: ignore[attr-defined]
            mark_requeued, item, attempts, error, delay, owner)

    async def outbox_failed(self, item: OutboxItem, error: str, owner: str | None = None) -> None:
        await self.write(mark_failed, item, error, owner)  # type: ignore[attr-defined]

    async def retry_outbox(self, outbox_id: int | None = None,
                           message_id: int | None = None) -> int:
        """Put a failed (or waiting) item back at the front of the queue; returns its id."""
        return await self.write(retry, outbox_id, message_id)  # type: ignore[attr-defined]
