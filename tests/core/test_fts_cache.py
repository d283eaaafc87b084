"""The text search's cache and cap (engine/store/sqlite/fts.py), on a real SQLite FTS5 table.

The cache's point is that a queue search (count, page, position: three reads with one text)
runs the FTS query once; these tests count the statements SQLite really runs.
"""

from __future__ import annotations

import json
import sqlite3

import engine.store.sqlite.fts as fts
from engine.store.sqlite.fts import SearchCache


def _db() -> tuple[sqlite3.Connection, list[str]]:
    """An in-memory messages + fts pair and the list of statements run on it."""
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE messages (id INTEGER PRIMARY KEY, ticket_id INTEGER)")
    conn.execute("CREATE VIRTUAL TABLE fts USING fts5(subject, body, ticket_id UNINDEXED,"
                 " tokenize = 'unicode61 remove_diacritics 2')")
    ran: list[str] = []
    conn.set_trace_callback(ran.append)
    return conn, ran


def _add(conn: sqlite3.Connection, mid: int, ticket: int, body: str) -> None:
    conn.execute("INSERT INTO messages(id, ticket_id) VALUES (?, ?)", (mid, ticket))
    fts.index_message(conn, mid, "", body, ticket)  # type: ignore[arg-type]


def _searches(ran: list[str]) -> int:
    return sum(s.startswith("SELECT DISTINCT m.ticket_id") for s in ran)


def test_a_second_identical_search_is_served_from_the_cache():
    conn, ran = _db()
    _add(conn, 1, 10, "blue widget")
    cache = SearchCache()
    first = cache.ticket_ids(conn, "blue")
    assert _searches(ran) == 1
    assert cache.ticket_ids(conn, "blue") == first == "[10]"
    assert cache.ticket_ids(conn, " blue, ") == first  # the same FTS query, typed otherwise
    assert _searches(ran) == 1  # no second FTS read
    _add(conn, 2, 11, "blue car")  # this connection wrote: the cached list is stale
    assert sorted(json.loads(cache.ticket_ids(conn, "blue"))) == [10, 11]
    assert _searches(ran) == 2


def test_another_connections_commit_makes_the_cache_read_again(tmp_path):
    path = tmp_path / "db.sqlite"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("CREATE TABLE messages (id INTEGER PRIMARY KEY, ticket_id INTEGER)")
    conn.execute("CREATE VIRTUAL TABLE fts USING fts5(subject, body, ticket_id UNINDEXED)")
    _add(conn, 1, 10, "blue")
    cache = SearchCache()
    assert cache.ticket_ids(conn, "blue") == "[10]"
    other = sqlite3.connect(path, isolation_level=None)
    _add(other, 2, 11, "blue")
    assert sorted(json.loads(cache.ticket_ids(conn, "blue"))) == [10, 11]


def test_the_least_recently_used_search_is_the_one_evicted():
    conn, ran = _db()
    for n, word in enumerate(["red", "green", "blue"]):
        _add(conn, n + 1, n + 10, word)
    cache = SearchCache(size=2)
    cache.ticket_ids(conn, "red")
    cache.ticket_ids(conn, "green")
    cache.ticket_ids(conn, "red")  # used again: now the most recent
    assert _searches(ran) == 2
    cache.ticket_ids(conn, "blue")  # one too many: "green" (used longest ago) goes
    assert list(cache._entries) == ['"red"*', '"blue"*']
    cache.ticket_ids(conn, "red")
    assert _searches(ran) == 3  # red was kept
    cache.ticket_ids(conn, "green")
    assert _searches(ran) == 4  # green was not


def test_a_search_lists_the_tickets_of_the_most_recent_cap_times_four_matches(monkeypatch):
    monkeypatch.setattr(fts, "SEARCH_CAP", 2)  # at most 8 matching messages are looked at
    conn, _ = _db()
    for mid in range(1, 11):  # ten matching messages, one ticket each
        _add(conn, mid, 100 + mid, "refund")
    assert sorted(json.loads(SearchCache().ticket_ids(conn, "refund"))) == list(range(103, 111))


def test_a_reindexed_message_is_found_by_its_new_text_only():
    conn, _ = _db()
    _add(conn, 1, 10, "ringing")
    _add(conn, 2, 11, "voicemail")
    fts.reindex_message(conn, 1, "Call", "answered", 10)  # type: ignore[arg-type]
    assert SearchCache().ticket_ids(conn, "ringing") == "[]"
    assert SearchCache().ticket_ids(conn, "answered") == "[10]"
    assert SearchCache().ticket_ids(conn, "call") == "[10]"  # the subject is indexed too
    # the same row: the message's id and its ticket, as the table's contract says
    assert conn.execute("SELECT rowid, ticket_id FROM fts WHERE fts MATCH 'answered'").fetchall() \
        == [(1, 10)]


def test_one_cache_shared_by_two_databases_never_mixes_their_results():
    one, _ = _db()
    two, _ = _db()
    _add(one, 1, 10, "blue")
    _add(two, 1, 20, "blue")  # the same history of changes, other tickets
    cache = SearchCache()
    assert cache.ticket_ids(one, "blue") == "[10]"
    assert cache.ticket_ids(two, "blue") == "[20]"


def test_the_default_cache_keeps_the_last_eight_searches():
    conn, ran = _db()
    cache = SearchCache()
    words = [f"w{n}" for n in range(9)]
    for w in words:
        cache.ticket_ids(conn, w)
    assert list(cache._entries) == [f'"{w}"*' for w in words[1:]]
    assert _searches(ran) == 9
