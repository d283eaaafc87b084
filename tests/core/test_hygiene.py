"""The engine is a headless library: importing it loads neither Textual nor Rich."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import engine


def engine_modules() -> list[str]:
    return [m.name for m in pkgutil.walk_packages(engine.__path__, "engine.")]


def test_engine_imports_no_textual_or_rich():
    names = engine_modules()
    assert "engine.store" in names and "engine.cli" in names
    code = (
        "import importlib, sys\n"
        f"for name in {names!r}:\n"
        "    importlib.import_module(name)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'rich'))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_help_is_fast_and_textual_free():
    code = (
        "import sys\nfrom engine.cli import build_parser\nbuild_parser().format_help()\n"
        "print(any(m.startswith(('textual', 'rich')) for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
