"""``python -m bench queue [--tickets N]``: the queue screen at N tickets.

Builds (or reuses, with ``--db``) a store of N tickets with :mod:`bench.build` (one message per
ticket, no FTS — the queue never reads it), then, in a fresh child process so the RSS is the
TUI's alone, starts the real app (:class:`tui.app.TickettyApp`, channels off) headless with
Textual's ``run_test`` at 160×45 and measures:

- ``first_paint_ms``: from the app's start (entering ``run_test``) until the ticket table has
  rendered real rows (``TicketTable.painted``); ``run_test`` itself costs ~150 ms of that;
- ``key_p50_ms`` / ``key_p99_ms``: from posting a key event to the app (``j`` ×60, ``ctrl+d``
  ×30, ``G``/``g`` ×5 pairs — what the terminal driver does; Pilot's ``press`` adds its own
  idle waits) until the row under the new cursor has been rendered with real data (a far page
  fetched by a worker when needed);
- ``rss_mb``: the child's peak resident set size.

Anchor: ``textual_start_ms``, an empty Textual app's ``run_test`` start in the same child.
The database lives on tmpfs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.build import ensure
from bench.common import emit, machine, on_tmpfs, pct, peak_rss_mb, scratch

SIZE = (160, 45)
KEYS = ["j"] * 60 + ["ctrl+d"] * 30 + ["G", "g"] * 5


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--tickets", type=int, default=100_000, help="tickets in the store")
    p.add_argument("--db", help="build/reuse the store at this path (kept afterwards)")
    p.add_argument("--measure", help=argparse.SUPPRESS)  # internal: the child process


async def _wait(cond: Any, limit_s: float = 30.0) -> None:
    """Poll ``cond`` (state owned by the widget; there is no event for "this row rendered")."""
    deadline = time.perf_counter() + limit_s
    while not cond():
        if time.perf_counter() > deadline:
            raise TimeoutError("the queue did not repaint")
        await asyncio.sleep(0.0005)


async def _measure(db: str) -> dict[str, Any]:
    from textual import events
    from textual.app import App

    from tui.app import TickettyApp
    from tui.widgets.ticket_table import TicketTable

    t0 = time.perf_counter()
    async with App().run_test(size=SIZE):
        textual_start = (time.perf_counter() - t0) * 1000

    t0 = time.perf_counter()
    app = TickettyApp(db=db, agent_email="admin@acme.test", run_channels=False)
    async with app.run_test(size=SIZE):
        await _wait(lambda: bool(app.screen.query(TicketTable)))
        table = app.screen.query_one(TicketTable)
        await _wait(lambda: table.painted.is_set())
        first_paint = (time.perf_counter() - t0) * 1000
        total = table.total
        times: dict[str, list[float]] = {}
        for key in KEYS:
            before = table.cursor
            t1 = time.perf_counter()
            app.post_message(events.Key(key, key if len(key) == 1 else None))

            def repainted(before: int = before, key: str = key) -> bool:
                c = table.cursor
                moved = c != before or (key == "g" and c == 0) or (key == "G" and c == total - 1)
                return moved and (c, True) in table._strips

            await _wait(repainted)
            times.setdefault(key, []).append((time.perf_counter() - t1) * 1000)
    every = [t for v in times.values() for t in v]
    return {
        "first_paint_ms": round(first_paint, 1),
        "key_p50_ms": round(pct(every, 50), 2),
        "key_p99_ms": round(pct(every, 99), 2),
        "key_max_ms": round(max(every), 2),
        "keys": len(every),
        "rows_in_view": total,
        "rss_mb": round(peak_rss_mb(), 1),
        "textual_start_ms": round(textual_start, 1),
        "by_key_p50_ms": {k: round(pct(v, 50), 2) for k, v in times.items()},
        "by_key_max_ms": {k: round(max(v), 2) for k, v in times.items()},
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    with scratch("queue", keep=str(Path(args.db).parent) if args.db else None) as where:
        db = Path(args.db) if args.db else where / "queue.db"
        built = ensure(db, tickets=args.tickets, messages=args.tickets, fts=False)
        env = dict(os.environ)
        env["XDG_CONFIG_HOME"] = str(where / "config")  # never the user's config
        env["XDG_DATA_HOME"] = str(where / "data")
        proc = subprocess.run(
            [sys.executable, "-m", "bench", "queue", "--measure", str(db)],
            capture_output=True, text=True, env=env, timeout=600)
        if proc.returncode != 0:
            raise RuntimeError(f"queue measurement failed:\n{proc.stderr[-4000:]}")
        stats = json.loads(proc.stdout.strip().splitlines()[-1])
        tmpfs = on_tmpfs(db)
    return {
        "bench": "queue",
        "tickets": built["tickets"],
        **{k: v for k, v in stats.items() if not isinstance(v, dict)},
        "targets": "first paint < 500 ms, key p99 < 16 ms, RSS < 200 MB (at 1,000,000)",
        "build_s": built["build_s"],
        "store_reused": built["reused"],
        "db_on_tmpfs": tmpfs,
        "p50_by_key": stats["by_key_p50_ms"],
        "max_by_key": stats["by_key_max_ms"],
        "machine": machine(),
    }


def main(args: argparse.Namespace) -> dict[str, Any]:
    if args.measure:
        print(json.dumps(asyncio.run(_measure(args.measure))))
        return {}
    result = run(args)
    emit("queue", result, args.json)
    return result
