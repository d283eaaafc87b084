"""Compare-and-set assignment: two agents taking one ticket at the same moment — one wins, the
other is told who has it (store, two processes through the CLI)."""

from __future__ import annotations

import asyncio
import subprocess

import pytest

from engine.desk import Desk, ensure_first_admin
from engine.models import Agent
from engine.store import Store
from engine.store.collision import AssignConflict
from tests.helpers.cli import BIN


async def _desk(path) -> tuple[int, list[str]]:
    async with Store(path) as store:
        ada = await ensure_first_admin(store, "ada@example.com", "Ada Admin")
        for email, name in (("bob@example.com", "Bob Builder"), ("cat@example.com", "Cat Lee")):
            await store.add_agent(Agent(email=email, name=name))
        result = await Desk(store, ada).create_ticket(subject="Help", from_email="c@example.org")
        return result.ticket_id, ["bob@example.com", "cat@example.com"]


async def test_two_stores_taking_at_once_one_wins_the_other_learns_who(tmp_path):
    db = tmp_path / "t.db"
    tid, emails = await _desk(db)
    async with Store(db) as one, Store(db) as two:
        bob, cat = await one.agent(emails[0]), await two.agent(emails[1])
        results = await asyncio.gather(Desk(one, bob).take(tid), Desk(two, cat).take(tid),
                                       return_exceptions=True)
        winners = [r for r in results if r is True]
        losers = [r for r in results if isinstance(r, AssignConflict)]
        assert len(winners) == 1 and len(losers) == 1, results
        ticket = await one.ticket(tid)
        assert losers[0].holder == f"{ticket.assignee_name} <{ticket.assignee_email}>"
        # the winner taking it again is fine; assigning over a stale view is refused
        assert await Desk(one if ticket.assignee_email == bob.email else two,
                          bob if ticket.assignee_email == bob.email else cat).take(tid) is False
        with pytest.raises(AssignConflict):
            await Desk(one, bob).assign_if(tid, "ada@example.com", None)


def test_two_cli_processes_take_one_ticket_one_wins(tmp_path):
    db = tmp_path / "t.db"
    tid, emails = asyncio.run(_desk(db))
    procs = [subprocess.Popen([BIN, "--db", str(db), "tickets", "take", str(tid), "--as", e],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for e in emails]
    outs = [(p.wait(60), *p.communicate()) for p in procs]
    codes = sorted(code for code, _, _ in outs)
    assert codes == [0, 1], outs
    loser = next(err for code, _, err in outs if code == 1)
    winner = next(out for code, out, _ in outs if code == 0)
    holder = winner.split("(")[1].rstrip(")\n")
    assert loser.strip().startswith(f"ticketty: error: #{tid} is already assigned to"), loser
    assert holder in loser
    # a script's compare-and-set: --if-assignee names who it expects
    other = next(e for e in emails if e != holder)
    stale = subprocess.run([BIN, "--db", str(db), "tickets", "assign", str(tid), other,
                            "--if-assignee", "nobody"], capture_output=True, text=True)
    assert stale.returncode == 1 and holder in stale.stderr
    fresh = subprocess.run([BIN, "--db", str(db), "tickets", "assign", str(tid), other,
                            "--if-assignee", holder], capture_output=True, text=True)
    assert fresh.returncode == 0, fresh.stderr
