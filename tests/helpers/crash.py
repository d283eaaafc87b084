"""Crash tests' shared move: run a command, kill -9 it once it has written some tickets."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import time
from pathlib import Path


def kill_9_after_tickets(argv: list[str], db: Path, at_least: int = 1, limit_s: float = 60) -> int:
    """Start ``argv``; SIGKILL it as soon as ``db`` holds ``at_least`` tickets. Returns the count
    seen at that moment (0 if the command ended or the limit passed first)."""
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    seen = 0
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.02)
        try:
            conn = sqlite3.connect(db, timeout=5)
            seen = conn.execute("SELECT count(*) FROM tickets").fetchone()[0]
            conn.close()
        except sqlite3.Error:
            continue
        if seen >= at_least:
            break
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    return seen
