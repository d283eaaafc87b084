"""Full-text search: every word typed must match (issue 17, item 6), on a real store."""

from __future__ import annotations

from engine.ingest import ingest
from engine.models import Channel, InboundMessage
from engine.store import TicketQuery
from engine.store.sqlite.fts import fts_query


async def test_every_word_must_match_not_any(store):
    ch = await store.add_channel(Channel(kind="email", name="Support",
                                         settings={"address": "help@acme.test"}))
    for n, (subject, text) in enumerate([("Blue widget", "it broke"), ("Red widget", "cracked"),
                                         ("Blue car", "no widget here"), ("Green", "nothing")]):
        await ingest(store, InboundMessage(channel_id=ch.id, key=f"<s{n}@x>",
                                           sender=f"c{n}@example.com", subject=subject, text=text))

    async def found(text: str) -> set[str]:
        q = TicketQuery(view="all", text=text)
        return {t.subject for t in await store.page_tickets(q, 0, 10)}

    assert await found("blue widget") == {"Blue widget", "Blue car"}  # subject + body words
    assert await found("red widget") == {"Red widget"}
    assert await found("blue cracked") == set()
    assert await store.count_tickets(TicketQuery(view="all", text="green widget")) == 0
    assert await found("wid") == {"Blue widget", "Red widget", "Blue car"}  # last word: prefix


def test_the_fts_query_joins_quoted_words_with_and():
    assert fts_query("blue  widget") == '"blue" "widget"*'
    assert fts_query('"; DROP') == '"DROP"*'
    assert fts_query("  ") == '""'


def _search_db():
    import sqlite3

    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE messages (id INTEGER PRIMARY KEY, ticket_id INTEGER)")
    conn.execute("CREATE VIRTUAL TABLE fts USING fts5(subject, body, ticket_id UNINDEXED,"
                 " tokenize = 'unicode61 remove_diacritics 2')")
    return conn


def _add(conn, mid: int, ticket: int, body: str) -> None:
    conn.execute("INSERT INTO messages(id, ticket_id) VALUES (?, ?)", (mid, ticket))
    conn.execute("INSERT INTO fts(rowid, subject, body, ticket_id) VALUES (?, '', ?, ?)",
                 (mid, body, ticket))


def test_the_search_cache_reuses_a_result_until_the_database_changes():
    import json

    from engine.store.sqlite.fts import SearchCache

    conn = _search_db()
    _add(conn, 1, 10, "blue widget")
    _add(conn, 2, 11, "blue car")
    cache = SearchCache(size=2)
    assert json.loads(cache.ticket_ids(conn, "blue")) == [10, 11]
    assert json.loads(cache.ticket_ids(conn, "widget")) == [10]
    conn.execute("DELETE FROM messages WHERE id=1")  # a change: read again, not the cache
    assert json.loads(cache.ticket_ids(conn, "blue")) == [11]
    cache.ticket_ids(conn, "car")
    cache.ticket_ids(conn, "blue")  # used last: stays
    assert list(cache._entries) == ['"car"*', '"blue"*'] and len(cache._entries) == 2
    assert cache.ticket_ids(conn, "BLUE") == cache.ticket_ids(conn, "blue")
