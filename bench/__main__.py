"""``python -m bench NAME [--json] [options]`` — the benchmarks of DESIGN.md's Targets table.

NAME is one of ``ingest``, ``search``, ``latency``, ``queue``, ``startup``, ``api``,
``chat-load``, ``ssh``, ``webhooks``. Each prints a table (or one JSON
object with ``--json``) that includes the anchors measured in the same run and the machine.
"""

from __future__ import annotations

import argparse
import importlib
import sys

BENCHES = {
    "ingest": "email ingest vs bare stdlib parse (ratio target >= 0.25)",
    "search": "FTS queries at N messages (p99 target < 100 ms at 1,000,000)",
    "latency": "forwarded mail arrival -> visible in a second process",
    "queue": "queue screen first paint, key -> repaint, RSS at N tickets",
    "startup": "process start -> first rows of the queue in tmux at N tickets",
    "api": "sustained POST /api/v1/tickets through the real front door: rate and p99",
    "chat-load": "1,000 idle chat widgets + 50 live conversations: engine RSS and p99",
    "ssh": "N agents over the built-in SSH server: memory per session, key -> repaint,"
           " event and presence -> every other screen",
    "webhooks": "sustained signed Messenger/WhatsApp webhooks: rate, p99, nothing lost",
}


def _module(name: str) -> str:
    """The module of a benchmark (``chat-load`` → ``bench.chat_load``)."""
    return name.replace("-", "_")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="name", required=True, metavar="NAME")
    for name, help_ in BENCHES.items():
        sp = sub.add_parser(name, help=help_)
        sp.add_argument("--json", action="store_true", help="print one JSON object")
        importlib.import_module(f"bench.{_module(name)}").add_arguments(sp)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    importlib.import_module(f"bench.{_module(args.name)}").main(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
