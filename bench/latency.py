"""``python -m bench latency [--n N] [--with-heavy-mail] [--channel email|forms|chat]``:
forwarded mail arrival → visible in a second process. ``--channel chat``: the website chat
both ways (:mod:`bench.chat_latency`); ``--channel forms``: a form POST (:mod:`bench.latency_forms`).

The engine side (this process) runs the real email channel adapter
(:class:`engine.channels.email.EmailAdapter`) in forwarding mode: its in-loop SMTP listener,
parsing in the adapter's worker processes, forwarded-mail attribution, ``ingest`` (one
transaction per mail), routing. A second process — an agent's TUI stand-in — opens the same
database with its own :class:`~engine.store.Store`, ``start_following()`` + ``subscribe()``, and
on every event reads the queue's first page (``count_tickets`` + ``page_tickets`` of the open
view) exactly as the queue screen does; when a benchmark mail's ticket is on that page it
reports the wall-clock time. Latency = that time − the moment the sender started the SMTP
transaction (aiosmtplib, a real TCP connection per mail). Mails are spaced 30–90 ms apart so
each is its own arrival. Anchor: the SMTP transaction alone (connect → 250 after DATA), which
includes the ingest. Same host, so both processes share the clock. The database lives on tmpfs.

``--with-heavy-mail``: a third process sends one ``--heavy-mb`` (10) MB HTML-only mail (the
kind ``html2text`` needs seconds for) at the start, and the small mails keep coming until its
ticket is in the queue; the figures for the small mails sent meanwhile are reported apart
(``during_heavy``), with how long the heavy mail took.

``--channel forms``: a form POST through the real front door instead of mail
(:mod:`bench.latency_forms`).
``--channel messenger|whatsapp``: a signed webhook instead of a mail (:mod:`bench.meta_latency`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Any

from bench.common import emit, machine, on_tmpfs, pct, scratch, seed_workspace, start_follower

TOKEN = "latbench-"


HEAVY_SUBJECT = "Heavy newsletter"
SEND_HEAVY = """
import json, smtplib, sys, time
raw = open(sys.argv[2], "rb").read()
t0 = time.time()
with smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=600) as client:
    client.sendmail("big.sender@example.com", ["help@acme.test"], raw)
print(json.dumps({"t0": t0, "smtp_s": time.time() - t0}), flush=True)
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--n", type=int, default=100, help="mails (or form submissions) to send")
    p.add_argument("--with-heavy-mail", action="store_true",
                   help="ingest a big HTML mail while the small ones arrive")
    p.add_argument("--heavy-mb", type=float, default=10.0, help="size of the heavy mail")
    p.add_argument("--channel", choices=["email", "chat", "forms", "messenger", "whatsapp",
                                           "calls"],
                   default="email",
                   help="what arrives: a forwarded mail (email), the website chat both ways"
                        " (chat), a form POST (forms) or a signed webhook (messenger,"
                        " whatsapp) or a call's voice webhooks (calls)")
    p.add_argument("--role", help=argparse.SUPPRESS)  # internal: a chat bench process
    p.add_argument("--target", help=argparse.SUPPRESS)  # internal: its database or URL
    p.add_argument("--follow", help=argparse.SUPPRESS)  # internal: run as the follower
    p.add_argument("--send", type=int, help=argparse.SUPPRESS)  # internal: the small mails' sender


# ------------------------------------------------------------------------- follower process
async def queue_pages(store: Any, prefix: str, key: Callable[[str], str] | None = None
                      ) -> AsyncIterator[tuple[list[Any], float]]:
    """What an agent's queue screen in another process shows: on every burst of events, the
    open view's first page; yields the tickets it shows for the first time whose ``key``
    (the subject unless given) starts with ``prefix``, and when it read them."""
    from engine.store import TicketQuery

    key = key or (lambda subject: subject)
    q = TicketQuery(view="open")
    seen: set[str] = set()
    queue = store.subscribe()
    await store.start_following()
    print(json.dumps({"ready": True}), flush=True)
    while True:
        await queue.get()
        while not queue.empty():  # one repaint per burst, like the TUI
            queue.get_nowait()
        total = await store.count_tickets(q)
        rows = await store.page_tickets(q, 0, 100, total)
        now = time.time()
        fresh = []
        for t in rows:
            k = key(t.subject)
            if k.startswith(prefix) and k not in seen:
                seen.add(k)
                fresh.append(t)
        if fresh:
            yield fresh, now


async def _follow(db: str) -> None:
    from engine.store import Store

    async with Store(db) as store:
        async for fresh, now in queue_pages(store, TOKEN):
            for t in fresh:
                print(json.dumps({"subject": t.subject, "t": now}), flush=True)


# ---------------------------------------------------------------------------- sender process
async def _send(port: int, n: int) -> None:
    """Send at least ``n`` small mails, 30–90 ms apart, until told ``stop`` on stdin; one JSON
    line per mail. A process of its own: if the engine's loop stalls, the mails still leave on
    time and the stall shows in their latency."""
    import aiosmtplib

    loop = asyncio.get_running_loop()
    stdin = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(stdin), sys.stdin)
    stop = asyncio.Event()

    async def watch() -> None:
        await stdin.readline()  # "stop", or EOF
        stop.set()

    watcher = asyncio.ensure_future(watch())
    rng = random.Random(5)
    i = 0
    while i < n or not stop.is_set():
        t0 = time.time()
        await aiosmtplib.send(_mail(i, "help@acme.test"), sender=f"lat{i}@example.com",
                              recipients=["help@acme.test"], hostname="127.0.0.1", port=port,
                              start_tls=False, use_tls=False, timeout=600)
        print(json.dumps({"subject": f"{TOKEN}{i}", "t0": t0,
                          "smtp_ms": (time.time() - t0) * 1000}), flush=True)
        i += 1
        await asyncio.sleep(rng.uniform(0.03, 0.09))
    watcher.cancel()


# --------------------------------------------------------------------------- engine process
def _mail(i: int, to: str) -> bytes:
    return (
        f"From: Customer {i} <lat{i}@example.com>\r\nTo: {to}\r\n"
        f"Subject: {TOKEN}{i}\r\nDate: {format_datetime(datetime.now(UTC))}\r\n"
        f"Message-ID: {make_msgid(domain='example.com')}\r\nMIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\n"
        f"Hello, my order {i} has not arrived. Please help.\r\n"
    ).encode()


async def _start_heavy(port: int, path: Path) -> asyncio.subprocess.Process:
    """The heavy mail's sender: a process of its own, so its work is not this loop's."""
    return await asyncio.create_subprocess_exec(
        sys.executable, "-c", SEND_HEAVY, str(port), str(path), stdout=subprocess.PIPE)


async def _engine(db: Path, n: int, heavy: Path | None) -> dict[str, Any]:
    from engine.channels import build_adapter
    from engine.channels.email import EmailAdapter
    from engine.store import Store

    async with Store(db) as store:
        channel = await seed_workspace(store)
        settings = {"address": "help@acme.test", "mode": "forwarding",
                    "forward_listen_host": "127.0.0.1", "forward_listen_port": 0}
        channel = channel.model_copy(update={"settings": settings})
        await store.update_channel(channel)
        adapter = build_adapter(channel, store)
        assert isinstance(adapter, EmailAdapter)
        runner = asyncio.create_task(adapter.run())
        while adapter.listener is None or not adapter.listener.running:  # noqa: ASYNC110
            await asyncio.sleep(0.01)
        port = adapter.listener.port

        follower, seen, reader = await start_follower(["bench", "latency", "--follow", str(db)], key="subject")
        heavy_proc = await _start_heavy(port, heavy) if heavy else None
        sender = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bench", "latency", "--send", str(port), "--n", str(n),
            stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        assert sender.stdin is not None and sender.stdout is not None
        heavy_stats: dict[str, Any] = {}
        if heavy_proc is not None:  # small mails keep coming until the heavy one is stored
            out, _ = await heavy_proc.communicate()
            heavy_stats = json.loads(out or b"{}")
        sender.stdin.write(b"stop\n")
        await sender.stdin.drain()
        sent: dict[str, float] = {}
        smtp_ms: list[float] = []
        for line in (await sender.communicate())[0].splitlines():
            item = json.loads(line)
            sent[item["subject"]] = item["t0"]
            smtp_ms.append(item["smtp_ms"])
        deadline = time.time() + 5
        while len([s for s in sent if s in seen]) < len(sent) and time.time() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        reader.cancel()
        follower.terminate()
        await follower.wait()
        quarantined = adapter.quarantined
        runner.cancel()
        try:
            await runner
        except (asyncio.CancelledError, Exception):
            pass
    lat = {s: (seen[s] - t0) * 1000 for s, t0 in sent.items() if s in seen}
    stats: dict[str, Any] = {"latency": list(lat.values()), "smtp_ms": smtp_ms,
                             "missing": len(sent) - len(lat), "sent": len(sent)}
    if heavy_stats:
        h0 = heavy_stats["t0"]
        h1 = h0 + heavy_stats["smtp_s"]  # the 250 comes once the mail is stored
        during = [ms for s, ms in lat.items() if h0 <= sent[s] <= h1]
        stats["heavy"] = {
            "smtp_transaction_s": round(heavy_stats["smtp_s"], 2),
            "quarantined": quarantined,
            "small_mails_meanwhile": len(during),
            "during_p50_ms": round(pct(during, 50), 1),
            "during_p99_ms": round(pct(during, 99), 1),
            "during_max_ms": round(max(during), 1) if during else None,
        }
    return stats


def run(args: argparse.Namespace) -> dict[str, Any]:
    from bench.common import median

    with scratch("latency") as where:
        db = where / "latency.db"
        heavy = None
        if args.with_heavy_mail:
            from bench.bigmail import html_mail

            heavy = where / "heavy.eml"
            heavy.write_bytes(html_mail(int(args.heavy_mb * 1_000_000), subject=HEAVY_SUBJECT))
        stats = asyncio.run(_engine(db, args.n, heavy))
        tmpfs = on_tmpfs(where)
    from engine.store.follow import FOLLOW_INTERVAL

    lat = stats["latency"]
    result: dict[str, Any] = {
        "bench": "latency",
        "path": "forwarded mail (SMTP) -> second process queue page",
        "n": stats["sent"],
        "p50_ms": round(pct(lat, 50), 1),
        "p99_ms": round(pct(lat, 99), 1),
        "max_ms": round(max(lat), 1) if lat else None,
        "missing": stats["missing"],
        "smtp_transaction_p50_ms": round(median(stats["smtp_ms"]), 1),
        "smtp_transaction_p99_ms": round(pct(stats["smtp_ms"], 99), 1),
        "follow_poll_interval_ms": FOLLOW_INTERVAL * 1000,
        "target_p99_ms": "webhook/chat < 100; IMAP IDLE < 1000; small mails < 100 during a "
                         "10 MB HTML mail",
        "db_on_tmpfs": tmpfs,
        "machine": machine(),
    }
    if "heavy" in stats:
        result["heavy_mail_mb"] = args.heavy_mb
        result["heavy"] = stats["heavy"]
    return result


def main(args: argparse.Namespace) -> dict[str, Any]:
    if args.channel == "chat":
        from bench.chat_latency import main as chat_main

        return chat_main(args)
    if args.follow:
        asyncio.run(_follow(args.follow))
        return {}
    if args.send:
        asyncio.run(_send(args.send, args.n))
        return {}
    if args.channel == "forms":
        from bench.latency_forms import run as run_forms

        result = run_forms(args.n)
    elif args.channel in ("messenger", "whatsapp"):
        from bench import meta_latency

        result = meta_latency.run(args)
    elif args.channel == "calls":
        from bench.latency_calls import run as run_calls

        result = run_calls(args)
    else:
        result = run(args)
    emit("latency", result, args.json)
    return result
