"""``python -m bench chat-load [--idle 1000] [--active 50] [--seconds 20]``: many open chat
widgets on one engine (2 cores).

- **the engine** (this process): a real :class:`~engine.engine.Engine` holding the runner
  lease, its front door on a free port, one chat channel; an agent in the same process (the
  runner's own TUI stand-in) answers every visitor line with :meth:`engine.desk.Desk.reply`
  through the outbox, so every reply takes the production path back to the socket.
- **the clients** (another process): ``--idle`` WebSockets opened and left open (a page with
  the widget, nobody typing) and ``--active`` conversations, starting over the first 2 s and
  each sending a line every 0.5–1.5 s for ``--seconds``.

Figures: the engine's RSS before the widgets, with them all open, and at the end (per idle
widget: the difference / ``idle``); for the active conversations, *send → ack* (the line is
stored and acknowledged on the socket) and *line → the agent's answer on the socket* (ingest,
the agent's reply, the outbox, the push), p50/p99/max.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import subprocess
import sys
import time
from typing import Any

from bench.common import emit, machine, pct, scratch

SAY = "load-"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--idle", type=int, default=1000, help="idle open widgets")
    p.add_argument("--active", type=int, default=50, help="live conversations")
    p.add_argument("--seconds", type=float, default=20.0, help="how long they talk")
    p.add_argument("--role", help=argparse.SUPPRESS)
    p.add_argument("--target", help=argparse.SUPPRESS)


def rss_mb() -> float:
    """This process's resident set now (MB)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


# ----------------------------------------------------------------------- client process
async def clients(url: str, idle: int, active: int, seconds: float) -> None:
    from websockets.asyncio.client import connect

    idle_sockets = []
    for _ in range(idle):
        idle_sockets.append(await connect(url, max_queue=4))
    print(json.dumps({"idle_open": len(idle_sockets)}), flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)  # "go"
    acks: list[float] = []
    answers: list[float] = []

    async def talk(n: int) -> None:
        rng = random.Random(n)
        sent: dict[str, float] = {}
        # conversations start spread over the first 2 s, as visitors do (all 50 opening their
        # socket and their ticket in the same millisecond is one burst, measured apart)
        await asyncio.sleep(rng.uniform(0.0, 2.0))
        async with connect(url) as ws:
            async def listen() -> None:
                async for raw in ws:
                    frame = json.loads(raw)
                    now = time.time()
                    if frame.get("type") == "ack" and frame["cid"] in sent:
                        acks.append((now - sent[frame["cid"]]) * 1000)
                    elif frame.get("type") == "message" and frame.get("author") == "agent":
                        cid = str(frame["text"]).removeprefix("re:")
                        if cid in sent:
                            answers.append((now - sent[cid]) * 1000)

            listener = asyncio.ensure_future(listen())
            end = time.time() + seconds
            i = 0
            while time.time() < end:
                cid = f"{SAY}{n}-{i}"
                sent[cid] = time.time()
                await ws.send(json.dumps({"type": "message", "id": cid, "text": cid}))
                i += 1
                await asyncio.sleep(rng.uniform(0.5, 1.5))
            await asyncio.sleep(2.0)  # the last answers
            listener.cancel()

    await asyncio.gather(*(talk(n) for n in range(active)))
    print(json.dumps({"acks": acks, "answers": answers}), flush=True)
    for ws in idle_sockets:
        await ws.close()


# ----------------------------------------------------------------------- engine process
async def _answer(engine: Any, agent: Any) -> None:
    """The agent: answer every visitor line (``re:<line>``) as it arrives."""
    from engine.desk import Desk

    desk = Desk(engine.store, agent)
    async with engine.store.events() as queue:
        while True:
            event = await queue.get()
            if event.kind == "message.added" and event.data.get("direction") == "inbound":
                lines = await engine.store.thread_lines(event.ticket_id,
                                                        event.data["message_id"] - 1, 1)
                if lines and lines[0].text.startswith(SAY):
                    await desk.reply(event.ticket_id, f"re:{lines[0].text}")
                    engine.outbox.wake()


async def _engine(db: Any, args: argparse.Namespace) -> dict[str, Any]:
    from engine.config import Config, EngineConfig
    from engine.desk import ensure_first_admin
    from engine.engine import Engine
    from engine.models import Channel
    from engine.web.server import pick_port

    port = pick_port()
    cfg = Config(engine=EngineConfig(http_port=port, lease_seconds=5, outbox_interval=1.0,
                                     http_ip_rate=0, http_visitor_rate=0,
                                     http_max_connections=args.idle + args.active + 100))
    async with Engine(cfg, db) as engine:
        admin = await ensure_first_admin(engine.store, "admin@acme.test", "Ada Admin")
        chat = await engine.store.add_channel(Channel(kind="chat", name="Website"))
        assert await engine.wait_leader(20)
        while engine.web is None:  # noqa: ASYNC110 - the server appears with the lead
            await asyncio.sleep(0.01)
        await asyncio.wait_for(engine.web.serving.wait(), 20)
        while not any(getattr(a, "kind", "") == "chat" for a in engine._adapters.values()):  # noqa: ASYNC110
            await asyncio.sleep(0.02)
        answering = asyncio.ensure_future(_answer(engine, admin))
        before = rss_mb()
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bench", "chat-load", "--role", "clients", "--target",
            f"ws://127.0.0.1:{port}/chat/{chat.id}/ws", "--idle", str(args.idle), "--active",
            str(args.active), "--seconds", str(args.seconds),
            stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        assert proc.stdin is not None and proc.stdout is not None
        opened = json.loads(await asyncio.wait_for(proc.stdout.readline(), 600))
        await asyncio.sleep(1.0)  # the last sessions settle
        with_idle = rss_mb()
        widgets = engine._adapters[chat.id].hub.count()  # type: ignore[attr-defined]
        proc.stdin.write(b"go\n")
        await proc.stdin.drain()
        result = json.loads(await asyncio.wait_for(proc.stdout.readline(),
                                                   args.seconds + 120))
        at_end = rss_mb()
        await proc.wait()
        answering.cancel()
    return {"opened": opened["idle_open"], "widgets_seen": widgets, "rss_before": before,
            "rss_idle": with_idle, "rss_end": at_end, **result}


def run(args: argparse.Namespace) -> dict[str, Any]:
    with scratch("chat-load") as where:
        stats = asyncio.run(_engine(where / "load.db", args))
    acks, answers = stats["acks"], stats["answers"]
    return {
        "bench": "chat-load", "idle_widgets": stats["opened"], "active": args.active,
        "seconds": args.seconds, "widgets_open_on_engine": stats["widgets_seen"],
        "lines_sent": len(acks), "answers": len(answers),
        "send_to_ack_p50_ms": round(pct(acks, 50), 1), "send_to_ack_p99_ms": round(pct(acks, 99), 1),
        "line_to_answer_p50_ms": round(pct(answers, 50), 1),
        "line_to_answer_p99_ms": round(pct(answers, 99), 1),
        "line_to_answer_max_ms": round(max(answers), 1) if answers else None,
        "engine_rss_mb": {"before": round(stats["rss_before"], 1),
                          "idle_open": round(stats["rss_idle"], 1),
                          "end": round(stats["rss_end"], 1)},
        "rss_kb_per_idle_widget": round((stats["rss_idle"] - stats["rss_before"]) * 1024
                                        / max(1, stats["opened"]), 1),
        "target_p99_ms": 100, "machine": machine(),
    }


def main(args: argparse.Namespace) -> dict[str, Any]:
    if args.role == "clients":
        asyncio.run(clients(args.target, args.idle, args.active, args.seconds))
        return {}
    result = run(args)
    emit("chat-load", result, args.json)
    return result
