"""``ticketty demo`` in the TUI: the app on a seeded demo workspace with live traffic.

The world is seeded before the app starts (so the first paint already has history); once the
app's engine is running the channels, the simulator drives mail through them.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from pathlib import Path

from engine.config import Config, EngineConfig
from engine.demo import DemoWorld, seed_workspace
from tui.app import TickettyApp


class DemoApp(TickettyApp):
    """The normal app plus the demo's simulator, run as a worker once the engine is up."""

    def __init__(self, world: DemoWorld, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.world = world

    def on_mount(self) -> None:
        super().on_mount()
        self.run_worker(self._drive(), name="demo", group="demo", exit_on_error=False)

    async def _drive(self) -> None:
        while self.engine is None:  # noqa: ASYNC110 - set by the app's engine worker
            await asyncio.sleep(0.05)
        self.world.engine, self.world.store = self.engine, self.engine.store
        await self.engine.wait_leader(10)
        self.notify("Demo: customers are writing in — new tickets will appear in the queue.",
                    title="ticketty demo", timeout=6)
        try:
            await self.world.run()
        finally:
            with contextlib.suppress(Exception):
                await self.world.stop()


def run_demo_tui(args: argparse.Namespace, db: Path, you: tuple[str, str]) -> int:
    world = DemoWorld(None, you)
    asyncio.run(seed_workspace(db, world))
    config = Config(engine=EngineConfig(lease_seconds=3, outbox_interval=0.3))
    app = DemoApp(world, config, db, agent_email=you[0])
    app.run()
    print(f"demo workspace kept at {db} (open it again with: ticketty --db {db})")
    return app.return_code or 0
