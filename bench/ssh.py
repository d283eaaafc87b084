"""``python -m bench ssh [--agents 30] [--rounds 20] [--events 10]``: a team over the built-in
SSH server.

This process runs the real SSH server (:class:`engine.ssh.server.SshServer`) on a seeded desk
(tmpfs); ``--agents`` clients connect with keys of their own (asyncssh, screens read by pyte),
so each session is a real ``ticketty`` TUI process under a PTY. Measured:

- **memory per session**: each session process's RSS and PSS (``/proc/PID/smaps_rollup``; PSS
  shares the pages common to all sessions fairly), and the server process's RSS;
- **key → repaint over SSH**: ``j``/``k`` on the queue, from the key leaving the client to the
  first bytes of the repaint arriving — one session at a time with the others idle, and all
  sessions pressing at once;
- **event → every other screen**: a new ticket written by another process (the bench's own
  store) until its subject arrives in every session's output (raw bytes: the client parses
  screens lazily, so 30 pyte screens do not slow the measurement down);
- **presence → every other screen**: one session opens the top ticket (from its key press),
  until every other session's queue marks that row with the agent's initial; and presence
  committed by another process (the bench's store, as a TUI's heartbeat task does), from the
  commit to every screen's mark.

Percentiles are nearest-rank over every (session, sample) pair. Sessions start in batches of
``--batch`` so start-up does not dominate the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import sys
import time
from pathlib import Path
from typing import Any

from bench.common import emit, machine, median, pct, scratch, seed_workspace
from bench.sshterm import Terminal, new_key


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--agents", type=int, default=30, help="concurrent SSH sessions (30)")
    p.add_argument("--rounds", type=int, default=20, help="key presses per session (20)")
    p.add_argument("--events", type=int, default=10, help="new tickets to watch arrive (10)")
    p.add_argument("--batch", type=int, default=5, help="sessions started at once (5)")


def _say(text: str) -> None:
    print(f"bench ssh: {text}", file=sys.stderr, flush=True)


def _memory(pid: int) -> tuple[float, float]:
    """(RSS, PSS) of ``pid`` in MB."""
    fields: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        parts = line.split()
        if len(parts) >= 2 and parts[1].isdigit():
            fields[parts[0].rstrip(":")] = int(parts[1])
    return fields.get("Rss", 0) / 1024, fields.get("Pss", 0) / 1024


async def _changed(term: Terminal, before: int, limit: float = 10.0) -> float | None:
    """Seconds until ``term`` received more than ``before`` bytes (None: it never did)."""
    started = time.monotonic()
    while term.received <= before:
        term.changed.clear()
        left = limit - (time.monotonic() - started)
        if left <= 0:
            return None
        try:
            await asyncio.wait_for(term.changed.wait(), left)
        except TimeoutError:
            return None
    return time.monotonic() - started


async def _press(term: Terminal, key: str) -> float | None:
    await asyncio.sleep(0.05)  # let any repaint still in flight land first
    before = term.received
    term.send(key)
    return await _changed(term, before)


def _marked(ticket_id: int) -> re.Pattern[bytes]:
    """The queue row of ``ticket_id`` drawn with an initial in its mark column ("●A #12 ",
    style changes allowed between the mark and the number), in the raw output."""
    return re.compile(rb"A (?:\x1b\[[0-9;:]*m)*#%d " % ticket_id)


async def _all_seen(futures: list[asyncio.Future[float]], t0: float,
                    limit: float = 20.0) -> tuple[list[float], int]:
    """Milliseconds from ``t0`` to each future's time; and how many never came."""
    done, late = await asyncio.wait(futures, timeout=limit)
    for future in late:
        future.cancel()
    return [(f.result() - t0) * 1000 for f in done], len(late)


async def run(args: argparse.Namespace, root: Path) -> dict[str, Any]:
    from engine.desk import Desk
    from engine.presence import PresenceSession
    from engine.ssh.keys import load_or_make_host_key
    from engine.ssh.server import SshServer
    from engine.ssh.settings import SshConfig
    from engine.store import Store, TicketQuery

    db = root / "desk.db"
    n = args.agents
    keys = [new_key() for _ in range(n)]
    async with Store(db) as store:
        await seed_workspace(store, agents=n)
        admin = await store.agent("admin@acme.test")
        desk = Desk(store, admin)
        for i in range(20):
            await desk.create_ticket(subject=f"Seed ticket {i}", from_email=f"c{i}@example.org")
        for i, key in enumerate(keys):
            await store.add_agent_key(f"agent{i}@acme.test", key.get_fingerprint("sha256"),
                                      key.export_public_key().decode().strip())
        host_key, _ = load_or_make_host_key(root / "host_key")
        settings = SshConfig(max_sessions=n + 5, idle_timeout=0)
        async with SshServer(store, db, host_key, settings, host="127.0.0.1", port=0) as server:
            terms: list[Terminal] = []
            started = time.monotonic()
            for first in range(0, n, args.batch):
                batch = await asyncio.gather(*(Terminal.open(server.port, keys[i], size=(120, 32))
                                               for i in range(first, min(n, first + args.batch))))
                await asyncio.gather(*(t.wait_for("Seed ticket", 120) for t in batch))
                terms.extend(batch)
            all_up = time.monotonic() - started
            _say(f"{len(terms)} sessions up in {all_up:.1f} s")
            for term in terms:  # view 3, "All open": every new ticket, whoever routing picks
                term.send("3")
            await asyncio.gather(*(t.wait_for("Seed ticket", 60) for t in terms))
            pids = [s.tui.pid for s in server.sessions if s.tui is not None and s.tui.pid]
            await asyncio.sleep(2)  # start-up garbage settles
            memory = [_memory(pid) for pid in pids]
            server_rss = _memory(os.getpid())[0]

            # key -> repaint, one session at a time (the others idle)
            alone: list[float] = []
            for r in range(args.rounds):
                for term in terms[: max(1, min(n, 10))]:
                    took = await _press(term, "j" if r % 2 == 0 else "k")
                    if took is not None:
                        alone.append(took * 1000)
            _say(f"key -> repaint alone: {len(alone)} samples")
            # key -> repaint, every session pressing at once
            together: list[float] = []
            for r in range(max(1, args.rounds // 4)):
                took_all = await asyncio.gather(*(_press(t, "j" if r % 2 == 0 else "k")
                                                  for t in terms))
                together.extend(t * 1000 for t in took_all if t is not None)
            for term in terms:  # back to the top row, so new tickets are on screen
                term.send("g")
            await asyncio.sleep(1)

            _say(f"key -> repaint together: {len(together)} samples")
            # event -> every other screen: a ticket written by another process (this store)
            event_ms: list[float] = []
            missed = 0
            for e in range(args.events):
                subject = f"Bench event {e}.{time.monotonic_ns() % 100000}"
                seen = [t.watch(subject) for t in terms]  # its bytes arriving, not parsed
                t0 = time.monotonic()
                await desk.create_ticket(subject=subject, from_email=f"e{e}@example.org")
                done, late = await asyncio.wait(seen, timeout=20)
                missed += len(late)
                for future in late:
                    future.cancel()
                event_ms.extend((f.result() - t0) * 1000 for f in done)
                await asyncio.sleep(0.2)

            _say(f"events: {len(event_ms)} seen, {missed} missed")
            # presence -> every other screen: session 0 opens the top ticket (a few times)
            presence_ms: list[float] = []
            presence_missed = 0
            for _ in range(3):
                await terms[0].wait_for("All open", 30)  # on the queue
                newest = (await store.page_tickets(TicketQuery(view="open"), 0, 1))[0]
                terms[0].send("g")  # new tickets pushed its cursor down: back to the top row
                await asyncio.sleep(0.5)
                seen = [t.watch(_marked(newest.id)) for t in terms[1:]]
                t0 = time.monotonic()
                terms[0].send("\r")
                took, late = await _all_seen(seen, t0)
                presence_ms.extend(took)
                presence_missed += late
                terms[0].send("\x1b")  # back to the queue: the marks go
                await asyncio.sleep(1.0)
            _say(f"presence from a key: {len(presence_ms)} seen, {presence_missed} missed")
            # presence committed by another process (a session with a heartbeat, as a TUI
            # has) -> every screen marks that ticket's row
            committed_ms: list[float] = []
            committed_missed = 0
            tickets = await store.page_tickets(TicketQuery(view="open"), 0, args.events)
            beacon = PresenceSession(store, admin.id, via="bench")
            await beacon.start()
            for ticket in tickets:
                seen = [t.watch(_marked(ticket.id)) for t in terms[1:]]
                t0 = time.monotonic()
                beacon.place(ticket.id, "viewing")
                took, late = await _all_seen(seen, t0)
                committed_ms.extend(took)
                committed_missed += late
                await asyncio.sleep(0.5)
            await beacon.stop()
            for term in terms:
                await term.close()
    rss = [m[0] for m in memory]
    pss = [m[1] for m in memory]
    return {
        "agents": n,
        "sessions": len(pids),
        "all_up_s": round(all_up, 1),
        "session_rss_mb_median": round(median(rss), 1),
        "session_pss_mb_median": round(median(pss), 1),
        "sessions_pss_mb_total": round(sum(pss), 1),
        "server_rss_mb": round(server_rss, 1),
        "key_repaint_alone_p50_ms": round(pct(alone, 50), 1),
        "key_repaint_alone_p99_ms": round(pct(alone, 99), 1),
        "key_repaint_all_at_once_p50_ms": round(pct(together, 50), 1),
        "key_repaint_all_at_once_p99_ms": round(pct(together, 99), 1),
        "event_to_every_screen_p50_ms": round(pct(event_ms, 50), 1),
        "event_to_every_screen_p99_ms": round(pct(event_ms, 99), 1),
        "event_missed": missed,
        "presence_to_every_screen_p50_ms": round(pct(presence_ms, 50), 1),
        "presence_to_every_screen_p99_ms": round(pct(presence_ms, 99), 1),
        "presence_missed": presence_missed,
        "presence_commit_to_every_screen_p50_ms": round(pct(committed_ms, 50), 1),
        "presence_commit_to_every_screen_p99_ms": round(pct(committed_ms, 99), 1),
        "presence_commit_missed": committed_missed,
        "machine": machine(),
    }


def main(args: argparse.Namespace) -> None:
    with scratch("ssh") as root:
        result = asyncio.run(run(args, root))
    emit("ssh", result, args.json)
