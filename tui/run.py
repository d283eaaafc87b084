"""The TUI's two entry points, handed to the CLI by the composition root (:mod:`ticketty.main`).

``run_tui`` is ``ticketty`` with no command: the app on ``--db`` (or the default database).
``run_demo_tui`` is ``ticketty demo`` without ``--headless``: the app on a freshly seeded demo
workspace with live traffic (:class:`tui.demo.DemoApp`). Both return the process exit code.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import time
from pathlib import Path

from engine.config import user_config
from engine.paths import default_db
from tui.app import TickettyApp


def run_tui(args: argparse.Namespace) -> int:
    """``ticketty`` with no command: the TUI on ``--db`` (or the default database)."""
    started = time.monotonic()
    if os.environ.get("TICKETTY_LOG"):
        logging.basicConfig(filename=os.environ["TICKETTY_LOG"], level=logging.INFO,
                            format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    config = user_config(getattr(args, "config", None))
    db = default_db(getattr(args, "db", None) or config.database.path)
    ssh_agent = getattr(args, "ssh_session", None)
    if ssh_agent:  # started by `ticketty serve ssh` for the agent whose key logged in
        app = TickettyApp(config, db, started_at=started, via="ssh", ssh_agent=ssh_agent,
                          run_channels=False)
    else:
        app = TickettyApp(config, db, agent_email=getattr(args, "as_agent", None),
                          started_at=started)
    app.run()
    if app.exit_message:
        print(app.exit_message, file=sys.stderr)
    return app.return_code or 0


def run_demo_tui(args: argparse.Namespace, db: Path, you: tuple[str, str]) -> int:
    """``ticketty demo``: seed (or reuse) the workspace at ``db``, then run the app on it as
    ``you`` (email, name) while the simulator drives traffic."""
    # the plain TUI never loads the demo
    from engine.demo import DemoWorld, demo_config, seed_workspace
    from engine.demo_data import DEFAULT_RATE
    from tui.demo import DemoApp

    world = DemoWorld(None, you, rate=getattr(args, "rate", None) or DEFAULT_RATE)
    asyncio.run(seed_workspace(db, world))
    config = demo_config()  # the demo's own: its web front door on a free port, never 8780
    app = DemoApp(world, config, db, agent_email=you[0], seconds=getattr(args, "seconds", None),
                  ssh_port=getattr(args, "ssh", None))
    app.run()
    return app.return_code or 0
