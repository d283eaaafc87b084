"""``httpx``, imported without its command-line tool.

``import httpx`` also imports ``httpx._main`` (its CLI) when ``click`` is installed, and that
pulls in Rich, Click and Pygments: ~150 ms at start-up and a UI library in a headless engine.
Marking ``httpx._main`` as not importable makes httpx fall back to its stub ``main`` (it
catches the ImportError itself); nothing of ticketty uses that CLI. Engine code imports httpx
from here: ``from engine.httpclient import httpx``.
"""

from __future__ import annotations

import sys

sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]

import httpx  # noqa: E402 - after the line above, by design

__all__ = ["httpx"]
