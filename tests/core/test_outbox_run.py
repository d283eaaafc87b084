"""The outbox's runner loop on a real store: what one pass takes, when recovery runs, a
failing pass, and stopping after the send in flight."""

from __future__ import annotations

import asyncio
import logging
import time

import engine.outbox as outbox_mod
from engine.outbox import Outbox


async def _queue(store, *keys: str) -> list[int]:
    return [await store.enqueue_outbound("x", channel_id=None, ticket_id=None, payload={}, key=k)
            for k in keys]


async def _wait_for(cond) -> None:
    """Wait (at most 5 s) until ``cond()`` holds."""
    async with asyncio.timeout(5):
        while not cond():  # noqa: ASYNC110
            await asyncio.sleep(0.005)


async def _wait_sent(outbox: Outbox, oid: int) -> None:
    async with asyncio.timeout(5):
        while (await outbox.item(oid)).state != "sent":  # noqa: ASYNC110
            await asyncio.sleep(0.01)


async def test_one_pass_takes_at_most_twenty_due_items_the_most_overdue_first(store):
    ids = await _queue(store, *(f"k{n}" for n in range(22)))
    sent: list[int] = []

    async def send(item):
        sent.append(item.id)
        return None

    outbox = Outbox(store, senders={"x": send})
    assert await outbox.run_once() == 20
    assert sent == ids[:20]
    assert await outbox.run_once() == 2 and sent == ids


async def test_the_loop_stops_after_the_send_in_flight(store):
    a, b = await _queue(store, "a", "b")
    started, release = asyncio.Event(), asyncio.Event()
    sent: list[int] = []

    async def send(item):
        started.set()
        await release.wait()
        sent.append(item.id)
        return None

    outbox = Outbox(store, senders={"x": send})
    runner = asyncio.ensure_future(outbox.run(interval=30))
    await asyncio.wait_for(started.wait(), 5)
    outbox.stop_taking()
    release.set()
    await asyncio.wait_for(runner, 5)  # ends without waiting for the 30 s interval
    assert sent == [a]  # the one in flight finished; the next was left for the new runner
    assert (await outbox.item(a)).state == "sent" and (await outbox.item(b)).state == "queued"


async def test_recovery_runs_at_start_then_every_recover_every_seconds(store, monkeypatch):
    monkeypatch.setattr(outbox_mod, "RECOVER_EVERY", 0.3)
    outbox = Outbox(store, senders={})
    looks: list[float] = []
    original = outbox.recover

    async def recover():
        looks.append(time.monotonic())
        return await original()

    outbox.recover = recover  # type: ignore[method-assign]
    t0 = time.monotonic()
    runner = asyncio.ensure_future(outbox.run(interval=0.02))
    try:
        await _wait_for(lambda: len(looks) >= 3)
    finally:
        outbox.stop_taking()
        await asyncio.wait_for(runner, 5)
    assert looks[0] - t0 < 0.3  # the first pass looks at once
    gaps = [b - a for a, b in zip(looks, looks[1:], strict=False)]
    # not on every pass of 0.02 s (the margin: each look is timed a moment after its start)
    assert all(g >= 0.25 for g in gaps), gaps


async def test_a_failing_pass_is_logged_and_the_loop_goes_on(store, caplog):
    (oid,) = await _queue(store, "a")
    outbox = Outbox(store, senders={"x": lambda item: asyncio.sleep(0, None)})
    calls = 0
    original = outbox.due

    async def due(limit: int = 20):
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("database is locked")
        return await original(limit)

    outbox.due = due  # type: ignore[method-assign]
    with caplog.at_level(logging.ERROR, logger="engine.outbox"):
        runner = asyncio.ensure_future(outbox.run(interval=0.01))
        try:
            await _wait_for(lambda: calls >= 2)
            await _wait_sent(outbox, oid)
        finally:
            outbox.stop_taking()
            await asyncio.wait_for(runner, 5)
    assert [r.getMessage() for r in caplog.records] == ["outbox pass failed"]


async def test_retry_puts_a_failed_item_back_and_wakes_the_loop(store):
    (oid,) = await _queue(store, "a")
    await store.write(lambda tx: tx.execute(
        "UPDATE outbox SET state='failed', attempts=6 WHERE id=?", (oid,)))
    outbox = Outbox(store, senders={"x": lambda item: asyncio.sleep(0, None)})
    passes: list[int] = []
    original = outbox.run_once

    async def run_once(run=None):
        passes.append(await original(run))
        return passes[-1]

    outbox.run_once = run_once  # type: ignore[method-assign]
    runner = asyncio.ensure_future(outbox.run(interval=30))
    try:
        await _wait_for(lambda: passes == [0])  # the first pass found nothing; now it waits 30 s
        assert await outbox.retry(outbox_id=oid) == oid
        await _wait_sent(outbox, oid)  # the wake, not the 30 s interval, starts the next pass
    finally:
        outbox.stop_taking()
        await asyncio.wait_for(runner, 5)


async def test_a_failed_heartbeat_is_logged_and_the_next_one_beats(store, monkeypatch, caplog):
    import sqlite3

    monkeypatch.setattr(outbox_mod, "HEARTBEAT_EVERY", 0.02)
    (oid,) = await _queue(store, "a")
    beats: list[tuple[list[int], str]] = []
    original = store.outbox_heartbeat

    async def heartbeat(ids, owner):
        beats.append((ids, owner))
        if len(beats) == 1:  # the database was busy for the first beat
            raise sqlite3.OperationalError("database is locked")
        return await original(ids, owner)

    monkeypatch.setattr(store, "outbox_heartbeat", heartbeat)
    release = asyncio.Event()
    claimed_at: list[float] = []

    async def slow(item):
        claimed_at.append((await store.outbox_item(item.id)).heartbeat_at)
        await release.wait()
        return None

    outbox = Outbox(store, senders={"x": slow})
    with caplog.at_level(logging.WARNING, logger="engine.outbox"):
        task = asyncio.ensure_future(outbox.deliver(await outbox.item(oid)))
        await _wait_for(lambda: len(beats) >= 3)
        row = await store.outbox_item(oid)
        release.set()
        assert await task == "sent"
    assert beats[:3] == [([oid], outbox.owner)] * 3
    assert row.state == "sending" and row.heartbeat_at > claimed_at[0]  # later beats landed
    assert [r.getMessage() for r in caplog.records] == [
        f"outbox: heartbeat of item {oid} failed: database is locked"]


async def test_a_pass_of_a_replaced_run_sends_nothing(store):
    """``run_once(run)`` of a loop that is no longer current stops before the first item."""
    a, b = await _queue(store, "a", "b")
    sent: list[int] = []

    async def send(item):
        sent.append(item.id)
        return None

    outbox = Outbox(store, senders={"x": send})
    assert await outbox.run_once(object()) == 2  # two were due …
    assert sent == []  # … and none was taken
    assert await outbox.run_once() == 2 and sent == [a, b]
