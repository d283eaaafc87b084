"""``python -m bench latency --channel messenger|whatsapp``: a signed webhook → the ticket on a
second process's queue page.

The engine is a real ``ticketty engine`` process serving one Meta channel (database on tmpfs);
the follower is ``bench latency``'s own second process (an agent's TUI stand-in reading the
queue's first page on every event, :func:`bench.latency._follow`); this process sends signed
deliveries (``X-Hub-Signature-256`` over the raw body) on one keep-alive connection, 30–90 ms
apart, each from a new person so each makes a new ticket. Latency = the follower seeing the
ticket − the moment the request was written: signature check, the inbox write, the 200, the
inbox processing, ingest (contact, ticket, routing, FTS), the event feed and the queue read.
Anchor: the webhook's own answer time (request written → 200 read). Messenger's profile
look-up (one per new person) goes to a Graph stand-in on a thread of this process.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
from pathlib import Path
from typing import Any

from bench.common import machine, median, on_tmpfs, pct, scratch, start_follower

TOKEN = "latbench-"


async def _drive(db: Path, kind: str, port: int, path: str, n: int) -> dict[str, Any]:
    from bench.api import Conn
    from bench.meta_common import payload, signed_request

    follower, seen, reader = await start_follower(["bench", "latency", "--follow", str(db)], key="subject")
    conn = Conn(*await asyncio.open_connection("127.0.0.1", port))
    rng = random.Random(5)
    sent: dict[str, float] = {}
    answer_ms: list[float] = []
    for i in range(n):
        raw = signed_request(path, payload(kind, i, f"{TOKEN}{i}"))
        t0 = time.time()
        status = await conn.call(raw)
        answer_ms.append((time.time() - t0) * 1000)
        if status == 200:
            sent[f"{TOKEN}{i}"] = t0
        await asyncio.sleep(rng.uniform(0.03, 0.09))
    deadline = time.time() + 10
    while len([s for s in sent if s in seen]) < len(sent) and time.time() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.05)
    conn.writer.close()
    reader.cancel()
    follower.terminate()
    await follower.wait()
    lat = [(seen[s] - t0) * 1000 for s, t0 in sent.items() if s in seen]
    return {"latency": lat, "answer_ms": answer_ms, "sent": len(sent),
            "missing": len(sent) - len(lat)}


def run(args: argparse.Namespace) -> dict[str, Any]:
    from bench.meta_common import engine, graph_thread, isolate, seed
    from engine.store.follow import FOLLOW_INTERVAL

    with scratch("latency") as where, graph_thread() as graph_url:
        db = where / "latency.db"
        isolate(where)
        channel_id = asyncio.run(seed(db, args.channel, graph_url))
        with engine(where, db, args.channel, channel_id) as (_, port, path):
            stats = asyncio.run(_drive(db, args.channel, port, path, args.n))
        tmpfs = on_tmpfs(where)
    lat = stats["latency"]
    return {
        "bench": "latency", "channel": args.channel,
        "path": f"signed {args.channel} webhook -> second process queue page",
        "n": stats["sent"], "p50_ms": round(pct(lat, 50), 1), "p99_ms": round(pct(lat, 99), 1),
        "max_ms": round(max(lat), 1) if lat else None, "missing": stats["missing"],
        "webhook_answer_p50_ms": round(median(stats["answer_ms"]), 1),
        "webhook_answer_p99_ms": round(pct(stats["answer_ms"], 99), 1),
        "follow_poll_interval_ms": FOLLOW_INTERVAL * 1000,
        "target_p99_ms": "signed webhook -> agent's queue < 100",
        "db_on_tmpfs": tmpfs, "machine": machine(),
    }
