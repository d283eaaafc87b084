"""``python -m bench startup [--tickets N]``: process start → first rows of the queue, in tmux.

Builds (or reuses, with ``--db``) a store of N tickets, then starts the real ``ticketty``
command in a private tmux server (160×45) and polls ``capture-pane`` every 5 ms until a ticket
row (``#<number>``) is on the screen; quits with ctrl+q and repeats. Anchors measured the same
way in the same run: a bare Python start that prints a line, and the smallest Textual app
painting one line. (neomutt opens a 50k Maildir in 1.1–1.3 s, aerc in ~0.5 s — DESIGN.md.)
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.build import ensure
from bench.common import emit, machine, median, on_tmpfs, scratch

ROW = re.compile(r"^\s.{0,3}#\d+\s", re.M)
TINY_APP = (
    "from textual.app import App\nfrom textual.widgets import Static\n"
    "class A(App):\n    def compose(self):\n        yield Static('  #1 ready ')\n"
    "    def on_key(self, e):\n        self.exit()\nA().run()\n"
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--tickets", type=int, default=50_000, help="tickets in the store")
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--db", help="build/reuse the store at this path (kept afterwards)")


def _tmux(server: str, *args: str) -> str:
    return subprocess.run(["tmux", "-L", server, *args], capture_output=True, text=True,
                          timeout=10).stdout


def _time_to(server: str, command: str, pattern: re.Pattern[str], quit_keys: list[str],
              limit_s: float = 20.0) -> float:
    _tmux(server, "send-keys", "-t", "bench", "clear", "Enter")
    time.sleep(0.3)
    start = time.perf_counter()
    _tmux(server, "send-keys", "-t", "bench", command, "Enter")
    while True:
        if pattern.search(_tmux(server, "capture-pane", "-p", "-t", "bench")):
            elapsed = (time.perf_counter() - start) * 1000
            break
        if time.perf_counter() - start > limit_s:
            raise TimeoutError(f"nothing painted within {limit_s} s: {command}")
        time.sleep(0.005)
    for key in quit_keys:
        _tmux(server, "send-keys", "-t", "bench", key)
    time.sleep(0.8)
    return elapsed


def run(args: argparse.Namespace) -> dict[str, Any]:
    if shutil.which("tmux") is None:
        raise RuntimeError("tmux is not installed (scripts/install-test-deps.sh installs it)")
    with scratch("startup", keep=str(Path(args.db).parent) if args.db else None) as where:
        db = Path(args.db) if args.db else where / "startup.db"
        built = ensure(db, tickets=args.tickets, messages=args.tickets, fts=False)
        tiny = Path(tempfile.mkdtemp()) / "tiny.py"
        tiny.write_text(TINY_APP)
        server = f"ticketty-bench-{os.getpid()}"
        config = where / "config" / "ticketty"
        config.mkdir(parents=True, mode=0o700, exist_ok=True)
        # the TUI becomes the runner: no web front door (never the real port 8780)
        (config / "config.toml").write_text("[engine]\nhttp_port = 0\n")
        env_prefix = (f"XDG_CONFIG_HOME={shlex.quote(str(where / 'config'))} "
                      f"XDG_DATA_HOME={shlex.quote(str(where / 'data'))} ")
        subprocess.run(["tmux", "-L", server, "new-session", "-d", "-s", "bench", "-x", "160",
                        "-y", "45", "bash --norc --noprofile"], check=True, timeout=10)
        try:
            python = shlex.quote(sys.executable)
            ticketty = shlex.quote(str(Path(sys.executable).parent / "ticketty"))
            admin = _first_admin(db)
            app_cmd = f"{env_prefix}{ticketty} --db {shlex.quote(str(db))} --as {admin}"
            bare = [_time_to(server, f"{python} -c \"print('  #1 ready ')\"", ROW, [])
                    for _ in range(args.runs)]
            textual = [_time_to(server, f"{python} {shlex.quote(str(tiny))}", ROW, ["q"])
                       for _ in range(args.runs)]
            app = [_time_to(server, app_cmd, ROW, ["C-q"]) for _ in range(args.runs)]
        finally:
            subprocess.run(["tmux", "-L", server, "kill-server"], capture_output=True, timeout=10)
        tmpfs = on_tmpfs(db)
    return {
        "bench": "startup", "tickets": built["tickets"],
        "first_rows_ms": round(median(app), 1), "first_rows_runs_ms": [round(x) for x in app],
        "python_start_ms": round(median(bare), 1), "textual_start_ms": round(median(textual), 1),
        "target": "< 400 ms at 50,000 tickets (neomutt 1.1–1.3 s, aerc ~0.5 s)",
        "store_reused": built["reused"], "db_on_tmpfs": tmpfs, "machine": machine(),
    }


def _first_admin(db: Path) -> str:
    import sqlite3

    conn = sqlite3.connect(db)
    try:
        row = conn.execute("SELECT email FROM agents WHERE role='admin' ORDER BY id LIMIT 1").fetchone()
    finally:
        conn.close()
    return row[0] if row else "admin@acme.test"


def main(args: argparse.Namespace) -> dict[str, Any]:
    result = run(args)
    emit("startup", result, args.json)
    return result
