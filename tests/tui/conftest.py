"""TUI fixtures: one seeded database (fixed timestamps) copied per test, a frozen clock.

The seed goes through the engine API (ingest, Desk, store), never raw SQL or hand-written
thread lines, except where a state can only be reached by the outbox (a failed delivery),
which uses the outbox's own transaction function. Fixed times come from freezing the store's
clock around a call.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any
from unittest import mock

import pytest

from tests.helpers.seeding import copy_db
from tests.helpers.tui import BASE, TRICKY_SUBJECT


async def seed(path: Path, *, tickets: bool = True) -> dict[str, int]:
    from engine.desk import Desk, ensure_first_admin
    from engine.ingest import ingest
    from engine.models import Agent, Channel, InboundMessage
    from engine.outbox import Outbox
    from engine.store import Store

    ids: dict[str, int] = {}
    async with Store(path) as store:
        ada = await ensure_first_admin(store, "ada@example.com", "Ada Admin")
        await store.add_agent(Agent(email="bob@example.com", name="Bob Builder"))
        await store.add_agent(Agent(email="carol@example.com", name="Carol Chen",
                                    availability="away"))
        await store.add_team("Billing", ["bob@example.com"])
        channel = await store.add_channel(Channel(
            kind="email", name="support",
            settings={"address": "support@example.com",
                      "signature": "Cheers,\n{full_name}\nExample Support"}))
        ids["channel"] = channel.id
        await store.add_canned("Refund policy", "Refunds take 5 to 7 business days.")
        await store.add_canned("Password reset", "Reset your password at https://example.com/reset")
        if not tickets:
            return ids
        people = [("Jane Doe", "jane@example.org"), ("Omar Haddad", "omar@example.net"),
                  ("Li Wei", "li@example.cn"), ("Sam Rivers", "sam@example.com")]
        subjects = ["Printer on fire", "Cannot log in", "Refund for order 1042",
                    "Where is my parcel?", "Invoice address wrong", "App crashes on start",
                    "Feature request: dark mode", "Password reset link expired",
                    "Double charge on card", "Thanks for the help"]
        for i, subject in enumerate(subjects):
            name, email = people[i % len(people)]
            r = await ingest(store, InboundMessage(
                channel_id=channel.id, key=f"seed-{i}", sender=email, sender_name=name,
                subject=subject, text=f"Hello,\n\n{subject} — please help.\n\n{name}",
                received_at=BASE - timedelta(minutes=37 * i)))
            ids[f"t{i}"] = r.ticket_id
        html = await ingest(store, InboundMessage(
            channel_id=channel.id, key="seed-html", sender="html@example.org",
            sender_name="Hanna Html", subject="HTML only mail", text="",
            html="<p>Hello <b>team</b>,</p><ul><li>first point</li><li>second point</li></ul>",
            received_at=BASE - timedelta(days=2)))
        ids["html"] = html.ticket_id
        tricky = await ingest(store, InboundMessage(
            channel_id=channel.id, key="seed-tricky", sender="mallory@example.com",
            sender_name="[red]Mallory[/red]", subject=TRICKY_SUBJECT,
            text="Body with [link=https://evil]markup[/link] and \x1b]0;title\x07 escapes",
            received_at=BASE - timedelta(days=3)))
        ids["tricky"] = tricky.ticket_id
        desk = Desk(store, ada)
        # The ticket of the ticket-screen snapshot: a conversation with fixed times.
        tid = ids["t0"]
        await ingest(store, InboundMessage(
            channel_id=channel.id, key="seed-0-followup", sender="jane@example.org",
            sender_name="Jane Doe", subject="Re: Printer on fire", ticket_hint=tid,
            text="It is still smoking. Should I unplug it?", received_at=BASE + timedelta(minutes=5)))

        # the rest of the conversation through the engine, as the app writes it, at fixed
        # times (the store's clock frozen for each call): the thread's "assigned to Bob" line
        # and the sidebar's Assignee come from the same write
        def at(minutes: int) -> Any:
            stamp = (BASE + timedelta(minutes=minutes)).timestamp()
            return mock.patch("engine.store.db.time.time", return_value=stamp)

        with at(6):
            await desk.assign(tid, "bob@example.com")
        with at(7):
            await desk.note(tid, "Bob, can you call her?")
        with at(8):
            failed_mid, oid = await desk.reply(tid, "Please unplug it right away.",
                                               status="new")
        assert oid is not None
        item = await Outbox(store).item(oid)
        await store.write(Outbox._fail, item, "550 mailbox unavailable")
        ids["failed_message"] = failed_mid
        await desk.assign(ids["t1"], "bob@example.com")
        await desk.assign(ids["t2"], "ada@example.com")
        await desk.set_priority(ids["t3"], "urgent")
        await desk.set_priority(ids["t4"], "high")
        await desk.close(ids["t9"])
        await desk.mark_read(ids["t5"])
    return ids


@pytest.fixture(scope="session")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, int]]:
    path = tmp_path_factory.mktemp("tui-template") / "seed.db"
    ids = asyncio.run(seed(path))
    return path, ids


@pytest.fixture(scope="session")
def empty_template_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("tui-empty") / "empty.db"
    asyncio.run(seed(path, tickets=False))
    return path


@pytest.fixture
def seeded(template_db: tuple[Path, dict[str, int]], tmp_path: Path) -> tuple[Path, dict[str, int]]:
    path, ids = template_db
    return copy_db(path, tmp_path), ids


@pytest.fixture
def empty_db(empty_template_db: Path, tmp_path: Path) -> Path:
    return copy_db(empty_template_db, tmp_path)
