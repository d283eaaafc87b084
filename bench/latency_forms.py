"""``python -m bench latency --channel forms``: a form POST → the ticket on a second process's
queue page.

The server is a real ``ticketty engine --http-port P`` (its own process: uvicorn in the
engine's loop, the limits middleware, the forms channel's routes — token, honeypot, fill time
and rate checks, field validation — and the ingest pipeline, one write transaction per
submission) on a database on tmpfs; the front door's per-address limit and the channel's are
off for the run so the figure is the path's, not a limiter's (``min_fill_seconds = 0``: the
check still runs). A second process — the TUI stand-in of :func:`bench.latency._follow` —
follows the database and reads the open queue's first page on every event. This process is
the visitor: it loads the form (not timed, as a person reads it), then times from the moment it
starts the POST (urlencoded, keep-alive over loopback) until the follower has the ticket on its
page. Submissions are spaced 30–90 ms apart so each is its own arrival. Anchor: the POST alone
(request → thank-you page), which includes the ingest.
"""

from __future__ import annotations

import asyncio
import random
import re
import time
from html import unescape
from pathlib import Path
from typing import Any

from bench.common import (
    machine,
    on_tmpfs,
    pct,
    scratch,
    seed_workspace,
    start_follower,
    web_engine,
)

TOKEN = "latbench-"  # the follower reports tickets whose subject starts with it
_HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)"')


async def _seed(db: Path) -> None:
    from engine.form_defs import parse_form
    from engine.models import Channel, RoutingMode, RoutingRule, TicketDefaults
    from engine.store import Store

    async with Store(db) as store:
        email = await seed_workspace(store)
        await store.add_form(parse_form({"name": "Bench", "slug": "bench", "fields": [
            {"key": "name", "label": "Your name"},
            {"key": "email", "label": "Your email", "type": "email", "required": True},
            {"key": "campaign", "type": "hidden", "from_query": "campaign"}]}))
        await store.add_channel(Channel(
            kind="forms", name="Bench form",
            settings={"form": "bench", "reply_channel": email.name, "min_fill_seconds": 0,
                      "rate_per_minute": 0},
            defaults=TicketDefaults(status="new"),
            routing=email.routing.model_copy() if email.routing.mode != RoutingMode.nobody
            else RoutingRule()))


async def _visit(base: str, n: int) -> tuple[dict[str, float], list[float], int]:
    """``n`` submissions; (subject → POST start, POST times in ms, refusals)."""
    import httpx

    rng = random.Random(5)
    sent: dict[str, float] = {}
    post_ms: list[float] = []
    refused = 0
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        deadline = time.monotonic() + 60
        while (await client.get("/f/bench")).status_code != 200:
            if time.monotonic() > deadline:
                raise RuntimeError("the form was never served")
            await asyncio.sleep(0.05)
        for i in range(n):
            page = await client.get("/f/bench", params={"campaign": "bench"})
            hidden = {k: unescape(v) for k, v in _HIDDEN.findall(page.text)}
            data = {**hidden, "name": f"Customer {i}", "email": f"lat{i}@example.com",
                    "subject": f"{TOKEN}{i}",
                    "description": f"Hello, my order {i} has not arrived. Please help."}
            t0 = time.time()
            answer = await client.post("/f/bench", data=data)
            post_ms.append((time.time() - t0) * 1000)
            if answer.status_code == 200:
                sent[f"{TOKEN}{i}"] = t0
            else:
                refused += 1
            await asyncio.sleep(rng.uniform(0.03, 0.09))
    return sent, post_ms, refused


async def _measure(db: Path, port: int, n: int) -> dict[str, Any]:
    follower, seen, reader = await start_follower(["bench", "latency", "--follow", str(db)], key="subject")
    try:
        sent, post_ms, refused = await _visit(f"http://127.0.0.1:{port}", n)
        deadline = time.time() + 5
        while len([s for s in sent if s in seen]) < len(sent) and time.time() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
    finally:
        reader.cancel()
        follower.terminate()
        await follower.wait()
    lat = [(seen[s] - t0) * 1000 for s, t0 in sent.items() if s in seen]
    return {"latency": lat, "post_ms": post_ms, "sent": len(sent),
            "missing": len(sent) - len(lat), "refused": refused}


def run(n: int) -> dict[str, Any]:
    from engine.store.follow import FOLLOW_INTERVAL

    with scratch("latency-forms") as where:
        db = where / "latency.db"
        asyncio.run(_seed(db))
        with web_engine(where, db) as running:
            stats = asyncio.run(_measure(db, running.port, n))
        tmpfs = on_tmpfs(where)
    lat = stats["latency"]
    return {
        "bench": "latency",
        "channel": "forms",
        "path": "form POST (HTTP) -> second process queue page",
        "n": stats["sent"],
        "p50_ms": round(pct(lat, 50), 1),
        "p99_ms": round(pct(lat, 99), 1),
        "max_ms": round(max(lat), 1) if lat else None,
        "missing": stats["missing"],
        "refused": stats["refused"],
        "post_p50_ms": round(pct(stats["post_ms"], 50), 1),
        "post_p99_ms": round(pct(stats["post_ms"], 99), 1),
        "follow_poll_interval_ms": FOLLOW_INTERVAL * 1000,
        "target_p99_ms": 100,
        "db_on_tmpfs": tmpfs,
        "machine": machine(),
    }
