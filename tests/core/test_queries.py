"""The queue's reads (engine/store/queries.py) on a real store: which tickets each view and
filter shows, in which order for each sort, their positions, pages read from either end, one
ticket's fields, its thread and the view counts.

Six tickets with set times and priorities (written straight into the rows, so every order is
known in advance) cover every view, filter and sort.
"""

from __future__ import annotations

import hashlib
import sqlite3

import pytest

from engine.ingest import ingest
from engine.models import Agent, Channel, InboundAttachment, InboundMessage
from engine.store import TicketQuery
from engine.store.queries import RANK_PRIORITY, TICKET_SELECT, page_tickets, read_window
from engine.store.sqlite.fts import SearchCache

# id: (channel, assignee, open, status, prio, created_at, activity_at)
ROWS = {
    1: ("A", "admin", 1, "open", 1, 100.0, 600.0),
    2: ("B", None, 1, "open", 2, 200.0, 500.0),
    3: ("A", None, 0, "solved", 0, 300.0, 400.0),
    4: ("A", "bob", 1, "pending", 3, 400.0, 300.0),
    5: ("B", None, 1, "open", 1, 500.0, 200.0),
    6: ("B", "admin", 0, "solved", 2, 600.0, 100.0),
}


@pytest.fixture
async def desk(store):
    """The six tickets; returns ``{"A": id, "B": id, "admin": id, "bob": id, "team": id}``."""
    a = await store.add_channel(Channel(kind="email", name="A", settings={"address": "a@acme.test"}))
    b = await store.add_channel(Channel(kind="email", name="B", settings={"address": "b@acme.test"}))
    bob = await store.add_agent(Agent(email="bob@acme.test", name="Bob"))
    team = await store.add_team("Ops", ["bob@acme.test"])
    ids = {"A": a.id, "B": b.id, "admin": (await store.agent("admin@example.com")).id,
           "bob": bob.id, "team": team.id}
    for tid, (ch, who, is_open, status, prio, created, activity) in ROWS.items():
        r = await ingest(store, InboundMessage(channel_id=ids[ch], key=f"<k{tid}@x>",
                                               sender=f"c{tid}@example.com", sender_name=f"C{tid}",
                                               subject=f"subject {tid}", text=f"word{tid} common"))
        assert r.ticket_id == tid
        await store.write(lambda tx, tid=tid, who=who, is_open=is_open, status=status, prio=prio,
                          created=created, activity=activity: tx.execute(
            "UPDATE tickets SET assignee_id=?, is_open=?, status=?, prio=?, created_at=?,"
            " activity_at=?, updated_at=?, closed_at=?, team_id=NULL, unread=? WHERE id=?",
            (ids[who] if who else None, is_open, status, prio, created, activity, activity + 1,
             None if is_open else activity, tid % 2, tid)))
    await store.write(lambda tx: tx.execute("UPDATE tickets SET team_id=? WHERE id=4", (team.id,)))
    return ids


async def _ids(store, q: TicketQuery, offset: int = 0, limit: int = 50) -> list[int]:
    return [t.id for t in await store.page_tickets(q, offset, limit)]


async def test_each_view_shows_its_tickets_by_latest_activity(store, desk):
    expected = {
        TicketQuery(view="open"): [1, 2, 4, 5],
        TicketQuery(view="closed"): [3, 6],
        TicketQuery(view="all"): [1, 2, 3, 4, 5, 6],
        TicketQuery(view="unassigned"): [2, 5],
        TicketQuery(view="mine", agent_id=desk["admin"]): [1],
        TicketQuery(view="mine", agent_id=desk["bob"]): [4],
        TicketQuery(view="mine"): [],  # no agent: nobody's tickets, not the unassigned ones
        TicketQuery(view="channel", channel_id=desk["A"]): [1, 4],
        TicketQuery(view="channel", channel_id=desk["B"]): [2, 5],
    }
    for q, ids in expected.items():
        assert await _ids(store, q) == ids, q
        assert await store.count_tickets(q) == len(ids), q


async def test_filters_narrow_a_view_and_combine_with_and(store, desk):
    expected = {
        TicketQuery(view="all", status="solved"): [3, 6],
        TicketQuery(view="all", priority="urgent"): [4],
        TicketQuery(view="all", priority="low"): [3],
        TicketQuery(view="all", priority="bogus"): [],
        TicketQuery(view="all", assignee_id=desk["admin"]): [1, 6],
        TicketQuery(view="all", unassigned=True): [2, 3, 5],
        TicketQuery(view="all", channel_id=desk["B"]): [2, 5, 6],
        TicketQuery(view="closed", channel_id=desk["B"], assignee_id=desk["admin"]): [6],
        TicketQuery(view="open", status="open", priority="normal"): [1, 5],
        TicketQuery(view="all", text="word4"): [4],
        TicketQuery(view="open", text="common"): [1, 2, 4, 5],
        TicketQuery(view="all", text="common", channel_id=desk["A"], status="solved"): [3],
    }
    for q, ids in expected.items():
        assert await _ids(store, q) == ids, q
        assert await store.count_tickets(q) == len(ids), q


async def test_each_sort_orders_newest_first_with_the_id_as_tie_break(store, desk):
    assert await _ids(store, TicketQuery(view="all", sort="created")) == [6, 5, 4, 3, 2, 1]
    assert await _ids(store, TicketQuery(view="all", sort="priority")) == [4, 2, 6, 1, 5, 3]
    await store.write(lambda tx: tx.execute("UPDATE tickets SET activity_at=1, created_at=1"))
    for sort in ("activity", "created"):
        assert await _ids(store, TicketQuery(view="all", sort=sort)) == [6, 5, 4, 3, 2, 1]
    assert await _ids(store, TicketQuery(view="all", sort="priority")) == [4, 6, 2, 5, 1, 3]


@pytest.mark.parametrize("sort", ["activity", "created", "priority"])
@pytest.mark.parametrize("text", [None, "common"])
async def test_a_tickets_position_is_its_row_in_the_page(store, desk, sort, text):
    q = TicketQuery(view="all", sort=sort, text=text)
    ids = await _ids(store, q)
    assert [await store.index_of(q, tid) for tid in ids] == list(range(6))
    assert await store.index_of(q, 999) is None
    # the sort's keys all tied (the other columns still differ): the id decides
    tie = "created_at=7" if sort == "created" else "activity_at=7, prio=1"
    await store.write(lambda tx: tx.execute(f"UPDATE tickets SET {tie}"))
    ids = await _ids(store, q)
    assert ids == [6, 5, 4, 3, 2, 1]
    assert [await store.index_of(q, tid) for tid in ids] == list(range(6))


@pytest.mark.parametrize("sort", ["activity", "created", "priority"])
async def test_pages_read_from_the_far_end_match_the_forward_order(store, desk, sort):
    q = TicketQuery(view="all", sort=sort)
    forward = await _ids(store, q)
    for offset in range(7):
        for limit in (1, 2, 4):
            page = [t.id for t in await store.page_tickets(q, offset, limit, total=6)]
            assert page == forward[offset:offset + limit], (offset, limit)
    assert await store.page_tickets(q, 6, 3, total=6) == []
    assert await store.page_tickets(q, 9, 3) == []


async def test_a_window_reads_the_count_the_kept_tickets_row_and_its_pages(store, desk):
    q = TicketQuery(view="all")  # order 1 2 3 4 5 6

    def place(cursor: int, total: int) -> tuple[int, int]:
        return max(0, cursor - 1), min(total - 1, cursor + 1)

    w = await store.ticket_window(q, keep=5, cursor=0, place=place, page_size=2)
    assert (w.total, w.cursor) == (6, 4)
    assert {p: [t.id for t in ts] for p, ts in w.pages.items()} == {1: [3, 4], 2: [5, 6]}
    w = await store.ticket_window(q, keep=999, cursor=9, place=place, page_size=4)
    assert (w.total, w.cursor) == (6, 5)  # a gone ticket: the cursor, kept inside the view
    assert {p: [t.id for t in ts] for p, ts in w.pages.items()} == {1: [5, 6]}
    w = await store.ticket_window(q, keep=None, cursor=-3, place=place, page_size=2)
    assert w.cursor == 0 and list(w.pages) == [0]
    empty = await store.ticket_window(TicketQuery(view="mine"), None, 0, place, 2)
    assert (empty.total, empty.pages) == (0, {})


async def test_one_ticket_carries_its_names_and_when_the_customer_last_wrote(store, desk):
    t = await store.ticket(4)
    assert (t.id, t.subject, t.status, t.is_open, t.priority) == (4, "subject 4", "pending", True,
                                                                  "urgent")
    assert (t.channel_id, t.channel_name, t.channel_kind) == (desk["A"], "A", "email")
    assert (t.contact_name, t.contact_email) == ("C4", "c4@example.com")
    assert (t.assignee_id, t.assignee_email, t.assignee_name) == (desk["bob"], "bob@acme.test", "Bob")
    assert (t.team_id, t.team_name) == (desk["team"], "Ops")
    assert t.unread is False and t.source == "channel" and t.closed_at is None
    assert t.created_at.timestamp() == 400.0 and t.last_activity_at.timestamp() == 300.0
    assert t.updated_at.timestamp() == 301.0
    contact = (await store.messages(4))[0].contact_id
    assert contact is not None and t.contact_id == contact
    assert (await store.ticket(3)).closed_at.timestamp() == 400.0
    wrote = max(m.created_at for m in await store.messages(4) if m.direction == "inbound")
    assert t.customer_wrote_at == wrote
    assert (await store.ticket(5)).unread is True and (await store.ticket(3)).is_open is False
    assert await store.ticket(999) is None
    assert {t.priority for t in await store.page_tickets(TicketQuery(view="all"), 0, 9)} == set(
        RANK_PRIORITY.values())
    assert TICKET_SELECT.lstrip().startswith("SELECT t.*")


async def test_a_thread_lists_messages_in_order_with_their_own_attachments(store, desk):
    await ingest(store, InboundMessage(
        channel_id=desk["A"], key="<k7@x>", sender="c1@example.com", subject="Re: subject 1",
        text="second", ticket_hint=1,
        attachments=[InboundAttachment(filename="a.txt", content_type="text/plain", data=b"abc")]))
    thread = await store.messages(1)
    assert [m.text for m in thread[:2]] == ["word1 common", "second"]
    first, second = thread[0], thread[1]
    assert first.attachments == [] and first.direction == "inbound"
    assert (second.author_email, second.channel_id, second.ticket_id) == (
        "c1@example.com", desk["A"], 1)
    (att,) = second.attachments
    assert (att.filename, att.content_type, att.size) == ("a.txt", "text/plain", 3)
    assert att.sha256 == hashlib.sha256(b"abc").hexdigest() and att.id is not None
    assert first.id < second.id and first.contact_id == second.contact_id is not None
    assert first.html is None and first.agent_id is None and first.author_name == "C1"
    assert first.created_at <= second.created_at
    assert await store.messages(2) and all(m.ticket_id == 2 for m in await store.messages(2))


async def test_an_agents_reply_in_the_thread_carries_its_author_and_delivery(store, desk):
    from engine.desk import Desk

    mid, _ = await Desk(store, await store.agent("admin@example.com")).reply(
        1, "thanks", html="<p>thanks</p>")
    await store.write(lambda tx: tx.execute(
        "UPDATE messages SET external_id='<out@x>', delivery_state='failed',"
        " delivery_error='550 no' WHERE id=?", (mid,)))
    reply = next(m for m in await store.messages(1) if m.id == mid)
    assert (reply.direction, reply.agent_id, reply.author_name) == (
        "outbound", desk["admin"], "Ada Admin")
    assert (reply.text, reply.html, reply.external_id) == ("thanks", "<p>thanks</p>", "<out@x>")
    assert (reply.delivery_state, reply.delivery_error) == ("failed", "550 no")
    assert reply.channel_id == desk["A"] and reply.contact_id is None


async def test_view_counts_match_the_views(store, desk):
    counts = await store.view_counts(desk["admin"])
    assert counts == {"unassigned": 2, "mine": 1, "open": 4, "closed": 2,
                      f"channel:{desk['A']}": 2, f"channel:{desk['B']}": 2}
    assert (await store.view_counts(None))["mine"] == 0
    await store.write(lambda tx: tx.execute("UPDATE tickets SET is_open=0 WHERE channel_id=?",
                                            (desk["A"],)))
    counts = await store.view_counts(desk["bob"])
    assert f"channel:{desk['A']}" not in counts  # a channel with nothing open is left out
    assert counts["mine"] == 0 and counts["open"] == 2


def _traced(db_path) -> tuple[sqlite3.Connection, list[str]]:
    """A reader of the store's database, as the store opens one, and the statements it runs."""
    conn = sqlite3.connect(db_path)
    conn.row_factory = sqlite3.Row
    ran: list[str] = []
    conn.set_trace_callback(ran.append)
    return conn, ran


def _place(cursor: int, total: int) -> tuple[int, int]:
    return 0, total + 3  # more rows than the view has: pages past the end are not read


async def test_a_windows_text_search_runs_the_full_text_query_once(db_path, store, desk):
    conn, ran = _traced(db_path)
    q = TicketQuery(view="all", text="common")
    w = read_window(conn, q, keep=3, cursor=0, place=_place, page_size=2, search=SearchCache())
    assert (w.total, w.cursor) == (6, 2)
    assert {p: [t.id for t in ts] for p, ts in w.pages.items()} == {0: [1, 2], 1: [3, 4], 2: [5, 6]}
    # count, position and three pages, one FTS read
    assert sum("fts MATCH" in s for s in ran) == 1
    conn.close()


async def test_deep_pages_are_read_from_the_far_end(db_path, store, desk):
    conn, ran = _traced(db_path)
    q = TicketQuery(view="all")  # 1 2 3 4 5 6
    for offset, far in [(0, False), (3, False), (4, True), (5, True)]:
        ran.clear()
        assert [t.id for t in page_tickets(conn, q, offset, 2, total=6)] == [1, 2, 3, 4, 5, 6][
            offset:offset + 2]
        (ids_sql,) = [s for s in ran if s.startswith("SELECT t.id FROM")]
        assert ("t.id ASC LIMIT" in ids_sql) == far, (offset, ids_sql)  # the reversed order
    ran.clear()
    assert page_tickets(conn, q, 6, 2, total=6) == [] and ran == []  # past the end: no query
    w = read_window(conn, q, keep=None, cursor=5, place=lambda c, t: (4, 5), page_size=2)
    assert [t.id for t in w.pages[2]] == [5, 6]
    assert any(s.startswith("SELECT t.id FROM") and "ASC LIMIT" in s for s in ran)
    conn.close()
