"""Layers that hold at run time: the engine is a headless library (importing it loads neither
Textual nor Rich), and the composition root starts the CLI without Textual — ``ticketty
--help`` and ``ticketty engine`` never import it (the static contracts are lint-imports')."""

from __future__ import annotations

import os
import pkgutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import engine

# httpx imports its own command-line tool (click, rich, pygments) whenever click can be
# imported. ticketty does not depend on click — the test tools (import-linter) bring it — so
# each check runs with click blocked, as in an installation of ticketty alone.
NO_CLICK = "import sys\nsys.modules['click'] = None\n"
UI_MODULES = ("textual", "rich")


def engine_modules() -> list[str]:
    return [m.name for m in pkgutil.walk_packages(engine.__path__, "engine.")]


def loaded_ui_modules(code: str) -> list[str]:
    """Run ``code`` in a fresh interpreter; the Textual/Rich modules it left in sys.modules."""
    code = NO_CLICK + code + (
        "\nprint(','.join(sorted(m for m in sys.modules"
        f" if m.split('.')[0] in {UI_MODULES!r})))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    return [m for m in out.stdout.strip().split(",") if m]


def test_engine_imports_no_textual_or_rich():
    names = engine_modules()
    assert "engine.store" in names and "engine.cli" in names
    code = f"import importlib\nfor name in {names!r}:\n    importlib.import_module(name)\n"
    assert loaded_ui_modules(code) == []


def test_help_is_fast_and_textual_free():
    code = "from engine.cli import build_parser\nbuild_parser().format_help()\n"
    assert loaded_ui_modules(code) == []


def test_the_composition_root_loads_no_textual_for_help():
    """``ticketty --help`` goes through ticketty.main, which knows the TUI: still no Textual."""
    code = ("import contextlib\nfrom ticketty.main import main\n"
            "with contextlib.redirect_stdout(None), contextlib.suppress(SystemExit):\n"
            "    main(['--help'])\n")
    assert loaded_ui_modules(code) == []


def test_ticketty_engine_runs_without_textual(tmp_path: Path):
    """``python -m ticketty engine`` until it is ready, then SIGTERM: no Textual or Rich
    module was imported on the way (``-X importtime`` lists every import as it happens)."""
    code = (NO_CLICK + "sys.argv = ['ticketty', '--db', sys.argv[1], 'engine']\n"
            "import runpy\nrunpy.run_module('ticketty', run_name='__main__')\n")
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-X", "importtime", "-c", code,
                             str(tmp_path / "t.db")], stderr=subprocess.PIPE, text=True,
                            env=env)
    assert proc.stderr is not None
    lines: list[str] = []
    deadline = time.monotonic() + 60
    try:
        for line in proc.stderr:
            lines.append(line)
            if "ready in" in line or time.monotonic() > deadline:
                break
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    assert any("ready in" in line for line in lines), "".join(lines[-20:])
    imported = [line.rsplit("|", 1)[-1].strip() for line in lines if line.startswith("import time:")]
    assert "ticketty.main" in imported and "engine.engine" in imported
    assert [m for m in imported if m.split(".")[0] in UI_MODULES] == []


def test_the_cli_without_the_root_has_no_tui(capsys, tmp_path: Path):
    """engine.cli alone (no UI injected) refuses the TUI in words; headless commands run."""
    from engine.cli import main

    assert main(["--db", str(tmp_path / "t.db")]) == 1
    assert capsys.readouterr().err == (
        "ticketty: error: this ticketty has no TUI: run a command (ticketty --help)\n")
    assert main(["demo", "--db", str(tmp_path / "d.db")]) == 1
    assert "ticketty demo --headless runs without it" in capsys.readouterr().err
