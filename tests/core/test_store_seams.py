"""The store's seams (issue 10 §3): the change feed, the connection thread, the pure ingest rules.

A second backend implements :class:`~engine.store.follow.ChangeFeed` and reuses
:mod:`engine.ingest_rules`; these tests pin what both promise, with no mocks: real stores on
real files, and the rules as plain functions.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from engine.ingest_rules import (
    REOPEN_WINDOW,
    collision_key,
    conversation_continues,
    customer_of,
    first_line,
    should_route,
)
from engine.models import Channel, InboundFlags, InboundMessage
from engine.store import Store
from engine.store.follow import ChangeFeed
from engine.store.sqlite.connection import SqliteConnection


async def test_the_feed_delivers_only_other_processes_events_and_stops(tmp_path):
    db = tmp_path / "f.db"
    async with Store(db) as writer, Store(db) as follower:
        assert isinstance(follower.feed, ChangeFeed)
        got: list[str] = []
        unsubscribe = follower.feed.subscribe(lambda events: got.extend(e.kind for e in events))
        await follower.set_setting("x", 1)  # no event of its own is re-delivered
        await writer.add_team("Support")
        await follower.feed.poll()
        assert got == ["team.added"]
        unsubscribe()
        await writer.add_team("Billing")
        await follower.feed.poll()
        assert got == ["team.added"]  # unsubscribed: nothing more

        queue = follower.subscribe()
        await follower.start_following()
        await writer.add_team("Sales")
        event = await asyncio.wait_for(queue.get(), 2)
        assert event.kind == "team.added" and event.data["name"] == "Sales"
        await follower.feed.stop()
        await writer.add_team("Legal")
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.3):
                await queue.get()


async def test_a_connection_runs_calls_in_order_and_refuses_them_once_closed(tmp_path):
    never = SqliteConnection(tmp_path / "n.db")
    await never.close()  # never opened: nothing to wait for
    conn = await SqliteConnection(tmp_path / "c.db").open(lambda c: None)
    results = await asyncio.gather(*(conn.run(lambda c, i=i: c.execute("SELECT ?", (i,))
                                              .fetchone()[0]) for i in range(20)))
    assert results == list(range(20))
    with pytest.raises(ZeroDivisionError):  # an error reaches the caller, the thread goes on
        await conn.run(lambda c: 1 / 0)
    assert await conn.run(lambda c: 2) == 2
    await conn.close()
    conn.thread.join(timeout=5)
    assert not conn.thread.is_alive()
    with pytest.raises(ValueError, match="closed"):
        await conn.run(lambda c: 1)


async def test_closing_returns_once_the_database_is_closed(tmp_path):
    """The last connection's close checkpoints the WAL and removes it: when ``close()``
    returns that has happened (a test copying the file right after must not race it)."""
    db = tmp_path / "w.db"
    async with Store(db) as store:
        await store.set_setting("big", "x" * 4_000_000)  # a WAL worth checkpointing
        assert (tmp_path / "w.db-wal").exists()
    assert not (tmp_path / "w.db-wal").exists()


def _msg(**changes) -> InboundMessage:
    base = {"channel_id": 1, "key": "<a@x>", "sender": "ann@example.com", "sender_name": "Ann",
            "subject": "", "text": "\n  \n  first words here\nmore"}
    return InboundMessage(**{**base, **changes})


def test_the_customer_is_the_sender_unless_the_channel_answers_reply_to():
    msg = _msg(reply_to="team@example.com", extra={"reply_to_name": "Team"})
    plain = Channel(id=1, kind="email", name="S", settings={})
    by_reply_to = Channel(id=1, kind="email", name="S", settings={"customer_address": "reply_to"})
    assert customer_of(msg, plain) == ("ann@example.com", "Ann")
    assert customer_of(msg, None) == ("ann@example.com", "Ann")
    assert customer_of(msg, by_reply_to) == ("team@example.com", "Team")
    assert customer_of(_msg(), by_reply_to) == ("ann@example.com", "Ann")


def test_the_small_rules_of_ingest():
    assert first_line(_msg().text) == "first words here"
    assert first_line("  \n") == "(no subject)"
    assert collision_key("<a@x>", "0123456789abcdef0123") == "<a@x>#0123456789abcdef"
    now = datetime(2026, 1, 31, tzinfo=UTC).timestamp()
    window = REOPEN_WINDOW.total_seconds()
    assert conversation_continues(True, now - 10 * window, now)
    assert conversation_continues(False, now - window + 1, now)
    assert not conversation_continues(False, now - window, now)
    assert should_route(_msg(), created=True)
    assert not should_route(_msg(), created=False)
    assert not should_route(_msg(import_status="closed"), created=True)
    assert not should_route(_msg(flags=InboundFlags(auto_reply=True)), created=True)
    assert not should_route(_msg(flags=InboundFlags(list_mail=True)), created=True)
