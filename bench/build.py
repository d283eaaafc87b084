"""A fast bulk loader: a store of N tickets / M messages with the rows real ingest writes.

The schema comes from the real :class:`~engine.store.Store` (migrations) and the workspace
(agents, a team, channels) from the real engine calls. The bulk rows are then written straight
into the same tables the ingest pipeline fills — ``contacts``, ``contact_identities``,
``tickets``, ``messages`` (+ ``fts``), ``thread_ids``, ``inbound_keys`` — in big transactions
with ``executemany``, so a million messages take a minute or two instead of the ~20 minutes the
full pipeline (parse, route, events) would. Per-row events are not written (one ``bulk.loaded``
event marks the load); nothing the queue or search reads depends on them.

Distribution: activity over two years, ~40 % of tickets open, statuses across the default
pipeline, 4 channels, 20 agents (~20 % of tickets unassigned), priorities skewed to normal,
a contact pool of N/3, subjects and bodies drawn Zipf-like from :data:`bench.mailgen.VOCAB`.
"""

from __future__ import annotations

import asyncio
import json
import random
import sqlite3
import time
from pathlib import Path
from typing import Any

from bench.mailgen import _CUM, FILLER, VOCAB

STATUSES = [("new", 1, 10), ("open", 1, 15), ("pending", 1, 10), ("on_hold", 1, 5),
            ("solved", 0, 30), ("closed", 0, 30)]  # (name, is_open, weight)
PRIOS = [0, 1, 1, 1, 1, 1, 2, 2, 3]  # low, normal (most), high, urgent
CHUNK = 50_000
START = 1_672_531_200.0  # 2023-01-01
SPAN = 2 * 365 * 86400.0


async def _workspace(path: Path, agents: int) -> dict[str, Any]:
    from bench.common import seed_workspace
    from engine.models import Agent, Channel
    from engine.store import Store

    async with Store(path) as store:
        email = await seed_workspace(store, agents=agents)
        team = await store.team("Support")
        more = [await store.add_channel(Channel(kind=k, name=n)) for k, n in
                (("chat", "Website chat"), ("form", "Contact form"), ("whatsapp", "WhatsApp"))]
        await store.add_agent(Agent(email="away@acme.test", name="Away Agent",
                                    availability="away", teams=[team.id] if team else []))
        agent_ids = [a.id for a in await store.agents()]
        return {"channels": [email.id, *[c.id for c in more]], "agents": agent_ids,
                "team": team.id if team else None}


class _Tokens:
    """A long Zipf-like token stream; a text is a random slice of it (fast, still varied)."""

    def __init__(self, rng: random.Random, size: int = 1 << 20) -> None:
        vocab = rng.choices(VOCAB, cum_weights=_CUM, k=size)
        fill = rng.choices(FILLER, k=size)
        self.tokens = [v if i % 9 < 4 else f for i, (v, f) in enumerate(zip(vocab, fill, strict=True))]
        self.rng = rng

    def text(self, n: int) -> str:
        off = self.rng.randrange(len(self.tokens) - n)
        return " ".join(self.tokens[off:off + n])


def build(path: Path, *, tickets: int, messages: int | None = None, fts: bool = True,
          seed: int = 1, agents: int = 20) -> dict[str, Any]:
    """Create ``path`` with ``tickets`` tickets and ``messages`` messages (default 2.5 × tickets).

    Returns what was built and how long it took.
    """
    messages = messages if messages is not None else int(tickets * 2.5)
    messages = max(messages, tickets)
    t0 = time.perf_counter()
    ws = asyncio.run(_workspace(path, agents))
    rng = random.Random(seed)
    words = _Tokens(rng)
    conn = sqlite3.connect(str(path), isolation_level=None)
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("PRAGMA cache_size=-262144")
    n_contacts = max(1, tickets // 3)
    status_names = [s[0] for s in STATUSES]
    status_open = {s[0]: s[1] for s in STATUSES}
    status_w = [s[2] for s in STATUSES]
    assignees = ws["agents"]
    channels = ws["channels"]
    now = time.time()

    conn.execute("BEGIN")
    conn.executemany(
        "INSERT INTO contacts(id, name, created_at) VALUES (?,?,?)",
        ((i + 1, f"Customer {i + 1}", START) for i in range(n_contacts)))
    conn.executemany(
        "INSERT INTO contact_identities(kind, value, contact_id) VALUES ('email',?,?)",
        ((f"customer{i + 1}@example.com", i + 1) for i in range(n_contacts)))
    conn.execute("COMMIT")

    # messages per ticket: 1 + a geometric-ish share of the extra messages
    extra = messages - tickets
    per = [1] * tickets
    for _ in range(extra):
        per[rng.randrange(tickets)] += 1

    mid = 0
    tid = 0
    for start in range(0, tickets, CHUNK):
        trows, mrows, frows, krows = [], [], [], []
        for _ in range(min(CHUNK, tickets - start)):
            tid += 1
            created = START + SPAN * (tid / tickets) + rng.random() * 60
            k = per[tid - 1]
            activity = created + (rng.random() * 86400 * 3 if k > 1 else 0.0)
            status = rng.choices(status_names, weights=status_w)[0]
            is_open = status_open[status]
            channel = rng.choice(channels)
            assignee = None if rng.random() < 0.2 else rng.choice(assignees)
            contact = rng.randrange(n_contacts) + 1
            subject = words.text(rng.randint(3, 8)).capitalize()
            trows.append((tid, subject, "Support", status, is_open, rng.choice(PRIOS), channel,
                          contact, assignee, ws["team"] if assignee else None, "channel",
                          int(rng.random() < 0.3), None, created, activity, activity,
                          None if is_open else activity))
            for j in range(k):
                mid += 1
                at = created + (activity - created) * j / max(1, k - 1)
                inbound = j % 2 == 0
                text = words.text(rng.randint(20, 90))
                key = f"<m{mid}.{seed}@example.com>"
                mrows.append((mid, tid, "inbound" if inbound else "outbound",
                               f"Customer {contact}" if inbound else "Agent",
                               f"customer{contact}@example.com" if inbound else None,
                               None if inbound else assignee, contact if inbound else None,
                               text, key, channel, "none" if inbound else "sent", at))
                if fts:
                    frows.append((mid, subject, text, tid))
                krows.append((key, tid, mid))
        conn.execute("BEGIN")
        conn.executemany(
            "INSERT INTO tickets(id, subject, pipeline, status, is_open, prio, channel_id,"
            " contact_id, assignee_id, team_id, source, unread, thread_key, created_at,"
            " updated_at, activity_at, closed_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            trows)
        conn.executemany(
            "INSERT INTO messages(id, ticket_id, direction, author_name, author_email, agent_id,"
            " contact_id, text, external_id, channel_id, delivery_state, created_at)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", mrows)
        if frows:
            conn.executemany("INSERT INTO fts(rowid, subject, body, ticket_id) VALUES (?,?,?,?)",
                             frows)
        conn.executemany("INSERT INTO thread_ids(msgid, ticket_id, message_id) VALUES (?,?,?)",
                         krows)
        conn.executemany(
            "INSERT INTO inbound_keys(channel_id, key, message_id, ticket_id) VALUES (?,?,?,?)",
            ((channels[0], k, m, t) for k, t, m in krows))
        conn.execute("COMMIT")
    conn.execute(
        "INSERT INTO events(at, kind, ticket_id, origin, data) VALUES (?,?,?,?,?)",
        (now, "bulk.loaded", None, "bench", json.dumps({"tickets": tickets, "messages": mid})))
    # no ANALYZE / FTS 'optimize': a store grown by real ingest has neither
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return {"tickets": tickets, "messages": mid, "contacts": n_contacts, "fts": fts,
            "build_s": round(time.perf_counter() - t0, 2), "agents": len(assignees),
            "channels": channels}


def ensure(path: Path, **kw: Any) -> dict[str, Any]:
    """Build ``path`` unless a previous build with the same parameters is there."""
    marker = path.with_suffix(".built.json")
    if path.exists() and marker.exists():
        info = json.loads(marker.read_text())
        if all(info.get("params", {}).get(k) == v for k, v in kw.items()):
            return {**info["result"], "reused": True}
    for p in (path, path.with_suffix(".db-wal"), path.with_suffix(".db-shm"), marker):
        p.unlink(missing_ok=True)
    result = build(path, **kw)
    marker.write_text(json.dumps({"params": kw, "result": result}))
    return {**result, "reused": False}
