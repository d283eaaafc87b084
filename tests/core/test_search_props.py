"""Property-based tests (hypothesis) of search query parsing (issue 17): the ``/`` language
(tui/search.py) and the FTS5 query built from what a person typed (engine/store/sqlite/fts.py),
run against SQLite's FTS5 with the store's own tokenizer."""

from __future__ import annotations

import re
import sqlite3

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from engine.store.sqlite.fts import fts_query
from tui.search import FILTER_KEYS, parse

FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
TOKENIZER = "unicode61 remove_diacritics 2"  # as engine/store/schema.py migration 1


def _fts() -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:")
    conn.execute(f"CREATE VIRTUAL TABLE fts USING fts5(subject, body, tokenize = '{TOKENIZER}')")
    return conn


word = st.text(st.characters(categories=["L", "Nd"]), min_size=1, max_size=10)


@FAST
@given(st.text(max_size=80))
@example('"; DROP TABLE fts; --')
@example("NEAR(a b) OR c* AND NOT d")
@example('a"b')
def test_any_typed_text_is_a_valid_fts5_query(text):
    conn = _fts()
    conn.execute("INSERT INTO fts(subject, body) VALUES ('x', 'y')")
    conn.execute("SELECT rowid FROM fts WHERE fts MATCH ?", (fts_query(text),)).fetchall()


@FAST
@given(st.lists(word, min_size=1, max_size=5), st.lists(word, max_size=5))
def test_a_text_holding_every_word_matches_and_one_missing_a_word_does_not(words, noise):
    conn = _fts()
    conn.execute("INSERT INTO fts(rowid, subject, body) VALUES (1, ?, ?)",
                 (" ".join(noise), " ".join(reversed(words))))
    query = fts_query(" ".join(words))
    assert conn.execute("SELECT rowid FROM fts WHERE fts MATCH ?", (query,)).fetchall() == [(1,)]
    missing = "qqzzx" + "".join(w for w in words if w.isascii())[:5]
    other = fts_query(" ".join([*words, missing, words[-1]]))  # AND: one word too many
    assert conn.execute("SELECT rowid FROM fts WHERE fts MATCH ?", (other,)).fetchall() == []


@FAST
@given(st.text(max_size=80))
def test_the_fts_query_quotes_each_word_and_prefixes_only_the_last(text):
    query = fts_query(text)
    words = re.findall(r"\w+", text)
    if not words:
        assert query == '""'
        return
    assert query == " ".join(f'"{w}"' for w in words) + "*"


plain = st.text(st.characters(categories=["L", "Nd"]), min_size=1, max_size=8)


@FAST
@given(st.lists(st.one_of(
    st.builds(lambda w: ("word", w), plain),
    st.builds(lambda k, v: ("filter", (k, v)), st.sampled_from(FILTER_KEYS), plain),
), max_size=8))
def test_words_and_filters_parse_back(parts):
    text = " ".join(p[1] if p[0] == "word" else f"{p[1][0]}:{p[1][1]}" for p in parts)
    search = parse(text)
    assert search.words == " ".join(p[1] for p in parts if p[0] == "word")
    expected: dict[str, str] = {}
    for kind, value in parts:
        if kind == "filter":
            expected[value[0]] = value[1]  # the last one of a key wins
    assert search.filters == expected
    assert search.empty == (not parts)


@FAST
@given(st.text(max_size=80))
@example('channel:"web form')
@example("status: x")
def test_parsing_never_raises_and_keeps_only_known_filters(text):
    search = parse(text)
    assert set(search.filters) <= set(FILTER_KEYS)
    assert all(v for v in search.filters.values())
