"""``ticketty demo``: where the workspace lives, how long it runs, how busy it is.

Without ``--db`` the workspace is a fresh temporary directory, removed when the demo ends
unless ``--keep``; with ``--db`` it is that file, which must be new or an earlier demo (a
database holding a real help desk is refused). ``--headless`` prints a JSON summary after
``--seconds`` (default 20); in the TUI, ``--seconds`` ends the app after that long (handy for
recordings). ``--rate`` sets how many new customer conversations arrive a minute. ``--ssh PORT``
also serves the desk over SSH (engine/ssh/demo.py).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from engine.cli.errors import number_arg
from engine.demo_data import DEFAULT_RATE

HEADLESS_SECONDS = 20.0


positive = number_arg(float, least=0, strict=True)  # --seconds, --rate


def add_parser(sub: argparse._SubParsersAction) -> None:
    demo = sub.add_parser("demo", help="a seeded demo workspace with live simulated traffic")
    demo.add_argument("--headless", action="store_true", help="no TUI; print a JSON summary")
    demo.add_argument("--seconds", type=positive, metavar="N",
                      help=f"stop after N seconds (headless: default {HEADLESS_SECONDS:g};"
                           " TUI: runs until you quit)")
    demo.add_argument("--rate", type=positive, default=DEFAULT_RATE, metavar="PER_MINUTE",
                      help=f"new customer conversations a minute (default {DEFAULT_RATE:g});"
                           " colleagues resolve as many as arrive")
    demo.add_argument("--keep", action="store_true",
                      help="keep the temporary workspace when the demo ends (it is removed)")
    demo.add_argument("--ssh", type=number_arg(int, least=0), metavar="PORT",
                      help="also serve the demo over SSH on PORT: your ~/.ssh/*.pub keys log in"
                      " as the demo agent their user name picks (ssh -p PORT omar@localhost)")
    demo.add_argument("--db", dest="demo_db", metavar="PATH",
                      help="keep the workspace in this file (new, or an earlier demo's);"
                           " default: a temporary directory")


async def run_headless(db: Path, seconds: float, you: tuple[str, str], *,
                       rate: float = DEFAULT_RATE, pace: float = 1.0,
                       ssh_port: int | None = None) -> dict:
    """Seed (or reuse) the workspace, run the traffic for ``seconds``, return the summary."""
    from engine.demo import DemoWorld, demo_config, seed_workspace
    from engine.engine import Engine

    config = demo_config()
    world = DemoWorld(None, you, pace=pace, rate=rate)
    await seed_workspace(db, world)
    async with Engine(config, db) as engine:
        world.engine, world.store = engine, engine.store
        await engine.wait_leader(10)
        ssh = None
        if ssh_port is not None:
            from engine.ssh.demo import start_demo_ssh

            ssh, keys = await start_demo_ssh(engine.store, db, ssh_port, you[0])
            print(f"demo ssh: ssh -p {ssh.port} omar@localhost (or maya@, diego@ …);"
                  f" {len(keys)} key(s) from ~/.ssh let in", flush=True)
        await world.start()
        started = time.monotonic()
        task = asyncio.ensure_future(world.run())
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(task), seconds)
        finally:
            if ssh is not None:
                await ssh.stop()
            await world.stop()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await world.drain()
            summary = await world.summary()
    summary["seconds"] = round(time.monotonic() - started, 1)
    return summary


def run_demo_cli(args: argparse.Namespace,
                 run_tui: Callable[[argparse.Namespace, Path, tuple[str, str]], int] | None,
                 ) -> int:
    """``ticketty demo``: headless, or the TUI through ``run_tui`` (the UI's entry point the
    composition root injected; None when there is no TUI, and then only headless runs)."""
    from engine.demo import check_workspace
    from engine.identity import os_user

    explicit = getattr(args, "demo_db", None) or getattr(args, "db", None)
    temp_dir: Path | None = None
    if explicit:
        db = Path(explicit).expanduser()
    else:
        temp_dir = Path(tempfile.mkdtemp(prefix="ticketty-demo-"))
        db = temp_dir / "demo.db"
    keep = temp_dir is None or args.keep
    user = os_user()
    you = (user.default_email, user.name)
    try:
        check_workspace(db)
        if args.headless:
            summary = asyncio.run(run_headless(db, args.seconds or HEADLESS_SECONDS, you,
                                               rate=args.rate, ssh_port=args.ssh))
            summary["db"] = str(db)
            summary["kept"] = keep
            print(json.dumps(summary, indent=2, ensure_ascii=False))
            return 0
        assert run_tui is not None  # main() refuses a TUI demo without a TUI
        code = run_tui(args, db, you)
        if keep:
            print(f"demo workspace kept at {db} (open it again with: ticketty --db {db})")
        else:
            print("demo workspace removed (`ticketty demo --keep` keeps it)")
        return code
    finally:
        if temp_dir is not None and not args.keep:
            shutil.rmtree(temp_dir, ignore_errors=True)
