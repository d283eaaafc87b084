"""``ticketty import chat FILE``: JSON Lines chat history → closed tickets, validated first,
idempotent, visitors with an email joined to the contact of their mails."""

from __future__ import annotations

import asyncio
import json

from engine.desk import Desk
from engine.store import TicketQuery
from tests.chat.chat_helpers import add_chat
from tests.helpers.cli import run_cli

LINES = [
    {"conversation_id": "c1", "time": "2026-03-02T10:15:05Z", "author_kind": "agent",
     "name": "Zoe", "email": "zoe@acme.test", "text": "Hi Ana! It ships today."},
    {"conversation_id": "c1", "time": "2026-03-02T10:15:00Z", "author_kind": "visitor",
     "name": "Ana Lima", "email": "Ana@Customer.test", "text": "Where is my order?"},
    {"conversation_id": "c2", "time": "2026-03-03T09:00:00Z", "author_kind": "bot",
     "name": "Bot", "email": "", "text": "Welcome!"},
    {"conversation_id": "c2", "time": "2026-03-03T09:00:10Z", "author_kind": "visitor",
     "name": "", "email": "", "text": "Just looking"},
]


def _write(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


async def test_conversations_become_closed_tickets_once(store, db_path, tmp_path):
    await add_chat(store, "Website")
    mail = await Desk(store, (await store.agents())[0]).create_ticket(
        subject="Earlier", from_email="ana@customer.test", name="Ana", body="by mail")
    path = _write(tmp_path / "chats.jsonl", LINES)
    done = await asyncio.to_thread(run_cli, db_path, "import", "chat", str(path), "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert (report["read"], report["created"], report["threaded"]) == (4, 2, 2)
    again = json.loads((await asyncio.to_thread(run_cli, db_path, "import", "chat", str(path),
                                                "--json")).stdout)
    assert (again["created"], again["duplicates"]) == (0, 4)
    closed = await store.page_tickets(TicketQuery(view="closed"), 0, 10)
    by_subject = {t.subject: t for t in closed}
    first = by_subject["Where is my order?"]
    assert first.channel_name == "Website" and first.contact_id == \
        (await store.ticket(mail.ticket_id)).contact_id
    lines = await store.thread_lines(first.id)
    assert [(x.author, x.text) for x in lines] == [("visitor", "Where is my order?"),
                                                  ("agent", "Hi Ana! It ships today.")]
    second = await store.thread_lines(by_subject["Just looking"].id)
    assert [x.author for x in second] == ["bot", "visitor"]


async def test_a_bad_line_is_named_and_nothing_is_written(store, db_path, tmp_path):
    path = _write(tmp_path / "bad.jsonl", [LINES[0], {**LINES[1], "author_kind": "robot"}])
    done = await asyncio.to_thread(run_cli, db_path, "import", "chat", str(path))
    assert done.returncode != 0
    assert f"{path}:2: author_kind 'robot' must be one of visitor, agent, bot" in done.stderr
    assert await store.count_tickets(TicketQuery(view="all")) == 0
