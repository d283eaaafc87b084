"""``python -m bench search [--messages N]``: full-text search latency at N messages.

Builds (or reuses, with ``--db``) a store of N messages with :mod:`bench.build` on tmpfs, then
runs searches the way the queue's ``/`` does — ``count_tickets(q)`` and the first page
``page_tickets(q, 0, 100, total)`` through the async :class:`~engine.store.Store` (reader
connection, connection thread hop included) — for one word, two words, and words with
``status:``, ``channel:`` and ``assignee:`` filters, across rare, medium and common words.
One search = count + first page (they share one FTS evaluation through the store's search
cache, as in the TUI; the cache is cleared before every search, so each one starts cold);
p50/p99 over every search of every round (after one warm-up round). Anchor: a bare ``SELECT count(*) FROM fts WHERE fts MATCH ?`` of the same one-word
queries on the same connection.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
from pathlib import Path
from typing import Any

from bench.build import ensure
from bench.common import emit, machine, median, on_tmpfs, pct, scratch
from bench.mailgen import VOCAB

PAGE = 100  # tui/widgets/ticket_table.py reads windows of 100 rows


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--messages", type=int, default=100_000, help="messages in the store")
    p.add_argument("--rounds", type=int, default=5, help="measured rounds over the query set")
    p.add_argument("--db", help="build/reuse the store at this path (kept afterwards)")


def queries(channels: list[int], agents: list[int]) -> list[tuple[str, dict[str, Any]]]:
    """(category, TicketQuery kwargs) — deterministic."""
    rng = random.Random(3)
    common = VOCAB[:15]
    medium = VOCAB[200:800]
    rare = VOCAB[3000:]
    out: list[tuple[str, dict[str, Any]]] = []
    for pool, tag in ((common, "common"), (medium, "medium"), (rare, "rare")):
        for _ in range(4):
            w = rng.choice(pool)
            out.append((f"one_word.{tag}", {"view": "all", "text": w}))
            out.append((f"one_word_open.{tag}", {"view": "open", "text": w}))
            out.append((f"two_words.{tag}", {"view": "all",
                                             "text": f"{w} {rng.choice(common + medium)}"}))
            out.append((f"filter_status.{tag}", {"view": "all", "text": w, "status": "pending"}))
            out.append((f"filter_channel.{tag}", {"view": "channel", "text": w,
                                                  "channel_id": rng.choice(channels)}))
            out.append((f"filter_assignee.{tag}", {"view": "all", "text": w,
                                                   "assignee_id": rng.choice(agents)}))
    return out


async def _measure(db: Path, rounds: int, info: dict[str, Any]) -> dict[str, Any]:
    from engine.store import Store, TicketQuery
    from engine.store.sqlite.fts import fts_query

    qs = queries(info["channels"], list(range(2, 2 + 10)))
    async with Store(db) as store:
        # anchor: the bare FTS match count of the one-word queries
        words = [kw["text"] for cat, kw in qs if cat.startswith("one_word.")]
        bare: list[float] = []
        for _ in range(rounds + 1):
            for w in words:
                t0 = time.perf_counter()
                await store.read(lambda c, w=w: c.execute(
                    "SELECT count(*) FROM fts WHERE fts MATCH ?", (fts_query(w),)).fetchone())
                bare.append((time.perf_counter() - t0) * 1000)
        bare = bare[len(words):]
        times: dict[str, list[float]] = {}
        hits: dict[str, int] = {}
        for r in range(rounds + 1):
            for cat, kw in qs:
                q = TicketQuery(**kw)
                store.__dict__.pop("_search_cache", None)  # every search starts cold
                t0 = time.perf_counter()
                total = await store.count_tickets(q)
                await store.page_tickets(q, 0, PAGE, total)
                ms = (time.perf_counter() - t0) * 1000
                if r:  # round 0 warms the page cache
                    times.setdefault(cat, []).append(ms)
                    hits[cat] = max(hits.get(cat, 0), total)
    every = [t for v in times.values() for t in v]
    kinds: dict[str, list[float]] = {}
    for cat, v in times.items():
        kinds.setdefault(cat.split(".")[0], []).extend(v)
    return {
        "p50_ms": round(pct(every, 50), 2),
        "p99_ms": round(pct(every, 99), 2),
        "max_ms": round(max(every), 2),
        "searches": len(every),
        "bare_fts_count_p50_ms": round(median(bare), 2),
        "by_kind_p99_ms": {k: round(pct(v, 99), 2) for k, v in sorted(kinds.items())},
        "by_kind_p50_ms": {k: round(pct(v, 50), 2) for k, v in sorted(kinds.items())},
        "worst_category": max(times, key=lambda c: pct(times[c], 99)),
        "max_hits": max(hits.values()),
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    with scratch("search", keep=str(Path(args.db).parent) if args.db else None) as where:
        db = Path(args.db) if args.db else where / "search.db"
        built = ensure(db, tickets=max(1, int(args.messages / 2.5)), messages=args.messages)
        stats = asyncio.run(_measure(db, args.rounds, built))
        tmpfs = on_tmpfs(db)
    return {
        "bench": "search",
        "messages": built["messages"],
        "tickets": built["tickets"],
        **{k: v for k, v in stats.items() if not isinstance(v, dict)},
        "target_p99_ms": 100,
        "build_s": built["build_s"],
        "store_reused": built["reused"],
        "db_on_tmpfs": tmpfs,
        "p99_by_kind": stats["by_kind_p99_ms"],
        "p50_by_kind": stats["by_kind_p50_ms"],
        "machine": machine(),
    }


def main(args: argparse.Namespace) -> dict[str, Any]:
    result = run(args)
    emit("search", result, args.json)
    return result
