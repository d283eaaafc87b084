"""A wake-up that comes while the outbox is busy sending is not lost: the item queued then is
sent at once, not after the next ``interval``."""

from __future__ import annotations

import asyncio

from engine.outbox import Outbox


async def test_a_wake_during_a_send_starts_another_pass(store):
    sent: list[str] = []
    outbox: Outbox

    async def sender(item):
        sent.append(item.idempotency_key)
        if item.idempotency_key == "first":  # queued and woken while this send runs
            await store.enqueue_outbound("x", channel_id=None, ticket_id=None,
                                         payload={}, key="second")
            outbox.wake()
        return "ok"

    outbox = Outbox(store, senders={"x": sender})
    await store.enqueue_outbound("x", channel_id=None, ticket_id=None, payload={}, key="first")
    runner = asyncio.ensure_future(outbox.run(interval=30))
    try:
        async with asyncio.timeout(5):
            while sent != ["first", "second"]:  # noqa: ASYNC110
                await asyncio.sleep(0.01)
    finally:
        outbox.stop_taking()
        await asyncio.wait_for(runner, 5)
