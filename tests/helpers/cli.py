"""The real ``ticketty`` console script of this environment, run in a subprocess."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BIN = str(Path(sys.executable).parent / "ticketty")


def run_cli(db: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """``ticketty --db DB ARGS…`` with its output captured as text."""
    return subprocess.run([BIN, "--db", str(db), *args], capture_output=True, text=True,
                          timeout=timeout)
