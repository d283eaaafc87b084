"""``python -m bench ingest [--n N]``: email ingest vs the bare stdlib parse of the same mails.

Anchor: ``email.message_from_bytes(raw, policy=compat32)`` over the same raw mails, measured
in the same run (three rounds before and three after the pipeline, median taken, so a noisy
neighbour hits both sides alike).

Pipeline: what the email adapter does with a fetched batch — ``parse_email`` → forwarded-mail
attribution → quarantine of unparseable mail → ``ingest_many`` (one transaction per batch:
idempotency, contact, threading, ticket with channel defaults, round-robin routing to a team,
messages, FTS, attachments to blobs, events) into a fresh store. The store lives on tmpfs.
"""

from __future__ import annotations

import argparse
import asyncio
import email
import time
from email import policy
from typing import Any

from bench.common import emit, machine, median, on_tmpfs, scratch, seed_workspace
from bench.mailgen import Mailgen

BATCH = 200  # the IMAP client's UID FETCH batch size


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--n", type=int, default=10_000, help="mails to generate and ingest")
    p.add_argument("--batch", type=int, default=BATCH, help="mails per ingest transaction")
    p.add_argument("--seed", type=int, default=1)


def bare_parse_rate(raws: list[bytes]) -> float:
    t0 = time.perf_counter()
    for raw in raws:
        email.message_from_bytes(raw, policy=policy.compat32)
    return len(raws) / (time.perf_counter() - t0)


async def ingest_raw(store: Any, channel: Any, raws: list[bytes],
                     trusted: list[str] | None = None) -> tuple[list[Any], int]:
    """One batch the way the email adapter handles it; returns (results, quarantined)."""
    from engine.channels.email_parse import EmailParseError, attribute_forwarded, parse_email
    from engine.ingest import ingest_many

    msgs = []
    bad = 0
    trusted = trusted if trusted is not None else [channel.settings.get("address", "")]
    for raw in raws:
        try:
            m = parse_email(raw, channel_id=channel.id, max_bytes=25 * 1024 * 1024)
        except EmailParseError as exc:
            await store.add_quarantine("email", str(exc), raw, channel.id)
            bad += 1
            continue
        msgs.append(attribute_forwarded(m, use_original_sender=True, trusted_addresses=trusted))
    return await ingest_many(store, msgs), bad


async def _pipeline(raws: list[bytes], batch: int, where: Any) -> dict[str, Any]:
    from engine.store import Store

    db = where / "ingest.db"
    async with Store(db) as store:
        channel = await seed_workspace(store)
        agents = [a.email for a in await store.agents()]
        trusted = [channel.settings["address"], *agents]
        created = dup = bad = 0
        t0 = time.perf_counter()
        for i in range(0, len(raws), batch):
            results, q = await ingest_raw(store, channel, raws[i:i + batch], trusted)
            bad += q
            created += sum(1 for r in results if r.created_ticket)
            dup += sum(1 for r in results if r.duplicate)
        elapsed = time.perf_counter() - t0
        counts = await store.read(lambda c: c.execute(
            "SELECT (SELECT count(*) FROM tickets), (SELECT count(*) FROM messages),"
            " (SELECT count(*) FROM tickets WHERE assignee_id IS NOT NULL),"
            " (SELECT count(*) FROM fts)").fetchone())
    return {
        "elapsed_s": elapsed, "tickets": counts[0], "messages": counts[1],
        "assigned": counts[2], "fts_rows": counts[3], "created": created,
        "duplicates": dup, "quarantined": bad,
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    t0 = time.perf_counter()
    raws = Mailgen(args.seed).mails(args.n)
    gen_s = time.perf_counter() - t0
    bare = [bare_parse_rate(raws) for _ in range(3)]
    with scratch("ingest") as where:
        stats = asyncio.run(_pipeline(raws, args.batch, where))
        tmpfs = on_tmpfs(where)
    bare += [bare_parse_rate(raws) for _ in range(3)]
    bare_rate = median(bare)
    rate = len(raws) / stats["elapsed_s"]
    return {
        "bench": "ingest",
        "n": len(raws),
        "batch": args.batch,
        "mails_per_s": round(rate, 1),
        "bare_parse_per_s": round(bare_rate, 1),
        "ratio": round(rate / bare_rate, 3),
        "target_ratio": 0.25,
        "avg_mail_bytes": round(sum(map(len, raws)) / len(raws)),
        "bare_parse_rounds": [round(b) for b in bare],
        "generate_s": round(gen_s, 2),
        "db_on_tmpfs": tmpfs,
        "pipeline": {k: round(v, 3) if isinstance(v, float) else v for k, v in stats.items()},
        "machine": machine(),
    }


def main(args: argparse.Namespace) -> dict[str, Any]:
    result = run(args)
    emit("ingest", result, args.json)
    return result
