"""``python -m bench api [--seconds S] [--concurrency C]``: sustained ``POST /api/v1/tickets``
throughput and latency through the real front door.

The server is a real ``ticketty engine --http-port P`` (its own process: uvicorn in the engine's
loop, the FastAPI app, the limits middleware, token auth, the ingest pipeline with FTS, one
write transaction per ticket) on a database on tmpfs; its rate limits are off for the run
(``http_ip_rate = 0``, ``http_visitor_rate = 0``) so the figure is the server's, not the
limiter's. This process is the client: ``C`` keep-alive HTTP/1.1 connections over loopback, a
minimal client of a few lines (httpx would spend more CPU than the server on these two cores),
each sending the next request as soon as the previous answer is in — a closed loop, bounded by
``--seconds`` per phase and ``--max-requests``. Two phases: without and with an
``Idempotency-Key`` (the header makes a ticket cost one read and one write more). Latency is
request written → answer read, per request; the first ``--warmup`` seconds are not counted.

Anchor: ``GET /healthz`` (the whole stack and one lease read, no write) the same way. Both
processes share the two cores: the server's CPU seconds per request are reported.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
from pathlib import Path
from typing import Any

from bench.common import emit, machine, on_tmpfs, pct, scratch, web_engine


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--seconds", type=float, default=10.0, help="length of each phase")
    p.add_argument("--concurrency", type=int, default=16, help="connections in flight")
    p.add_argument("--warmup", type=float, default=1.0, help="seconds not counted, per phase")
    p.add_argument("--max-requests", type=int, default=200_000, help="bound per phase")


class Conn:
    """One keep-alive HTTP/1.1 connection: send a request, read its whole answer."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    async def call(self, raw: bytes) -> int:
        self.writer.write(raw)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n")[1:]:
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        if length:
            await self.reader.readexactly(length)
        return status


def _post(token: str, i: int, keyed: bool) -> bytes:
    body = json.dumps({"subject": f"Order {i} has not arrived", "from_email":
                       f"customer{i % 5000}@example.com", "from_name": f"Customer {i % 5000}",
                       "body": f"Hello, my order {i} has not arrived yet. Can you help?",
                       "priority": "normal"}).encode()
    key = f"Idempotency-Key: bench-{i}\r\n" if keyed else ""
    return (f"POST /api/v1/tickets HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer {token}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n{key}\r\n"
            ).encode() + body


async def _phase(port: int, make: Any, args: argparse.Namespace, expect: int,
                 pid: int) -> dict[str, Any]:
    conns = [Conn(*await asyncio.open_connection("127.0.0.1", port))
             for _ in range(args.concurrency)]
    latencies: list[float] = []
    errors: dict[int, int] = {}
    answered = 0  # every expected answer, the warm-up's too
    counter = iter(range(10**12))
    t_start = time.monotonic()
    t_count = t_start + args.warmup
    t_end = t_count + args.seconds
    cpu0: float | None = None

    async def worker(conn: Conn) -> None:
        nonlocal cpu0, answered
        while True:
            now = time.monotonic()
            if now >= t_end or len(latencies) >= args.max_requests:
                return
            if cpu0 is None and now >= t_count:
                cpu0 = _cpu_seconds(pid)
            raw = make(next(counter))
            t0 = time.monotonic()
            status = await conn.call(raw)
            t1 = time.monotonic()
            if status != expect:
                errors[status] = errors.get(status, 0) + 1
                continue
            answered += 1
            if t0 >= t_count:
                latencies.append(t1 - t0)

    await asyncio.gather(*(worker(c) for c in conns))
    elapsed = time.monotonic() - t_count
    cpu1 = _cpu_seconds(pid)
    for c in conns:
        c.writer.close()
    n = len(latencies)
    ms = [x * 1000 for x in latencies]
    return {"requests": n, "per_s": round(n / elapsed, 1), "p50_ms": round(pct(ms, 50), 2),
            "p90_ms": round(pct(ms, 90), 2), "p99_ms": round(pct(ms, 99), 2),
            "max_ms": round(max(ms), 2) if ms else None, "errors": errors, "answered": answered,
            "server_cpu_ms_per_request": round((cpu1 - (cpu0 or cpu1)) * 1000 / max(n, 1), 3)}


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process so far (``/proc/PID/stat``)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _seed(db: Path) -> str:
    from engine.desk import ensure_first_admin
    from engine.store import Store

    async with Store(db) as store:
        admin = await ensure_first_admin(store, "admin@acme.test", "Ada Admin")
        return await store.create_api_token("bench", admin.id)


def run(args: argparse.Namespace) -> dict[str, Any]:
    with scratch("api") as where:
        db = where / "api.db"
        token = asyncio.run(_seed(db))
        with web_engine(where, db) as running:
            port, pid = running.port, running.proc.pid
            health = b"GET /healthz HTTP/1.1\r\nHost: bench\r\n\r\n"
            anchor = asyncio.run(_phase(port, lambda i: health, args, 200, pid))
            plain = asyncio.run(_phase(port, lambda i: _post(token, i, False), args, 201, pid))
            keyed = asyncio.run(_phase(port, lambda i: _post(token, 10**9 + i, True), args,
                                       201, pid))
        proc = running.proc
        import sqlite3

        conn = sqlite3.connect(db)
        tickets = conn.execute("SELECT count(*) FROM tickets WHERE source='api'").fetchone()[0]
        conn.close()
        tmpfs = on_tmpfs(db)
    return {
        "bench": "api",
        "tickets_per_s": plain["per_s"],
        "p99_ms": plain["p99_ms"],
        "p50_ms": plain["p50_ms"],
        "with_idempotency_key_per_s": keyed["per_s"],
        "with_idempotency_key_p99_ms": keyed["p99_ms"],
        "healthz_per_s": anchor["per_s"],
        "concurrency": args.concurrency,
        "seconds_per_phase": args.seconds,
        "tickets_in_db": tickets,
        "engine_exit": proc.returncode,
        "engine_stderr_tail": running.stderr[-500:] if proc.returncode else "",
        "plain": plain,
        "idempotent": keyed,
        "anchor_healthz": anchor,
        "db_on_tmpfs": tmpfs,
        "machine": machine(),
    }


def main(args: argparse.Namespace) -> dict[str, Any]:
    result = run(args)
    emit("api", result, args.json)
    return result
