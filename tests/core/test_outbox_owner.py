"""Outbox rows name their sender: only rows whose sender is gone are queued again."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import time

import engine.outbox as outbox_mod
from engine.desk import Desk
from engine.models import Channel
from engine.outbox import Outbox, owner_gone


async def _queued_reply(store) -> int:
    await store.add_channel(Channel(kind="email", name="Mail", settings={"address": "h@acme.test"}))
    desk = Desk(store, await store.agent("admin@example.com"))
    r = await desk.create_ticket(subject="x", from_email="c@example.com")
    return (await desk.reply(r.ticket_id, "hello"))[1]


def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


async def _set_sending(store, oid: int, owner: str | None, heartbeat_at: float | None) -> None:
    await store.write(lambda tx: tx.execute(
        "UPDATE outbox SET state='sending', owner=?, heartbeat_at=? WHERE id=?",
        (owner, heartbeat_at, oid)))


async def test_only_rows_of_a_gone_sender_are_requeued(store):
    oid = await _queued_reply(store)
    host = socket.gethostname()
    outbox = Outbox(store, senders={})
    now = time.time()

    # a live process of this host with a fresh heartbeat: left alone
    live = await asyncio.create_subprocess_exec(sys.executable, "-c", "import time; time.sleep(30)")
    try:
        await _set_sending(store, oid, f"{host}:{live.pid}:abc", now)
        assert await outbox.recover() == 0
        assert (await outbox.item(oid)).state == "sending"
        # the same process, silent for longer than SENDING_STALE: gone
        await _set_sending(store, oid, f"{host}:{live.pid}:abc", now - outbox_mod.SENDING_STALE - 1)
        assert await outbox.recover() == 1
        assert (await outbox.item(oid)).state == "queued"
    finally:
        live.kill()
        await live.wait()
    # a process of this host that no longer exists: gone at once, fresh heartbeat or not
    await _set_sending(store, oid, f"{host}:{_dead_pid()}:abc", now)
    assert await outbox.recover() == 1
    item = await outbox.item(oid)
    assert item.state == "queued" and item.owner is None
    # another host's process: trusted while it beats
    assert not owner_gone("elsewhere:1:abc", now, now + 1)
    assert owner_gone("elsewhere:1:abc", now, now + outbox_mod.SENDING_STALE + 1)
    assert owner_gone(None, None, now)


async def test_a_slow_send_keeps_its_row_alive_with_heartbeats(store, monkeypatch):
    monkeypatch.setattr(outbox_mod, "HEARTBEAT_EVERY", 0.05)
    oid = await _queued_reply(store)
    release = asyncio.Event()
    beats: list[float] = []

    async def slow(item):
        for _ in range(200):
            row = await outbox.item(item.id)
            if row.heartbeat_at not in beats:
                beats.append(row.heartbeat_at)
            if len(beats) >= 3:
                break
            await asyncio.sleep(0.02)
        await release.wait()
        return "<x@y>"

    outbox = Outbox(store, senders={"reply": slow})
    task = asyncio.ensure_future(outbox.deliver(await outbox.item(oid)))
    for _ in range(300):
        if len(beats) >= 3:
            break
        await asyncio.sleep(0.02)
    assert len(beats) >= 3 and beats == sorted(beats)
    row = await outbox.item(oid)
    assert row.state == "sending" and row.owner == outbox.owner
    # another process becoming the runner now leaves it alone
    assert await Outbox(store, senders={}).recover() == 0
    release.set()
    assert await task == "sent"
    assert (await outbox.item(oid)).heartbeat_at is None
