"""``python -m bench webhooks [--channel whatsapp|messenger] [--seconds S] [--concurrency C]``:
sustained signed webhook deliveries through the real front door, and nothing lost.

The server is a real ``ticketty engine`` (its own process) serving one Meta channel on a
database on tmpfs, rate limits off. This process posts signed deliveries (``X-Hub-Signature-256``
over the raw body) on ``C`` keep-alive loopback connections in a closed loop for ``S``
seconds (bounded by ``--max-requests``): each is checked, kept in the webhook inbox and
answered 200, then processed into tickets by the channel. Reported: deliveries answered per
second with p50/p99 of the answer, then how long the inbox took to drain and how many
messages the store holds — every delivery answered 200 must be a message (``lost`` = 0).
Senders repeat every 200 deliveries (a conversation grows, as in real traffic). Messenger's
profile look-ups go to a Graph stand-in on a thread of this process.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import time
from typing import Any

from bench.common import emit, machine, on_tmpfs, scratch


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--channel", choices=["whatsapp", "messenger"], default="whatsapp")
    p.add_argument("--seconds", type=float, default=10.0, help="length of the run")
    p.add_argument("--concurrency", type=int, default=8, help="connections in flight")
    p.add_argument("--warmup", type=float, default=1.0, help="seconds not counted")
    p.add_argument("--max-requests", type=int, default=50_000, help="bound on deliveries")


def _messages(db: Any, channel_id: int) -> int:
    conn = sqlite3.connect(db)
    try:
        return int(conn.execute("SELECT count(*) FROM messages WHERE channel_id=?",
                                (channel_id,)).fetchone()[0])
    finally:
        conn.close()


def run(args: argparse.Namespace) -> dict[str, Any]:
    from bench.api import _phase
    from bench.meta_common import engine, graph_thread, isolate, payload, seed, signed_request

    with scratch("webhooks") as where, graph_thread() as graph_url:
        db = where / "webhooks.db"
        isolate(where)
        channel_id = asyncio.run(seed(db, args.channel, graph_url))
        with engine(where, db, args.channel, channel_id) as (proc, port, path):
            def make(i: int) -> bytes:
                return signed_request(path, payload(args.channel, i, f"Order {i} is late",
                                                    sender=i % 200))

            phase = asyncio.run(_phase(port, make, args, 200, proc.pid))
            t0 = time.monotonic()
            stored = 0
            while time.monotonic() - t0 < 120:
                stored = _messages(db, channel_id)
                if stored >= phase["answered"]:
                    break
                time.sleep(0.05)
            drain_s = time.monotonic() - t0
        tmpfs = on_tmpfs(db)
    return {
        "bench": "webhooks", "channel": args.channel,
        "deliveries_per_s": phase["per_s"], "p50_ms": phase["p50_ms"],
        "p99_ms": phase["p99_ms"], "max_ms": phase["max_ms"], "errors": phase["errors"],
        "answered_200": phase["answered"], "messages_stored": stored,
        "lost": max(0, phase["answered"] - stored),
        "inbox_drained_after_s": round(drain_s, 2),
        "server_cpu_ms_per_delivery": phase["server_cpu_ms_per_request"],
        "concurrency": args.concurrency, "seconds": args.seconds, "db_on_tmpfs": tmpfs,
        "machine": machine(),
    }


def main(args: argparse.Namespace) -> dict[str, Any]:
    result = run(args)
    emit("webhooks", result, args.json)
    return result
