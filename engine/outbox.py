"""Outbound delivery: queued in the store, sent by per-kind senders, retried with backoff.

Each item has an idempotency key and, for email, a Message-ID fixed when it is queued: if the
process dies between the send and the commit, the retry carries the same Message-ID, so the
receiving side (and our own threading) sees one message, not two.

States: ``queued`` → ``sending`` → ``sent`` | back to ``queued`` with backoff | ``failed``
after :data:`MAX_ATTEMPTS` (or at once for a permanent error). ``retry`` puts a failed item
back in the queue. The message row mirrors the state so the thread shows it.

Several processes deliver from one database (the runner engine, ``ticketty tickets reply``),
so a ``sending`` row names its owner (:func:`new_owner`) and the owner refreshes a heartbeat
every :data:`HEARTBEAT_EVERY` seconds while the send runs. :meth:`Outbox.recover` puts back in
the queue only rows whose owner is gone — a process on this host that no longer exists, or no
heartbeat for :data:`SENDING_STALE` seconds — never one that a live process is still sending
through a slow server. The rows and their SQL live in :mod:`engine.store.outbox`; this module
only calls the store's typed outbox methods.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
import time
from collections.abc import Awaitable, Callable

from engine.store import Store
from engine.store import outbox as rows
from engine.store.outbox import OutboxItem, enqueue

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 6
BASE_DELAY = 2.0  # seconds; doubles each attempt
MAX_DELAY = 600.0
HEARTBEAT_EVERY = 2.0  # seconds between "still sending" marks of a row being delivered
SENDING_STALE = 15.0  # a 'sending' row without a heartbeat for this long has lost its owner
RECOVER_EVERY = 5.0  # seconds between the runner's looks for rows whose owner is gone


class PermanentError(Exception):
    """A send that will never succeed as it is (bad address, no channel): no retries."""


Sender = Callable[[OutboxItem], Awaitable[str | None]]


def backoff(attempts: int) -> float:
    return min(MAX_DELAY, BASE_DELAY * (2 ** max(0, attempts - 1)))


def new_owner() -> str:
    """A name for this process as the owner of rows it sends: ``host:pid:nonce``."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: it exists
    return True


def owner_gone(owner: str | None, heartbeat_at: float | None, now: float,
               stale: float = SENDING_STALE) -> bool:
    """Whether the process that claimed a ``sending`` row can no longer finish it.

    A row without an owner (written before owners were recorded) counts as abandoned; a row
    owned by a process of this host that no longer exists is abandoned at once; any other
    owner is trusted while its heartbeat is younger than ``stale``.
    """
    if not owner:
        return True
    host, _, rest = owner.partition(":")
    pid = rest.partition(":")[0]
    if host == socket.gethostname() and pid.isdigit() and not _pid_alive(int(pid)):
        return True
    return heartbeat_at is None or now - heartbeat_at > stale


class Outbox:
    """Runs due items through the registered senders.

    One per delivering process: the runner engine, or a CLI command sending one reply now.
    ``owner`` names this process on the rows it claims (default: :func:`new_owner`).
    """

    def __init__(self, store: Store, senders: dict[str, Sender] | None = None,
                 resolve: Callable[[OutboxItem], Awaitable[Sender | None]] | None = None,
                 owner: str | None = None):
        self.store = store
        self.senders = dict(senders or {})
        self.resolve = resolve  # finds the sender for an item (by its channel's kind)
        self.owner = owner or new_owner()
        self._wake = asyncio.Event()
        self._seen_live: set[tuple[int, str | None]] = set()  # rows of other live senders, logged once
        self._run: object | None = None  # the current run() loop; others end after their send

    def wake(self) -> None:
        self._wake.set()

    async def sender_for(self, item: OutboxItem) -> Sender | None:
        if self.resolve is not None:
            sender = await self.resolve(item)
            if sender is not None:
                return sender
        return self.senders.get(item.kind)

    async def recover(self) -> int:
        """Rows left ``sending`` by a process that is gone go back to the queue (same key, same
        Message-ID); rows a live process is still sending are left alone."""
        now = time.time()
        found = await self.store.outbox_sending()
        for r in found:
            if r.owner != self.owner and (r.id, r.owner) not in self._seen_live \
                    and not owner_gone(r.owner, r.heartbeat_at, now):
                self._seen_live.add((r.id, r.owner))
                log.info("outbox: item %d is being sent by another live process (%s), left alone",
                         r.id, r.owner)
        if not any(owner_gone(r.owner, r.heartbeat_at, now) for r in found):
            return 0  # the usual case: no write transaction at all
        ids = await self.store.requeue_orphaned_outbox(owner_gone)
        if ids:
            log.info("outbox: %d item(s) left sending by a stopped process queued again", len(ids))
        return len(ids)

    async def due(self, limit: int = 20) -> list[OutboxItem]:
        return await self.store.outbox_due(limit)  # due by now

    async def item(self, outbox_id: int) -> OutboxItem | None:
        return await self.store.outbox_item(outbox_id)

    async def _heartbeat(self, outbox_id: int) -> None:
        while True:
            await asyncio.sleep(HEARTBEAT_EVERY)
            try:
                await self.store.outbox_heartbeat([outbox_id], self.owner)
            except Exception as exc:  # a busy database: the next beat retries
                log.warning("outbox: heartbeat of item %d failed: %s", outbox_id, exc)

    async def deliver(self, item: OutboxItem) -> str:
        """Try to send one item now; returns the resulting state."""
        if not await self.store.claim_outbox(item.id, item.message_id, self.owner):
            current = await self.item(item.id)
            return current.state if current else "missing"
        attempts = item.attempts + 1
        beat = asyncio.ensure_future(self._heartbeat(item.id))
        try:
            sender = await self.sender_for(item)
            if sender is None:
                raise PermanentError(f"no sender for {item.kind} items on this channel")
            external_id = await sender(item)
        except asyncio.CancelledError:
            await asyncio.shield(self.store.outbox_requeued(
                item, attempts, "interrupted", 0.0, self.owner))
            raise
        except PermanentError as exc:
            await self.store.outbox_failed(item, str(exc), self.owner)
            log.warning("outbox: item %d failed for good: %s", item.id, exc)
            return "failed"
        except Exception as exc:  # any send error is retried, then reported
            error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            if attempts >= MAX_ATTEMPTS:
                await self.store.outbox_failed(item, error, self.owner)
                log.warning("outbox: item %d failed after %d attempts: %s", item.id, attempts, error)
                return "failed"
            await self.store.outbox_requeued(item, attempts, error, backoff(attempts), self.owner)
            log.info("outbox: item %d not sent (attempt %d), retrying later: %s",
                     item.id, attempts, error)
            return "queued"
        finally:
            beat.cancel()
            await asyncio.wait([beat])
        await self.store.outbox_sent(item, external_id)
        log.info("outbox: item %d (%s) sent", item.id, item.kind)
        return "sent"

    # kept as static methods: tests and tools move rows through these states directly
    _sent = staticmethod(rows.mark_sent)
    _requeue = staticmethod(rows.mark_requeued)
    _fail = staticmethod(rows.mark_failed)

    async def retry(self, *, outbox_id: int | None = None, message_id: int | None = None) -> int:
        """Put a failed (or waiting) item back at the front of the queue."""
        oid = await self.store.retry_outbox(outbox_id, message_id)
        self.wake()
        return oid

    async def run_once(self, run: object | None = None) -> int:
        """Deliver what is due now; stops between items once ``run`` is no longer current."""
        items = await self.due()
        for item in items:
            if run is not None and run is not self._run:
                break
            await self.deliver(item)
        return len(items)

    async def run(self, interval: float) -> None:
        """Deliver due items until :meth:`stop_taking` (the engine runs this while it holds the
        lease), looking again every ``interval`` seconds (``[engine] outbox_interval``) or at a
        :meth:`wake`; every :data:`RECOVER_EVERY` seconds, requeue rows whose sender has gone."""
        run = self._run = object()
        recovered_at = 0.0
        while run is self._run:
            self._wake.clear()  # before the pass: a wake during it means "look again"
            try:
                if time.monotonic() - recovered_at >= RECOVER_EVERY:
                    recovered_at = time.monotonic()
                    await self.recover()
                await self.run_once(run)
            except Exception:  # the loop must survive a bad item
                log.exception("outbox pass failed")
            if run is not self._run:
                break
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(interval):  # not wait_for: it can swallow a cancel
                    await self._wake.wait()

    def stop_taking(self) -> None:
        """Make :meth:`run` end once the send in flight (if any) is done: a process that
        stops being the runner finishes what it started instead of breaking it off."""
        self._run = None
        self._wake.set()


# ``enqueue`` (a function over an open transaction) is re-exported for the callers that still
# queue inside a transaction of their own (Desk.reply, the email channel's acknowledgement)
__all__ = ["MAX_ATTEMPTS", "Outbox", "OutboxItem", "PermanentError", "Sender", "backoff",
           "enqueue", "new_owner", "owner_gone"]
