"""Store: migrations, events (in-process and across processes), paging, leases, outbox."""

from __future__ import annotations

import asyncio
import sqlite3
import time

import pytest

from engine.config import Config, EngineConfig
from engine.desk import Desk
from engine.engine import Engine
from engine.models import Channel
from engine.outbox import MAX_ATTEMPTS, Outbox, PermanentError, backoff
from engine.store import Store, StoreError, TicketQuery
from engine.store.schema import MIGRATIONS


async def test_migrations_run_once_and_record_version(db_path):
    async with Store(db_path):
        pass
    async with Store(db_path):
        pass
    conn = sqlite3.connect(db_path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


async def test_events_reach_subscribers_in_process(store):
    queue = store.subscribe()
    desk = Desk(store, await store.agent("admin@example.com"))
    r = await desk.create_ticket(subject="Hi", from_email="c@example.com", body="x")
    kinds = []
    while not queue.empty():
        kinds.append(queue.get_nowait().kind)
    assert "ticket.created" in kinds and "message.added" in kinds
    await desk.close(r.ticket_id)
    assert any(queue.get_nowait().kind == "ticket.status" for _ in range(queue.qsize()))


async def test_other_process_sees_events_within_250ms(db_path, store):
    follower = Store(db_path)
    await follower.open()
    await follower.start_following()
    try:
        queue = follower.subscribe()
        await asyncio.sleep(0.1)
        t0 = time.monotonic()
        await Desk(store, await store.agent("admin@example.com")).create_ticket(
            subject="cross", from_email="c@example.com")
        event = await asyncio.wait_for(queue.get(), 1.0)
        assert event.kind in ("contact.created", "ticket.created")
        assert time.monotonic() - t0 < 0.25
    finally:
        await follower.close()


async def test_paging_from_both_ends_matches(store):
    desk = Desk(store, await store.agent("admin@example.com"))
    for i in range(30):
        await desk.create_ticket(subject=f"t{i}", from_email=f"c{i}@example.com")
    q = TicketQuery(view="open")
    total = await store.count_tickets(q)
    forward = [t.id for t in await store.page_tickets(q, 0, 30)]
    tail = [t.id for t in await store.page_tickets(q, 25, 10, total=total)]
    assert tail == forward[25:]
    assert await store.index_of(q, forward[7]) == 7


async def test_status_must_belong_to_pipeline(store):
    desk = Desk(store, await store.agent("admin@example.com"))
    r = await desk.create_ticket(subject="x", from_email="c@example.com")
    with pytest.raises(StoreError, match="not in pipeline"):
        await desk.set_status(r.ticket_id, "bogus")
    with pytest.raises(StoreError, match="no ticket #999"):
        await desk.close(999)


async def test_lease_single_runner_and_takeover(db_path):
    config = Config(engine=EngineConfig(http_port=0, lease_seconds=0.9))
    a = Engine(config, db_path)
    b = Engine(config, db_path)
    await a.__aenter__()
    try:
        assert await a.wait_leader(3)
        await b.__aenter__()
        await asyncio.sleep(0.8)
        assert not b.is_leader
        # the holder dies without releasing: stop renewing, keep the row
        for task in list(a._tasks):
            task.cancel()
        await a._stop_leading()
        t0 = time.monotonic()
        assert await b.wait_leader(5)
        assert time.monotonic() - t0 < 3
    finally:
        await b.__aexit__(None, None, None)
        a.is_leader = False
        await a.__aexit__(None, None, None)


async def _reply(store):
    await store.add_channel(Channel(kind="email", name="Mail", settings={"address": "h@acme.test"}))
    desk = Desk(store, await store.agent("admin@example.com"))
    r = await desk.create_ticket(subject="x", from_email="c@example.com")
    return await desk.reply(r.ticket_id, "hello")


async def _next_attempt_in(store, oid) -> float:
    due = await store.read(lambda c: c.execute(
        "SELECT next_attempt_at FROM outbox WHERE id=?", (oid,)).fetchone()[0])
    return due - time.time()


async def test_outbox_retries_with_backoff_then_fails_and_can_retry(store):
    mid, oid = await _reply(store)
    calls = []

    async def flaky(item):
        calls.append(item.attempts)
        raise ConnectionError("smtp down")

    outbox = Outbox(store, senders={"reply": flaky})
    states = []
    for attempt in range(1, MAX_ATTEMPTS + 1):
        states.append(await outbox.deliver(await outbox.item(oid)))
        item = await outbox.item(oid)
        assert item.last_error == "ConnectionError: smtp down" and item.attempts == attempt
        if attempt < MAX_ATTEMPTS:  # backing off by the exponential delay of this attempt
            assert await outbox.due() == []
            assert abs(await _next_attempt_in(store, oid) - backoff(attempt)) < 1.5
            await store.write(lambda tx: tx.execute("UPDATE outbox SET next_attempt_at=0"))
    # every attempt up to the limit was really made, and only the last one gave up
    assert states == ["queued"] * (MAX_ATTEMPTS - 1) + ["failed"]
    assert calls == list(range(MAX_ATTEMPTS))
    assert item.state == "failed"
    msg = next(m for m in await store.messages(1) if m.id == mid)
    assert msg.delivery_state.value == "failed" and "smtp down" in msg.delivery_error

    async def ok(item):
        return "<sent@x>"

    outbox.senders["reply"] = ok
    await outbox.retry(message_id=mid)
    assert await outbox.run_once() == 1
    msg = next(m for m in await store.messages(1) if m.id == mid)
    assert msg.delivery_state.value == "sent" and msg.external_id == "<sent@x>"


def test_backoff_doubles_from_the_base_delay_up_to_the_cap():
    from engine.outbox import BASE_DELAY, MAX_DELAY

    assert [backoff(n) for n in range(1, 6)] == [BASE_DELAY * 2 ** k for k in range(5)]
    assert backoff(0) == BASE_DELAY  # never below the base
    assert backoff(40) == MAX_DELAY and backoff(10) == min(MAX_DELAY, BASE_DELAY * 512)
    assert MAX_ATTEMPTS > 2


async def test_outbox_permanent_error_fails_at_once(store):
    mid, oid = await _reply(store)
    calls = []

    async def bad(item):
        calls.append(item.id)
        raise PermanentError("550 mailbox unavailable")

    outbox = Outbox(store, senders={"reply": bad})
    assert await outbox.deliver(await outbox.item(oid)) == "failed"
    item = await outbox.item(oid)
    assert calls == [oid] and item.state == "failed"
    assert item.last_error == "550 mailbox unavailable"
    assert await outbox.run_once() == 0 and calls == [oid]  # no retry of a permanent error
    msg = next(m for m in await store.messages(1) if m.id == mid)
    assert msg.delivery_state.value == "failed" and "550" in msg.delivery_error


async def test_outbox_recovers_items_left_sending_with_same_key(store):
    mid, oid = await _reply(store)
    queued_header = (await Outbox(store).item(oid)).payload["message_id_header"]
    assert queued_header.startswith("<ticketty.")
    await store.write(lambda tx: tx.execute("UPDATE outbox SET state='sending' WHERE id=?", (oid,)))
    seen = []

    async def record(item):
        seen.append((item.idempotency_key, item.payload["message_id_header"]))
        return None

    outbox = Outbox(store, senders={"reply": record})
    assert await outbox.recover() == 1
    assert (await outbox.item(oid)).state == "queued"
    assert await outbox.run_once() == 1
    # sent again under the key and the Message-ID fixed when it was first queued
    assert seen == [(f"reply:{mid}", queued_header)]
    assert (await outbox.item(oid)).state == "sent"
