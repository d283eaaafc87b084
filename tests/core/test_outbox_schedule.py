"""The outbox's delivery rules on a real store: the exact retry schedule, the attempt limit,
what each outcome writes (outbox row, message row, event), and two owners of one row.

Each test moves one reply through :meth:`Outbox.deliver` and reads back what a caller (the
thread view, ``ticketty outbox``, another process) relies on.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time

import pytest

import engine.outbox as outbox_mod
from engine.desk import Desk
from engine.models import Channel
from engine.outbox import MAX_ATTEMPTS, Outbox, PermanentError


async def _reply(store, channel: bool = True) -> tuple[int, int]:
    """A queued reply on a new ticket: ``(message id, outbox id)``."""
    if channel:
        await store.add_channel(Channel(kind="email", name="Mail",
                                        settings={"address": "h@acme.test"}))
    desk = Desk(store, await store.agent("admin@example.com"))
    r = await desk.create_ticket(subject="x", from_email="c@example.com")
    return await desk.reply(r.ticket_id, "hello")


async def _row(store, oid: int) -> dict:
    return await store.read(lambda c: dict(c.execute(
        "SELECT state, attempts, next_attempt_at, last_error, owner, heartbeat_at"
        " FROM outbox WHERE id=?", (oid,)).fetchone()))


async def _message(store, mid: int) -> tuple[str, str | None]:
    return await store.read(lambda c: tuple(c.execute(
        "SELECT delivery_state, delivery_error FROM messages WHERE id=?", (mid,)).fetchone()))


async def _deliveries(store, oid: int) -> list[dict]:
    """The ``message.delivery`` events of one outbox row, oldest first."""
    rows = await store.read(lambda c: c.execute(
        "SELECT data FROM events WHERE kind='message.delivery' ORDER BY id").fetchall())
    return [d for d in (json.loads(r[0]) for r in rows) if d.get("outbox_id") == oid]


def _failing(exc: BaseException):
    async def send(item):
        raise exc
    return send


async def test_each_transient_failure_waits_exactly_the_doubling_delay(store):
    mid, oid = await _reply(store)
    outbox = Outbox(store, senders={"reply": _failing(ConnectionError("smtp down"))})
    for attempt, delay in enumerate([2.0, 4.0, 8.0, 16.0, 32.0], start=1):
        before = time.time()
        assert await outbox.deliver(await outbox.item(oid)) == "queued"
        after = time.time()
        row = await _row(store, oid)
        assert before + delay <= row["next_attempt_at"] <= after + delay
        assert row["state"] == "queued" and row["attempts"] == attempt
        assert row["owner"] is None and row["heartbeat_at"] is None
        assert row["last_error"] == "ConnectionError: smtp down"
        assert await _message(store, mid) == ("queued", "ConnectionError: smtp down")
        assert (await _deliveries(store, oid))[-1] == {
            "message_id": mid, "outbox_id": oid, "state": "queued",
            "error": "ConnectionError: smtp down", "attempts": attempt}
        await store.write(lambda tx: tx.execute("UPDATE outbox SET next_attempt_at=0"))
    # the sixth attempt is the last: failed for good, no next attempt
    assert await outbox.deliver(await outbox.item(oid)) == "failed"
    row = await _row(store, oid)
    assert row["state"] == "failed" and row["attempts"] == MAX_ATTEMPTS == 6
    assert row["heartbeat_at"] is None and row["last_error"] == "ConnectionError: smtp down"
    assert await _message(store, mid) == ("failed", "ConnectionError: smtp down")
    assert (await _deliveries(store, oid))[-1] == {
        "message_id": mid, "outbox_id": oid, "state": "failed", "error": "ConnectionError: smtp down"}
    assert await outbox.due() == []


async def test_the_limit_counts_attempts_already_made(store, monkeypatch):
    """An item with attempts left goes back to the queue; one at its last attempt fails."""
    monkeypatch.setattr(outbox_mod, "MAX_ATTEMPTS", 3)
    _, oid = await _reply(store)
    outbox = Outbox(store, senders={"reply": _failing(OSError("refused"))})
    await store.write(lambda tx: tx.execute("UPDATE outbox SET attempts=1 WHERE id=?", (oid,)))
    assert await outbox.deliver(await outbox.item(oid)) == "queued"  # attempt 2 of 3
    await store.write(lambda tx: tx.execute("UPDATE outbox SET next_attempt_at=0"))
    assert await outbox.deliver(await outbox.item(oid)) == "failed"  # attempt 3 of 3
    assert (await _row(store, oid))["attempts"] == 3


async def test_an_error_without_text_is_named_by_its_type(store):
    mid, oid = await _reply(store)
    outbox = Outbox(store, senders={"reply": _failing(TimeoutError())})
    assert await outbox.deliver(await outbox.item(oid)) == "queued"
    assert (await _row(store, oid))["last_error"] == "TimeoutError"
    assert await _message(store, mid) == ("queued", "TimeoutError")


async def test_a_permanent_error_and_a_missing_sender_fail_at_once(store, caplog):
    mid, oid = await _reply(store)
    outbox = Outbox(store, senders={})
    with caplog.at_level(logging.WARNING, logger="engine.outbox"):
        assert await outbox.deliver(await outbox.item(oid)) == "failed"
    row = await _row(store, oid)
    assert row["state"] == "failed" and row["attempts"] == 1
    assert row["last_error"] == "no sender for reply items on this channel"
    assert await _message(store, mid) == ("failed", "no sender for reply items on this channel")
    assert [r.getMessage() for r in caplog.records] == [
        f"outbox: item {oid} failed for good: no sender for reply items on this channel"]

    await outbox.retry(outbox_id=oid)
    outbox.senders["reply"] = _failing(PermanentError("550 no such user"))
    assert await outbox.deliver(await outbox.item(oid)) == "failed"
    assert (await _row(store, oid))["last_error"] == "550 no such user"


async def test_the_last_failure_is_logged_with_its_attempts(store, caplog, monkeypatch):
    monkeypatch.setattr(outbox_mod, "MAX_ATTEMPTS", 2)
    _, oid = await _reply(store)
    outbox = Outbox(store, senders={"reply": _failing(ConnectionError("down"))})
    with caplog.at_level(logging.INFO, logger="engine.outbox"):
        await outbox.deliver(await outbox.item(oid))
        await store.write(lambda tx: tx.execute("UPDATE outbox SET next_attempt_at=0"))
        await outbox.deliver(await outbox.item(oid))
    assert [(r.levelno, r.getMessage()) for r in caplog.records] == [
        (logging.INFO, f"outbox: item {oid} not sent (attempt 1), retrying later: "
                       "ConnectionError: down"),
        (logging.WARNING, f"outbox: item {oid} failed after 2 attempts: ConnectionError: down")]


async def test_a_sent_item_records_the_external_id_and_logs_it(store, caplog):
    mid, oid = await _reply(store)
    outbox = Outbox(store, senders={"reply": lambda item: asyncio.sleep(0, "<ext@x>")})
    with caplog.at_level(logging.INFO, logger="engine.outbox"):
        assert await outbox.deliver(await outbox.item(oid)) == "sent"
    assert [r.getMessage() for r in caplog.records] == [f"outbox: item {oid} (reply) sent"]
    row = await _row(store, oid)
    assert row["state"] == "sent" and row["last_error"] is None
    assert await _message(store, mid) == ("sent", None)
    assert next(m for m in await store.messages(1) if m.id == mid).external_id == "<ext@x>"


async def test_a_resolved_sender_wins_and_the_kind_table_is_the_fallback(store):
    _, oid = await _reply(store)
    used: list[str] = []

    def named(name: str):
        async def send(item):
            used.append(name)
            return None
        return send

    async def resolve_none(item):
        return None

    async def resolve_channel(item):  # a channel's own sender, for its items only
        return named("channel") if item.id == oid and item.kind == "reply" else None

    by_kind = Outbox(store, senders={"reply": named("kind")}, resolve=resolve_none)
    item = await by_kind.item(oid)
    assert await by_kind.sender_for(item) is by_kind.senders["reply"]
    by_channel = Outbox(store, senders={"reply": named("kind")}, resolve=resolve_channel)
    assert await by_channel.deliver(item) == "sent"
    assert used == ["channel"]


async def test_an_item_another_owner_claimed_is_not_sent_twice(store):
    _, oid = await _reply(store)
    calls: list[int] = []

    async def send(item):
        calls.append(item.id)
        return None

    first, second = Outbox(store, senders={"reply": send}), Outbox(store, senders={"reply": send})
    assert first.owner != second.owner
    item = await first.item(oid)
    assert await store.claim_outbox(oid, item.message_id, first.owner)
    assert await second.deliver(item) == "sending"  # the state it found, nothing sent
    assert calls == []
    row = await _row(store, oid)
    assert row["owner"] == first.owner and row["attempts"] == 1
    await store.write(lambda tx: tx.execute("DELETE FROM outbox WHERE id=?", (oid,)))
    assert await second.deliver(item) == "missing"


@pytest.mark.parametrize("outcome", ["transient", "last attempt", "permanent", "cancelled"])
async def test_a_late_result_never_overwrites_a_row_another_owner_took(store, outcome):
    """A slow send whose row was recovered and claimed by another process: when it finally
    ends, its result leaves the other owner's row alone."""
    mid, oid = await _reply(store)
    if outcome == "last attempt":
        await store.write(lambda tx: tx.execute("UPDATE outbox SET attempts=? WHERE id=?",
                                                (MAX_ATTEMPTS - 1, oid)))
    started, release = asyncio.Event(), asyncio.Event()

    async def slow(item):
        started.set()
        await release.wait()
        if outcome == "permanent":
            raise PermanentError("550")
        raise ConnectionError("late")

    first = Outbox(store, senders={"reply": slow})
    task = asyncio.ensure_future(first.deliver(await first.item(oid)))
    await asyncio.wait_for(started.wait(), 5)
    other = Outbox(store, senders={})
    await store.write(lambda tx: tx.execute(
        "UPDATE outbox SET owner=?, heartbeat_at=? WHERE id=?", (other.owner, time.time(), oid)))
    if outcome == "cancelled":
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    else:
        release.set()
        assert await task == ("queued" if outcome == "transient" else "failed")
    row = await _row(store, oid)
    assert row["state"] == "sending" and row["owner"] == other.owner and row["last_error"] is None
    assert (await _message(store, mid))[0] == "sending"


async def test_a_cancelled_send_goes_back_to_the_queue_due_at_once(store):
    mid, oid = await _reply(store)
    started = asyncio.Event()

    async def hang(item):
        started.set()
        await asyncio.Event().wait()

    outbox = Outbox(store, senders={"reply": hang})
    task = asyncio.ensure_future(outbox.deliver(await outbox.item(oid)))
    await asyncio.wait_for(started.wait(), 5)
    assert (await _row(store, oid))["owner"] == outbox.owner
    before = time.time()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    row = await _row(store, oid)
    assert row["state"] == "queued" and row["attempts"] == 1  # the attempt stays counted
    assert row["last_error"] == "interrupted" and row["owner"] is None
    assert before - 1 <= row["next_attempt_at"] <= time.time()  # no backoff
    assert await _message(store, mid) == ("queued", "interrupted")
    assert (await _deliveries(store, oid))[-1] == {
        "message_id": mid, "outbox_id": oid, "state": "queued", "error": "interrupted",
        "attempts": 1}
    assert [i.id for i in await outbox.due()] == [oid]


async def test_recovery_requeues_only_the_gone_rows_and_logs_a_live_one_once(store, caplog):
    _, a = await _reply(store)
    _, b = await _reply(store, channel=False)
    now = time.time()
    outbox = Outbox(store, senders={})
    await store.write(lambda tx: tx.execute(
        "UPDATE outbox SET state='sending', owner='elsewhere:1:abc', heartbeat_at=? WHERE id=?",
        (now, a)))
    await store.write(lambda tx: tx.execute(
        "UPDATE outbox SET state='sending', owner='elsewhere:2:abc', heartbeat_at=? WHERE id=?",
        (now - outbox_mod.SENDING_STALE - 5, b)))
    with caplog.at_level(logging.INFO, logger="engine.outbox"):
        assert await outbox.recover() == 1
        assert await outbox.recover() == 0
    assert (await _row(store, a))["state"] == "sending"
    assert (await _row(store, b))["state"] == "queued"
    assert [r.getMessage() for r in caplog.records] == [
        f"outbox: item {a} is being sent by another live process (elsewhere:1:abc), left alone",
        "outbox: 1 item(s) left sending by a stopped process queued again"]


async def test_recovery_leaves_this_outboxs_own_rows_unlogged(store, caplog):
    _, oid = await _reply(store)
    outbox = Outbox(store, senders={}, owner="elsewhere:9:own")
    assert outbox.owner == "elsewhere:9:own"
    await store.write(lambda tx: tx.execute(
        "UPDATE outbox SET state='sending', owner='elsewhere:9:own', heartbeat_at=? WHERE id=?",
        (time.time(), oid)))
    with caplog.at_level(logging.INFO, logger="engine.outbox"):
        assert await outbox.recover() == 0
    assert caplog.records == []


def test_an_owner_is_host_pid_and_a_nonce():
    import os
    import socket

    host, pid, nonce = outbox_mod.new_owner().split(":")
    assert (host, pid) == (socket.gethostname(), str(os.getpid()))
    assert len(nonce) == 6 and outbox_mod.new_owner() != outbox_mod.new_owner()


def test_an_owner_is_gone_exactly_after_the_stale_time():
    now = 1000.0
    assert not outbox_mod.owner_gone("elsewhere:1:x", now - 15.0, now)
    assert outbox_mod.owner_gone("elsewhere:1:x", now - 15.01, now)
    assert outbox_mod.owner_gone("elsewhere:1:x", None, now)
    assert not outbox_mod.owner_gone("elsewhere:1:x", now - 20, now, stale=30)
    assert outbox_mod.owner_gone("", now, now)


async def test_recovery_with_only_live_senders_takes_no_write_lock(db_path, store):
    """The runner looks for orphans every few seconds: while every ``sending`` row has a live
    owner it must not queue behind another process's write transaction."""
    import sqlite3

    _, oid = await _reply(store)
    await store.write(lambda tx: tx.execute(
        "UPDATE outbox SET state='sending', owner='elsewhere:1:abc', heartbeat_at=? WHERE id=?",
        (time.time(), oid)))
    writer = sqlite3.connect(db_path, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")  # another process is in the middle of a write
    try:
        assert await asyncio.wait_for(Outbox(store, senders={}).recover(), 3.0) == 0
    finally:
        writer.execute("ROLLBACK")
        writer.close()
