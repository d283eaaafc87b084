"""The demo's app (issue 11, items 1 and 3): one engine, nothing left running after quitting,
and ``--seconds`` ending it on its own."""

from __future__ import annotations

import time

import pytest

from engine.demo import DemoWorld, demo_config, seed_workspace
from tests.helpers.tui import ready
from tui.demo import DemoApp
from tui.screens.queue import QueueScreen

YOU = ("ada@example.com", "Ada Admin")
SIZE = (130, 36)


@pytest.fixture
async def demo_db(tmp_path):
    db = tmp_path / "demo.db"
    await seed_workspace(db, DemoWorld(None, YOU, past_tickets=30))
    return db


def _app(db, **kwargs) -> DemoApp:
    config = demo_config()  # the demo's own: its web front door on a free port, never 8780
    return DemoApp(DemoWorld(None, YOU, rate=30), config, db, agent_email=YOU[0], **kwargs)


async def test_the_demo_runs_one_engine_and_quitting_stops_every_thread(demo_db):
    app = _app(demo_db)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        assert [w.name for w in app.workers].count("engine") == 1
        assert sum(isinstance(s, QueueScreen) for s in app.screen_stack) == 1
        store = app.engine.store
        conns = [store._reader, store._writer]
        deadline = time.monotonic() + 10
        while not app.world.mark and time.monotonic() < deadline:
            await pilot.pause(0.05)
        assert app.world.mark, "the simulator started"
        await pilot.press("q")
    for conn in conns:
        conn.thread.join(timeout=5)
    assert not any(conn.thread.is_alive() for conn in conns)
    assert app.world.sink._server is None


async def test_seconds_ends_the_demo_app(demo_db):
    app = _app(demo_db, seconds=1.0)
    started = time.monotonic()
    async with app.run_test(size=SIZE) as pilot:
        while app.return_code is None and time.monotonic() - started < 15:
            await pilot.pause(0.05)
    assert app.return_code == 0
    assert time.monotonic() - started < 10
