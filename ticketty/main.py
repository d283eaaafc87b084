"""``ticketty``: the CLI (:func:`engine.cli.main`) with the TUI's entry points injected.

Nothing here imports Textual until a command opens the TUI, so ``ticketty --help`` and
``ticketty engine`` start without it (tests/core/test_hygiene.py).
"""

from __future__ import annotations

import argparse
import gc
import os
from pathlib import Path

from engine.cli import UiEntryPoints
from engine.cli import main as cli_main


def _before_tui() -> None:
    """Set up the process for a TUI before Textual is imported."""
    # Textual paints at most 60 frames/s by default: a key waits up to a whole frame for its
    # repaint. 120 halves that wait (docs/performance.md); the user's value wins.
    os.environ.setdefault("TEXTUAL_FPS", "120")
    # no cyclic GC while importing and building the first screen (~7 % of start-up); the app
    # freezes what it built and turns the collector back on at first paint
    gc.disable()


def run_tui(args: argparse.Namespace) -> int:
    """``ticketty`` with no command: the TUI (:func:`tui.run.run_tui`)."""
    _before_tui()
    from tui.run import run_tui

    return run_tui(args)


def run_demo_tui(args: argparse.Namespace, db: Path, you: tuple[str, str]) -> int:
    """``ticketty demo`` in the TUI (:func:`tui.run.run_demo_tui`)."""
    _before_tui()
    from tui.run import run_demo_tui

    return run_demo_tui(args, db, you)


UI = UiEntryPoints(run_tui=run_tui, run_demo_tui=run_demo_tui)


def main(argv: list[str] | None = None) -> int:
    """The ``ticketty`` console script: one command line, its exit code."""
    return cli_main(argv, ui=UI)
