"""The SQLite-specific pieces of the store, kept together so a second backend is a second
package beside this one (``docs/architecture.md``, "Where SQL lives"):

- :mod:`.connection`: a ``sqlite3`` connection on a thread of its own, every ``PRAGMA``,
  opening checks and errors (``DatabaseError``);
- :mod:`.tx`: the write transaction (``Tx``) every room function receives;
- :mod:`.fts`: FTS5 — indexing messages, matching what a person typed, the search cache.

The change feed over ``PRAGMA data_version`` is :class:`engine.store.follow.SqliteDataVersionFeed`.
"""
