"""Full-text search with SQLite's FTS5: indexing a message, and matching what a person typed.

The ``fts`` virtual table (schema migration 1) holds one row per message, ``rowid`` = the
message id, with its ticket's subject, its text and the ticket id. Everything that knows this
table's shape or FTS5's query language is here; a PostgreSQL backend would put a ``tsvector``
column and a ``websearch_to_tsquery`` behind the same functions and the cache.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections import OrderedDict

from engine.store.sqlite.connection import data_version
from engine.store.sqlite.tx import Tx

SEARCH_CAP = 2000  # a text search lists at most this many (most recent) tickets


def index_message(tx: Tx, message_id: int, subject: str, text: str, ticket_id: int) -> None:
    """Make a stored message findable by its ticket's subject and its text."""
    tx.execute("INSERT INTO fts(rowid, subject, body, ticket_id) VALUES (?,?,?,?)",
               (message_id, subject, text, ticket_id))


def reindex_message(tx: Tx, message_id: int, subject: str, text: str, ticket_id: int) -> None:
    """Make a message whose text changed (a call's status, its transcript) findable anew."""
    tx.execute("DELETE FROM fts WHERE rowid=?", (message_id,))
    index_message(tx, message_id, subject, text, ticket_id)


_TOKEN = re.compile(r"\w+", re.UNICODE)


def fts_query(text: str) -> str:
    """Turn what a person typed into a safe FTS5 query: every word must match (prefix on last)."""
    words = _TOKEN.findall(text)
    if not words:
        return '""'
    quoted = [f'"{w}"' for w in words]
    quoted[-1] += "*"
    return " ".join(quoted)


class SearchCache:
    """Ticket ids matching a text search, reused while the database has not changed.

    A queue search runs ``count_tickets`` and ``page_tickets`` (and ``index_of``) with the
    same text; the FTS part is the expensive one, so it is evaluated once and kept until any
    connection commits (``PRAGMA data_version``) or this one writes (``total_changes``).
    """

    def __init__(self, size: int = 8) -> None:
        self.size = size
        self._entries: OrderedDict[str, tuple[tuple[int, int, int], str]] = OrderedDict()

    def ticket_ids(self, conn: sqlite3.Connection, text: str) -> str:
        """The matching ticket ids as a JSON list (for ``json_each``)."""
        expr = fts_query(text)
        version = (id(conn), data_version(conn), conn.total_changes)
        hit = self._entries.get(expr)
        if hit is not None and hit[0] == version:
            self._entries.move_to_end(expr)
            return hit[1]
        # the tickets of the most recent SEARCH_CAP * 4 matching messages; the FTS is read for
        # rowids only and mapped through messages (cheaper than the FTS content row, and a
        # deleted message no longer counts)
        ids = [r[0] for r in conn.execute(
            "SELECT DISTINCT m.ticket_id FROM messages m WHERE m.id IN"
            " (SELECT rowid FROM fts WHERE fts MATCH ? ORDER BY rowid DESC LIMIT ?)",
            (expr, SEARCH_CAP * 4))]
        value = json.dumps(ids)
        self._entries[expr] = (version, value)
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)
        return value
