"""``python -m bench latency --channel calls [--n N]``: an incoming call's webhook → the TwiML
answer, and → the call on a second process's queue page.

The engine (this process) is a real :class:`~engine.engine.Engine` leading with its web front
door on a free port and one calls channel (three agents with phones, office hours always open,
routing round-robin): the request goes through uvicorn, the limits middleware, the signature
check (``X-Twilio-Signature``, HMAC-SHA1), the TwiML decision (office hours, the available
agents with a phone) and the ingest transaction (contact by phone, ticket, routing, FTS).
A sender process posts ``--n`` signed voice webhooks, 30–90 ms apart, each a new caller on a new
TCP connection (as Twilio does), and times each one from connect to the whole TwiML answer read
(target p99 < 100 ms; Twilio gives up after 15 s). A follower process — an agent's TUI
stand-in — follows the store's change feed and reads the open queue's first page on each
event, as the queue screen does; the call's arrival latency is the time its ticket is on that
page − the moment the sender connected (target p99 < 100 ms). The first five calls warm the
routes up and are not counted. Anchor: ``GET /healthz`` on the
same server, timed the same way. Same host, shared clock; the database on tmpfs when there is.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from bench.common import machine, on_tmpfs, pct, scratch, start_follower

TOKEN = "bench-calls-token"
PREFIX = "+1415557"  # the callers: +14155570000 …
WARMUP = 5  # calls sent first and not counted


# ------------------------------------------------------------------------- follower process
async def _follow(db: str) -> None:
    from bench.latency import queue_pages
    from engine.store import Store

    def caller_of(subject: str) -> str:  # "Missed call from +1415557…": the last word
        return subject.rpartition(" ")[2]

    async with Store(db) as store:
        async for fresh, now in queue_pages(store, PREFIX, caller_of):
            for t in fresh:
                print(json.dumps({"caller": caller_of(t.subject), "t": now}), flush=True)


# ---------------------------------------------------------------------------- sender process
async def _post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
    parts = urlsplit(url)
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    method = "POST" if body else "GET"
    writer.write(f"{method} {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\n{head}"
                 f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode() + body)
    await writer.drain()
    raw = await reader.read()
    writer.close()
    return int(raw[9:12]), raw.partition(b"\r\n\r\n")[2]


async def _send(base: str, n: int) -> None:
    from engine.channels.calls_signature import signature

    rng = random.Random(5)
    for i in range(n):
        url = f"{base}/voice"
        form = [("AccountSid", "ACbench"), ("CallSid", f"CAbench{i:08d}"),
                ("CallStatus", "ringing"), ("Direction", "inbound"),
                ("From", f"{PREFIX}{i:04d}"), ("To", "+14155550100")]
        headers = {"Content-Type": "application/x-www-form-urlencoded",
                   "X-Twilio-Signature": signature(TOKEN, url, form)}
        t0 = time.time()
        status, body = await _post(url, urlencode(form).encode(), headers)
        twiml_ms = (time.time() - t0) * 1000
        h0 = time.time()
        await _post(base.split("/calls/")[0] + "/healthz", b"", {})
        print(json.dumps({"caller": f"{PREFIX}{i:04d}", "t0": t0, "status": status,
                          "dial": b"<Dial" in body, "twiml_ms": twiml_ms,
                          "healthz_ms": (time.time() - h0) * 1000}), flush=True)
        await asyncio.sleep(rng.uniform(0.03, 0.09))


# --------------------------------------------------------------------------- engine process
async def _engine(db: Path, n: int) -> dict[str, Any]:
    from bench.common import seed_workspace
    from engine.config import Config, EngineConfig
    from engine.engine import Engine
    from engine.models import Channel, RoutingMode, RoutingRule
    from engine.store import Store

    async with Store(db) as store:
        await seed_workspace(store)
        agents = await store.agents()
        for i, agent in enumerate(a for a in agents if a.role.value == "agent"):
            await store.update_agent(agent.email, phone=f"+1415555011{i}")
        channel = await store.add_channel(Channel(
            kind="calls", name="Phones", settings={
                "account_sid": "ACbench", "auth_token": TOKEN, "phone_number": "+14155550100"},
            routing=RoutingRule(mode=RoutingMode.users_teams,
                                agent_ids=[a.id for a in agents if a.id is not None])))
    import socket

    with socket.socket() as sock:  # a free port (never 8780)
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = Config(engine=EngineConfig(http_port=port, lease_seconds=3, http_ip_rate=0,
                                        http_visitor_rate=0))
    async with Engine(config, db) as engine:
        await engine.wait_leader(10)
        while engine.web is None:  # noqa: ASYNC110
            await asyncio.sleep(0.01)
        await engine.web.serving.wait()
        base = f"http://127.0.0.1:{port}/calls/{channel.id}"
        while True:  # the channel's adapter is running: its routes answer
            status, _ = await _post(f"{base}/status", b"probe=1", {})
            if status == 403:
                break
            await asyncio.sleep(0.05)
        follower, seen, reader = await start_follower(["bench.latency_calls", "--follow", str(db)], key="caller")
        sender = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bench.latency_calls", "--send", base, "--n", str(n + WARMUP),
            stdout=subprocess.PIPE)
        out, _ = await sender.communicate()
        sent = [json.loads(line) for line in out.splitlines()]
        deadline = time.time() + 5
        while len([s for s in sent if s["caller"] in seen]) < len(sent) \
                and time.time() < deadline:  # noqa: ASYNC110 - the follower's lines fill it
            await asyncio.sleep(0.05)
        reader.cancel()
        follower.terminate()
        await follower.wait()
    queue_ms = [(seen[s["caller"]] - s["t0"]) * 1000 for s in sent[WARMUP:]
                if s["caller"] in seen]
    return {"sent": sent, "queue_ms": queue_ms}


def run(args: argparse.Namespace) -> dict[str, Any]:
    with scratch("latency-calls") as where:
        stats = asyncio.run(_engine(where / "calls.db", args.n))
        tmpfs = on_tmpfs(where)
    sent = stats["sent"][WARMUP:]  # the first calls warm the routes up: not counted
    twiml = [s["twiml_ms"] for s in sent]
    healthz = [s["healthz_ms"] for s in sent]
    lat = stats["queue_ms"]
    from engine.store.follow import FOLLOW_INTERVAL

    return {
        "bench": "latency", "channel": "calls",
        "path": "signed voice webhook -> TwiML answer; -> second process queue page",
        "n": len(sent),
        "answered_200": sum(s["status"] == 200 for s in sent),
        "rang_agents": sum(s["dial"] for s in sent),
        "twiml_p50_ms": round(pct(twiml, 50), 1), "twiml_p99_ms": round(pct(twiml, 99), 1),
        "twiml_max_ms": round(max(twiml), 1) if twiml else None,
        "queue_p50_ms": round(pct(lat, 50), 1), "queue_p99_ms": round(pct(lat, 99), 1),
        "queue_max_ms": round(max(lat), 1) if lat else None,
        "missing": len(sent) - len(lat),
        "healthz_p50_ms": round(pct(healthz, 50), 1), "healthz_p99_ms": round(pct(healthz, 99), 1),
        "follow_poll_interval_ms": FOLLOW_INTERVAL * 1000,
        "target_p99_ms": "webhook -> TwiML < 100 (Twilio gives up at 15 s); -> queue < 100",
        "db_on_tmpfs": tmpfs, "machine": machine(),
    }


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--follow")
    p.add_argument("--send")
    p.add_argument("--n", type=int, default=100)
    a = p.parse_args()
    asyncio.run(_follow(a.follow) if a.follow else _send(a.send, a.n))
