"""``ticketty demo`` in the TUI: the app on a seeded demo workspace with live traffic.

The world is seeded before the app starts (so the first paint already has history); once the
app's engine is running the channels, the simulator drives mail through them. Quitting stops
the simulator first, then the engine, so every connection and task is closed when the app
returns; ``seconds`` ends the app on its own after that long (recordings).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from engine.demo import DemoWorld
from tui.app import TickettyApp

STOP_TIMEOUT = 1.0  # seconds the simulator may take to finish a mail in flight on quit


class DemoApp(TickettyApp):
    """The normal app plus the demo's simulator, run as a worker once the engine is up."""

    def __init__(self, world: DemoWorld, *args: Any, seconds: float | None = None,
                 ssh_port: int | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.world = world
        self.seconds = seconds
        self.ssh_port = ssh_port  # ``demo --ssh PORT``: also serve the desk over SSH
        self.ssh: Any = None

    def on_mount(self) -> None:
        # Textual calls every on_mount up the class hierarchy: TickettyApp's runs on its own
        # (calling it from here as well opened a second engine, whose store could be left open)
        self.run_worker(self._drive(), name="demo", group="demo", exit_on_error=False)
        if self.seconds:
            self.set_timer(self.seconds, self.action_quit, name="demo-seconds")

    async def _drive(self) -> None:
        while self.engine is None:  # noqa: ASYNC110 - set by the app's engine worker
            await asyncio.sleep(0.05)
        self.world.engine, self.world.store = self.engine, self.engine.store
        await self.engine.wait_leader(10)
        if self.ssh_port is not None and self.db is not None:
            from pathlib import Path

            from engine.ssh.demo import start_demo_ssh

            self.ssh, keys = await start_demo_ssh(self.engine.store, Path(self.db),
                                                  self.ssh_port, self.world.you[0])
            self.notify(f"ssh -p {self.ssh.port} omar@localhost (or maya@, diego@ …):"
                        f" {len(keys)} key(s) from ~/.ssh let in", title="Demo over SSH",
                        timeout=15, markup=False)
        await self.world.start()
        page = await self.world.chat.page_url()
        chat = f" Chat with the desk from a browser: {page}" if page else ""
        self.notify("Demo: customers are writing in — new tickets will appear in the queue."
                    + chat, title="ticketty demo", timeout=10, markup=False)
        web = self.engine.web
        if web is not None:  # the demo's contact form, for a browser on this machine
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(5):
                    await web.serving.wait()
            if self.world.form_url():
                self.notify(f"Try the contact form in a browser: {self.world.form_url()}",
                            title="ticketty demo", timeout=12, markup=False)
        await self.world.run()

    async def shutdown_engine(self) -> None:
        """Stop the simulated traffic before the engine closes the store under it."""
        await self.world.stop(timeout=STOP_TIMEOUT)
        if self.ssh is not None:
            await self.ssh.stop()
            self.ssh = None
        await super().shutdown_engine()
