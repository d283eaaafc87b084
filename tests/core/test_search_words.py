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
