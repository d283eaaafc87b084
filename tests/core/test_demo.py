"""``ticketty demo --headless``: a seeded world with live traffic through the real paths."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

BIN = str(Path(sys.executable).parent / "ticketty")


def test_headless_demo_summary_and_isolation(tmp_path):
    real = tmp_path / "real.db"
    demo = tmp_path / "demo.db"
    env = {**os.environ, "TICKETTY_DB": str(real)}
    p = subprocess.run([BIN, "demo", "--headless", "--seconds", "7", "--db", str(demo)],
                       capture_output=True, text=True, timeout=90, env=env)
    assert p.returncode == 0, p.stderr
    summary = json.loads(p.stdout)
    for key in ("tickets_created", "assigned", "unassigned", "replies_sent", "channels"):
        assert key in summary
    assert summary["tickets_created"] >= 1
    assert summary["assigned"] + summary["unassigned"] == summary["tickets_created"]
    assert set(summary["channels"]) == {"Support email", "Billing email"}
    assert sum(c["received"] for c in summary["channels"].values()) >= summary["tickets_created"]
    assert not real.exists(), "the demo must never touch the user's database"
    conn = sqlite3.connect(demo)
    assert conn.execute("SELECT count(*) FROM tickets").fetchone()[0] >= 300
    kinds = {r[0] for r in conn.execute("SELECT kind FROM channels")}
    from engine.channels import KINDS

    assert kinds == set(KINDS), "every channel kind in the code is connected in the demo"
    # rerunning on the same workspace keeps it and drives traffic again
    p = subprocess.run([BIN, "demo", "--headless", "--seconds", "3", "--db", str(demo)],
                       capture_output=True, text=True, timeout=90, env=env)
    assert p.returncode == 0, p.stderr
