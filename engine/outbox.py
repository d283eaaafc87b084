"""Outbound delivery: queued in the store, sent by per-kind senders, retried with backoff.

Each item has an idempotency key and, for email, a Message-ID fixed when it is queued: if the
process dies between the send and the commit, the retry carries the same Message-ID, so the
receiving side (and our own threading) sees one message, not two.

States: ``queued`` → ``sending`` → ``sent`` | back to ``queued`` with backoff | ``failed``
after :data:`MAX_ATTEMPTS` (or at once for a permanent error). ``retry`` puts a failed item
back in the queue. The message row mirrors the state so the thread shows it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import sqlite3
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from engine.store import Store, StoreError
from engine.store.db import Tx

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 6
BASE_DELAY = 2.0  # seconds; doubles each attempt
MAX_DELAY = 600.0


class PermanentError(Exception):
    """A send that will never succeed as it is (bad address, no channel): no retries."""


@dataclass
class OutboxItem:
    id: int
    kind: str  # "reply" | "notify"
    channel_id: int | None
    ticket_id: int | None
    message_id: int | None
    idempotency_key: str
    payload: dict[str, Any]
    attempts: int
    state: str
    last_error: str | None


Sender = Callable[[OutboxItem], Awaitable[str | None]]


def backoff(attempts: int) -> float:
    return min(MAX_DELAY, BASE_DELAY * (2 ** max(0, attempts - 1)))


def enqueue(tx: Tx, *, kind: str, payload: dict[str, Any], channel_id: int | None = None,
            ticket_id: int | None = None, message_id: int | None = None,
            key: str | None = None) -> int:
    key = key or f"{kind}:{message_id or ''}:{secrets.token_hex(8)}"
    cur = tx.execute(
        "INSERT INTO outbox(message_id, ticket_id, channel_id, kind, idempotency_key, payload,"
        " state, next_attempt_at, created_at) VALUES (?,?,?,?,?,?,'queued',?,?)"
        " ON CONFLICT(idempotency_key) DO NOTHING",
        (message_id, ticket_id, channel_id, kind, key, json.dumps(payload), tx.now, tx.now),
    )
    if cur.rowcount == 0:
        return tx.one("SELECT id FROM outbox WHERE idempotency_key=?", (key,))[0]
    tx.event("outbox.queued", ticket_id, outbox_id=cur.lastrowid, item_kind=kind)
    return cur.lastrowid


def enqueue_notification(tx: Tx, agent_id: int, ticket_id: int, subject: str) -> int | None:
    """Tell an agent by email that a ticket was routed to them while they were away."""
    agent = tx.one("SELECT email, name FROM agents WHERE id=?", (agent_id,))
    if agent is None:
        return None
    payload = {
        "to": agent["email"], "to_name": agent["name"],
        "subject": f"[#{ticket_id}] assigned to you: {subject}",
        "text": (f"Hi {agent['name'].split()[0] if agent['name'] else ''},\n\n"
                 f"Ticket #{ticket_id} \"{subject}\" from one of your contacts was assigned to you"
                 " while you were away.\n\n— ticketty"),
    }
    return enqueue(tx, kind="notify", payload=payload, ticket_id=ticket_id,
                   key=f"notify:{ticket_id}:{agent_id}")


def _row_item(r: sqlite3.Row) -> OutboxItem:
    return OutboxItem(
        id=r["id"], kind=r["kind"], channel_id=r["channel_id"], ticket_id=r["ticket_id"],
        message_id=r["message_id"], idempotency_key=r["idempotency_key"],
        payload=json.loads(r["payload"]), attempts=r["attempts"], state=r["state"],
        last_error=r["last_error"],
    )


class Outbox:
    """Runs due items through the registered senders. One instance per engine (the leader)."""

    def __init__(self, store: Store, senders: dict[str, Sender] | None = None,
                 resolve: Callable[[OutboxItem], Awaitable[Sender | None]] | None = None):
        self.store = store
        self.senders = dict(senders or {})
        self.resolve = resolve  # finds the sender for an item (by its channel's kind)
        self._wake = asyncio.Event()

    def wake(self) -> None:
        self._wake.set()

    async def sender_for(self, item: OutboxItem) -> Sender | None:
        if self.resolve is not None:
            sender = await self.resolve(item)
            if sender is not None:
                return sender
        return self.senders.get(item.kind)

    async def recover(self) -> int:
        """Items left 'sending' by a dead process go back to the queue (same key, same ID)."""

        def fn(tx: Tx) -> int:
            return tx.execute(
                "UPDATE outbox SET state='queued', next_attempt_at=? WHERE state='sending'",
                (tx.now,),
            ).rowcount

        return await self.store.write(fn)

    async def due(self, limit: int = 20) -> list[OutboxItem]:
        now = time.time()

        def fn(c: sqlite3.Connection) -> list[OutboxItem]:
            return [_row_item(r) for r in c.execute(
                "SELECT * FROM outbox WHERE state='queued' AND next_attempt_at <= ?"
                " ORDER BY next_attempt_at, id LIMIT ?", (now, limit))]

        return await self.store.read(fn)

    async def item(self, outbox_id: int) -> OutboxItem | None:
        def fn(c: sqlite3.Connection) -> OutboxItem | None:
            r = c.execute("SELECT * FROM outbox WHERE id=?", (outbox_id,)).fetchone()
            return _row_item(r) if r else None

        return await self.store.read(fn)

    async def deliver(self, item: OutboxItem) -> str:
        """Try to send one item now; returns the resulting state."""

        def claim(tx: Tx) -> bool:
            cur = tx.execute(
                "UPDATE outbox SET state='sending', attempts=attempts+1 WHERE id=? AND state='queued'",
                (item.id,),
            )
            if cur.rowcount and item.message_id:
                tx.execute("UPDATE messages SET delivery_state='sending' WHERE id=?", (item.message_id,))
            return bool(cur.rowcount)

        if not await self.store.write(claim):
            current = await self.item(item.id)
            return current.state if current else "missing"
        attempts = item.attempts + 1
        try:
            sender = await self.sender_for(item)
            if sender is None:
                raise PermanentError(f"no sender for {item.kind} items on this channel")
            external_id = await sender(item)
        except asyncio.CancelledError:
            await asyncio.shield(self.store.write(self._requeue, item, attempts, "interrupted", 0.0))
            raise
        except PermanentError as exc:
            await self.store.write(self._fail, item, str(exc))
            return "failed"
        except Exception as exc:  # noqa: BLE001 - any send error is retried, then reported
            error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            if attempts >= MAX_ATTEMPTS:
                await self.store.write(self._fail, item, error)
                return "failed"
            await self.store.write(self._requeue, item, attempts, error, backoff(attempts))
            return "queued"
        await self.store.write(self._sent, item, external_id)
        return "sent"

    @staticmethod
    def _sent(tx: Tx, item: OutboxItem, external_id: str | None) -> None:
        tx.execute("UPDATE outbox SET state='sent', sent_at=?, last_error=NULL WHERE id=?",
                   (tx.now, item.id))
        if item.message_id:
            tx.execute(
                "UPDATE messages SET delivery_state='sent', delivery_error=NULL,"
                " external_id=coalesce(?, external_id) WHERE id=?",
                (external_id, item.message_id),
            )
        tx.event("message.delivery", item.ticket_id, message_id=item.message_id,
                 outbox_id=item.id, state="sent")

    @staticmethod
    def _requeue(tx: Tx, item: OutboxItem, attempts: int, error: str, delay: float) -> None:
        tx.execute("UPDATE outbox SET state='queued', next_attempt_at=?, last_error=? WHERE id=?",
                   (tx.now + delay, error, item.id))
        if item.message_id:
            tx.execute("UPDATE messages SET delivery_state='queued', delivery_error=? WHERE id=?",
                       (error, item.message_id))
        tx.event("message.delivery", item.ticket_id, message_id=item.message_id,
                 outbox_id=item.id, state="queued", error=error, attempts=attempts)

    @staticmethod
    def _fail(tx: Tx, item: OutboxItem, error: str) -> None:
        tx.execute("UPDATE outbox SET state='failed', last_error=? WHERE id=?", (error, item.id))
        if item.message_id:
            tx.execute("UPDATE messages SET delivery_state='failed', delivery_error=? WHERE id=?",
                       (error, item.message_id))
        tx.event("message.delivery", item.ticket_id, message_id=item.message_id,
                 outbox_id=item.id, state="failed", error=error)

    async def retry(self, *, outbox_id: int | None = None, message_id: int | None = None) -> int:
        """Put a failed (or waiting) item back at the front of the queue."""

        def fn(tx: Tx) -> int:
            if outbox_id is not None:
                row = tx.one("SELECT * FROM outbox WHERE id=?", (outbox_id,))
            else:
                row = tx.one("SELECT * FROM outbox WHERE message_id=? ORDER BY id DESC LIMIT 1",
                             (message_id,))
            if row is None:
                raise StoreError("nothing to retry: no outbound delivery for that message")
            if row["state"] == "sent":
                raise StoreError("that message was already sent")
            tx.execute("UPDATE outbox SET state='queued', attempts=0, next_attempt_at=? WHERE id=?",
                       (tx.now, row["id"]))
            if row["message_id"]:
                tx.execute("UPDATE messages SET delivery_state='queued' WHERE id=?", (row["message_id"],))
            tx.event("message.delivery", row["ticket_id"], message_id=row["message_id"],
                     outbox_id=row["id"], state="queued")
            return row["id"]

        oid = await self.store.write(fn)
        self.wake()
        return oid

    async def run_once(self) -> int:
        items = await self.due()
        for item in items:
            await self.deliver(item)
        return len(items)

    async def run(self, interval: float = 1.0) -> None:
        """Deliver due items forever (the engine runs this while it holds the lease)."""
        await self.recover()
        while True:
            try:
                await self.run_once()
            except Exception:  # noqa: BLE001 - the loop must survive a bad item
                log.exception("outbox pass failed")
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), interval)
