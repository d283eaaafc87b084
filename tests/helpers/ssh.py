"""The SSH test client: the one ``bench ssh`` uses (asyncssh + pyte)."""

from __future__ import annotations

from bench.sshterm import Terminal, new_key, poll

__all__ = ["Terminal", "new_key", "poll"]
