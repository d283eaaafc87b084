"""``python -m bench latency [--n N]``: forwarded mail arrival → visible in a second process.

The engine side (this process) runs the real email channel adapter
(:class:`engine.channels.email.EmailAdapter`) in forwarding mode: its in-loop SMTP listener,
``parse_email``, forwarded-mail attribution, ``ingest`` (one transaction per mail), routing.
A second process — an agent's TUI stand-in — opens the same database with its own
:class:`~engine.store.Store`, ``start_following()`` + ``subscribe()``, and on every event reads
the queue's first page (``count_tickets`` + ``page_tickets`` of the open view) exactly as the
queue screen does; when a benchmark mail's ticket is on that page it reports the wall-clock
time. Latency = that time − the moment the sender started the SMTP transaction (aiosmtplib,
a real TCP connection per mail). Mails are spaced 30–90 ms apart so each is its own arrival.
Anchor: the SMTP transaction alone (connect → 250 after DATA), which includes the ingest.
Same host, so both processes share the clock. The database lives on tmpfs.

Webhook arrivals: not yet (no HTTP channel exists).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import subprocess
import sys
import time
from datetime import UTC, datetime
from email.utils import format_datetime, make_msgid
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from bench.common import emit, machine, on_tmpfs, pct, scratch, seed_workspace

TOKEN = "latbench-"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--n", type=int, default=100, help="mails to send")
    p.add_argument("--follow", help=argparse.SUPPRESS)  # internal: run as the follower


# ------------------------------------------------------------------------- follower process
async def _follow(db: str) -> None:
    from engine.store import Store, TicketQuery

    q = TicketQuery(view="open")
    seen: set[str] = set()
    async with Store(db) as store:
        queue = store.subscribe()
        store.start_following()
        print(json.dumps({"ready": True}), flush=True)
        while True:
            await queue.get()
            while not queue.empty():  # one repaint per burst, like the TUI
                queue.get_nowait()
            total = await store.count_tickets(q)
            rows = await store.page_tickets(q, 0, 100, total)
            now = time.time()
            for t in rows:
                if t.subject.startswith(TOKEN) and t.subject not in seen:
                    seen.add(t.subject)
                    print(json.dumps({"subject": t.subject, "t": now}), flush=True)


# --------------------------------------------------------------------------- engine process
def _mail(i: int, to: str) -> bytes:
    return (
        f"From: Customer {i} <lat{i}@example.com>\r\nTo: {to}\r\n"
        f"Subject: {TOKEN}{i}\r\nDate: {format_datetime(datetime.now(UTC))}\r\n"
        f"Message-ID: {make_msgid(domain='example.com')}\r\nMIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\n"
        f"Hello, my order {i} has not arrived. Please help.\r\n"
    ).encode()


async def _engine(db: Path, n: int) -> dict[str, Any]:
    import aiosmtplib

    from engine.channels.email import EmailAdapter
    from engine.store import Store

    async with Store(db) as store:
        channel = await seed_workspace(store)
        settings = {"address": "help@acme.test", "mode": "forwarding",
                    "forward_listen_host": "127.0.0.1", "forward_listen_port": 0}
        channel = channel.model_copy(update={"settings": settings})
        await store.update_channel(channel)
        adapter = EmailAdapter(channel, SimpleNamespace(store=store))
        runner = asyncio.create_task(adapter.run())
        while adapter.listener is None or not adapter.listener.running:  # noqa: ASYNC110
            await asyncio.sleep(0.01)
        port = adapter.listener.port

        follower = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bench", "latency", "--follow", str(db),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert follower.stdout is not None
        line = await asyncio.wait_for(follower.stdout.readline(), 30)
        if not line:
            err = await follower.stderr.read() if follower.stderr else b""
            raise RuntimeError(f"follower did not start: {err.decode()[-2000:]}")
        seen: dict[str, float] = {}

        async def read_follower() -> None:
            while True:
                raw = await follower.stdout.readline()
                if not raw:
                    return
                item = json.loads(raw)
                seen[item["subject"]] = item["t"]

        reader = asyncio.create_task(read_follower())
        rng = random.Random(5)
        sent: dict[str, float] = {}
        smtp_ms: list[float] = []
        for i in range(n):
            subject = f"{TOKEN}{i}"
            t0 = time.time()
            await aiosmtplib.send(_mail(i, "help@acme.test"), sender=f"lat{i}@example.com",
                                  recipients=["help@acme.test"], hostname="127.0.0.1",
                                  port=port, start_tls=False, use_tls=False)
            smtp_ms.append((time.time() - t0) * 1000)
            sent[subject] = t0
            await asyncio.sleep(rng.uniform(0.03, 0.09))
        deadline = time.time() + 5
        while len(seen) < n and time.time() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        reader.cancel()
        follower.terminate()
        await follower.wait()
        runner.cancel()
        try:
            await runner
        except (asyncio.CancelledError, Exception):
            pass
    lat = [(seen[s] - t0) * 1000 for s, t0 in sent.items() if s in seen]
    return {"latency": lat, "smtp_ms": smtp_ms, "missing": n - len(lat)}


def run(args: argparse.Namespace) -> dict[str, Any]:
    from bench.common import median

    with scratch("latency") as where:
        db = where / "latency.db"
        stats = asyncio.run(_engine(db, args.n))
        tmpfs = on_tmpfs(where)
    from engine.store.db import FOLLOW_INTERVAL

    lat = stats["latency"]
    return {
        "bench": "latency",
        "path": "forwarded mail (SMTP) -> second process queue page",
        "n": args.n,
        "p50_ms": round(pct(lat, 50), 1),
        "p99_ms": round(pct(lat, 99), 1),
        "max_ms": round(max(lat), 1) if lat else None,
        "missing": stats["missing"],
        "smtp_transaction_p50_ms": round(median(stats["smtp_ms"]), 1),
        "smtp_transaction_p99_ms": round(pct(stats["smtp_ms"], 99), 1),
        "follow_poll_interval_ms": FOLLOW_INTERVAL * 1000,
        "target_p99_ms": "webhook/chat < 100; IMAP IDLE < 1000",
        "db_on_tmpfs": tmpfs,
        "machine": machine(),
    }


def main(args: argparse.Namespace) -> dict[str, Any]:
    if args.follow:
        asyncio.run(_follow(args.follow))
        return {}
    result = run(args)
    emit("latency", result, args.json)
    return result
