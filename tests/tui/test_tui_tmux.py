"""Runs scripts/tmux-smoke.sh: the real app in a private tmux server, driven with keys."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_tmux_smoke(tmux: str):
    ticketty = Path(sys.executable).with_name("ticketty")
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "TICKETTY": str(ticketty),
           "HOME": str(ROOT), "TERM": "xterm-256color", "LANG": "C.UTF-8"}
    result = subprocess.run(["bash", str(ROOT / "scripts" / "tmux-smoke.sh")], env=env,
                            capture_output=True, text=True, timeout=90)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "tmux-smoke: ok" in result.stdout
