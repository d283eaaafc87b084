"""Seeded-database helpers shared by the TUI test suites (tests/tui and tests/tui_admin).

A suite seeds a template database once per session and copies it per test with
:func:`copy_db`.
"""

from __future__ import annotations

import shutil
from pathlib import Path


def copy_db(src: Path, dst_dir: Path) -> Path:
    """Copy the SQLite database ``src`` (with its ``-wal``/``-shm`` files) into ``dst_dir``."""
    dst = dst_dir / src.name
    for suffix in ("", "-wal", "-shm"):
        if Path(f"{src}{suffix}").exists():
            shutil.copy(f"{src}{suffix}", f"{dst}{suffix}")
    return dst
