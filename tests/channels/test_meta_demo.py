"""The demo's Messenger and WhatsApp customers (engine/demo_meta.py): they write through the
real webhook routes of a demo engine, the Page is greeted, the instant reply goes out, and an
agent's answer is delivered and read on their phones (receipts posted back as webhooks)."""

from __future__ import annotations

from pathlib import Path

from engine.demo import DemoWorld, demo_config, seed_workspace
from engine.demo_meta import GREETING, INSTANT, MESSENGER, PAGE, WHATSAPP
from engine.desk import Desk
from engine.engine import Engine
from tests.channels.meta_helpers import until_async


async def test_demo_customers_write_and_read_through_the_webhooks(tmp_path: Path) -> None:
    db = tmp_path / "demo.db"
    world = DemoWorld(None, ("you@northwind.test", "You Agent"), pace=0.2, past_tickets=5)
    await seed_workspace(db, world)
    async with Engine(demo_config(), db) as engine:
        world.engine, world.store = engine, engine.store
        assert await engine.wait_leader(10)
        await world.start()
        try:
            assert world.meta.graph is not None
            await until_async(lambda: _serving(engine), what="the front door")
            for _ in range(6):  # a few people, on both apps (random, seeded)
                await world.meta.customer_message()
            ids = {name: (await engine.store.channel(name)).id for name in (MESSENGER, WHATSAPP)}
            tickets: dict[str, int] = {}

            async def both() -> bool:
                for name, cid in ids.items():
                    for i in range(1, 60):
                        t = await engine.store.ticket(i)
                        if t is not None and t.channel_id == cid:
                            tickets[name] = t.id
                return len(tickets) == 2

            await until_async(both, what="a ticket on each channel")
            graph = world.meta.graph
            # the stand-in started after the engine: the greeting is pushed on a later try
            await until_async(lambda: _greeted(graph), what="the greeting on the Page")
            assert graph.greetings[PAGE]["greeting"][0]["text"] == GREETING
            await until_async(lambda: _sent(graph, INSTANT), what="the instant reply")
            you = world.agents["you@northwind.test"]
            replies = {name: (await Desk(engine.store, you).reply(tid, "We are on it!"))[0]
                       for name, tid in tickets.items()}
            engine.outbox.wake()
            for name, mid in replies.items():
                await until_async(lambda n=name, m=mid: _state(engine, tickets[n], m, "read"),
                                  seconds=20, what=f"the {name} reply read")
            assert world.meta.replies_delivered >= 2 and world.meta.receipts >= 4
        finally:
            await world.stop()


async def _serving(engine: Engine) -> bool:
    return engine.web is not None and engine.web.serving.is_set()


async def _greeted(graph) -> bool:
    return PAGE in graph.greetings


async def _sent(graph, text: str) -> bool:
    return any((r.body or {}).get("message", {}).get("text") == text for r in graph.sent(PAGE))


async def _state(engine: Engine, ticket_id: int, mid: int, state: str) -> bool:
    msgs = await engine.store.messages(ticket_id)
    return next(m for m in msgs if m.id == mid).delivery_state.value == state
