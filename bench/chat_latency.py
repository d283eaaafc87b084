"""``python -m bench latency --channel chat [--n N]``: the website chat, live both ways.

Four processes on one host (one clock), the database on tmpfs:

- **the engine** (this process): a real :class:`~engine.engine.Engine` holding the runner
  lease, its front door on a free port, one chat channel routing round-robin to a team;
- **visitors**: N WebSocket clients (``websockets``) opened up front, each sending one line
  ``latbench-i`` 30–90 ms apart (a new conversation each) and noting when an agent's line
  ``latreply-i`` arrives on its socket;
- **an agent** (the TUI stand-in): its own :class:`~engine.store.Store` following the event
  log; on every event it reads the queue's first page as the queue screen does; when a bench
  ticket shows it notes the time and answers it with :meth:`engine.desk.Desk.reply` — the
  reply is queued in that process and delivered by the runner (woken by the followed
  ``outbox.queued`` event), which pushes it to the visitor's socket on the ``sent`` event.

Figures: *visitor → queue* = queue page shows the ticket − the visitor's send; *agent →
visitor* = the visitor's socket has the line − the agent's ``reply()`` call. p50/p99/max each.
"""

from __future__ import annotations

import asyncio
import json
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.common import emit, machine, on_tmpfs, pct, scratch, seed_workspace

SEND = "latbench-"
REPLY = "latreply-"


# ------------------------------------------------------------------------- agent process
async def agent(db: str) -> None:
    from bench.latency import queue_pages
    from engine.desk import Desk
    from engine.store import Store

    rng = random.Random(9)
    async with Store(db) as store:
        me = await store.agent("agent0@acme.test")
        desk = Desk(store, me)
        async for fresh, now in queue_pages(store, SEND):
            for t in fresh:
                print(json.dumps({"seen": t.subject, "t": now}), flush=True)
            for t in fresh:
                n = t.subject.removeprefix(SEND)
                # an agent reads first: without it the reply would follow this process's poll
                # tick, in step with the runner's, and hide the runner's follow delay
                await asyncio.sleep(rng.uniform(0.0, 0.06))
                t0 = time.time()
                await desk.reply(t.id, f"{REPLY}{n}")
                print(json.dumps({"replied": f"{REPLY}{n}", "t0": t0}), flush=True)


# ----------------------------------------------------------------------- visitor process
async def visitors(url: str, n: int) -> None:
    from websockets.asyncio.client import connect

    sockets = [await connect(url) for _ in range(n)]

    async def listen(ws: Any) -> None:
        async for raw in ws:
            frame = json.loads(raw)
            if frame.get("type") == "message" and frame.get("author") == "agent" \
                    and str(frame.get("text", "")).startswith(REPLY):
                print(json.dumps({"got": frame["text"], "t": time.time()}), flush=True)

    listeners = [asyncio.ensure_future(listen(ws)) for ws in sockets]
    await asyncio.sleep(0.5)  # the sessions and configs have arrived
    rng = random.Random(5)
    for i, ws in enumerate(sockets):
        t0 = time.time()
        await ws.send(json.dumps({"type": "message", "id": f"b{i}", "text": f"{SEND}{i}"}))
        print(json.dumps({"sent": f"{SEND}{i}", "t0": t0}), flush=True)
        await asyncio.sleep(rng.uniform(0.03, 0.09))
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)  # "stop"
    for task in listeners:
        task.cancel()
    for ws in sockets:
        await ws.close()


# ------------------------------------------------------------------------ engine process
async def _lines(proc: asyncio.subprocess.Process, into: list[dict[str, Any]]) -> None:
    assert proc.stdout is not None
    while raw := await proc.stdout.readline():
        into.append(json.loads(raw))


async def _engine(db: Path, n: int) -> dict[str, Any]:
    from engine.config import Config, EngineConfig
    from engine.engine import Engine
    from engine.models import Channel
    from engine.web.server import pick_port

    port = pick_port()
    cfg = Config(engine=EngineConfig(http_port=port, lease_seconds=5, outbox_interval=1.0,
                                     http_ip_rate=0, http_visitor_rate=0))
    async with Engine(cfg, db) as engine:
        email = await seed_workspace(engine.store)
        chat = await engine.store.add_channel(Channel(
            kind="chat", name="Website", settings={}, routing=email.routing,
            defaults=email.defaults))
        assert await engine.wait_leader(20)
        while engine.web is None:  # noqa: ASYNC110 - the server appears with the lead
            await asyncio.sleep(0.01)
        await asyncio.wait_for(engine.web.serving.wait(), 20)
        base = f"ws://127.0.0.1:{port}/chat/{chat.id}/ws"
        import httpx

        async with httpx.AsyncClient() as client:  # the mount is served
            for _ in range(400):
                if (await client.get(f"http://127.0.0.1:{port}/chat/{chat.id}/widget.js")
                        ).status_code == 200:
                    break
                await asyncio.sleep(0.05)
        agent_out: list[dict[str, Any]] = []
        visitor_out: list[dict[str, Any]] = []
        agent_proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bench", "latency", "--channel", "chat", "--role", "agent",
            "--target", str(db), stdout=subprocess.PIPE)
        assert agent_proc.stdout is not None
        await asyncio.wait_for(agent_proc.stdout.readline(), 30)  # ready
        reading = [asyncio.ensure_future(_lines(agent_proc, agent_out))]
        vis = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bench", "latency", "--channel", "chat", "--role", "visitors",
            "--target", base, "--n", str(n), stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        reading.append(asyncio.ensure_future(_lines(vis, visitor_out)))
        deadline = time.time() + 30 + n * 0.2
        while time.time() < deadline and sum("got" in x for x in visitor_out) < n:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        assert vis.stdin is not None
        vis.stdin.write(b"stop\n")
        await vis.stdin.drain()
        await asyncio.wait_for(vis.wait(), 20)
        agent_proc.terminate()
        await agent_proc.wait()
        for task in reading:
            task.cancel()
    sent = {x["sent"]: x["t0"] for x in visitor_out if "sent" in x}
    seen = {x["seen"]: x["t"] for x in agent_out if "seen" in x}
    replied = {x["replied"]: x["t0"] for x in agent_out if "replied" in x}
    got = {x["got"]: x["t"] for x in visitor_out if "got" in x}
    to_queue = [(seen[k] - t0) * 1000 for k, t0 in sent.items() if k in seen]
    to_visitor = [(got[k] - t0) * 1000 for k, t0 in replied.items() if k in got]
    return {"to_queue": to_queue, "to_visitor": to_visitor, "sent": len(sent),
            "missing_queue": len(sent) - len(to_queue),
            "missing_visitor": len(sent) - len(to_visitor)}


def _figures(values: list[float]) -> dict[str, Any]:
    return {"p50_ms": round(pct(values, 50), 1), "p99_ms": round(pct(values, 99), 1),
            "max_ms": round(max(values), 1) if values else None}


def run(args: Any) -> dict[str, Any]:
    from engine.store.follow import FOLLOW_INTERVAL

    with scratch("chat-latency") as where:
        stats = asyncio.run(_engine(where / "chat.db", args.n))
        tmpfs = on_tmpfs(where)
    return {
        "bench": "latency", "channel": "chat", "n": stats["sent"],
        "visitor_to_queue": _figures(stats["to_queue"]),
        "agent_to_visitor": _figures(stats["to_visitor"]),
        "missing": stats["missing_queue"] + stats["missing_visitor"],
        "follow_poll_interval_ms": FOLLOW_INTERVAL * 1000, "target_p99_ms": 100,
        "db_on_tmpfs": tmpfs, "machine": machine(),
    }


def main(args: Any) -> dict[str, Any]:
    if args.role == "agent":
        asyncio.run(agent(args.target))
        return {}
    if args.role == "visitors":
        asyncio.run(visitors(args.target, args.n))
        return {}
    result = run(args)
    emit("latency", result, args.json)
    return result
