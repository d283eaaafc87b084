"""The queue's cursor and views as plain functions (tui/queue_model.py): milliseconds each.

The Pilot tests (tests/tui/test_queue_keys.py) press the keys in a running app; these pin the
arithmetic behind them down to the row, fast enough for mutation testing (issue 17).
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.models import Channel, Priority, Ticket
from engine.store import StoreError, TicketQuery
from tui import queue_model as qm
from tui.queue_model import BASE_VIEWS, View

WHEN = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def ticket(number: int, unread: bool = False) -> Ticket:
    return Ticket(id=number, subject=f"Question {number}", pipeline="default", status="open",
                  is_open=True, priority=Priority.normal, unread=unread, created_at=WHEN,
                  updated_at=WHEN, last_activity_at=WHEN)


def paged(ids: list[int], page_size: int) -> dict[int, list[Ticket]]:
    """``ids`` as the table holds them: page number → that page's tickets."""
    return {page: [ticket(i) for i in ids[page * page_size:(page + 1) * page_size]]
            for page in range((len(ids) + page_size - 1) // page_size)}


# ------------------------------------------------------------------------- geometry
def test_the_header_takes_one_line_and_at_least_one_row_shows():
    assert qm.visible_rows(14) == 13
    assert qm.visible_rows(2) == 1
    assert qm.visible_rows(1) == 1
    assert qm.visible_rows(0) == 1


def test_half_a_page_is_half_the_rows_on_screen_and_at_least_one():
    assert qm.half_page(14) == 6  # 13 rows on screen
    assert qm.half_page(15) == 7
    assert qm.half_page(4) == 1
    assert qm.half_page(3) == 1
    assert qm.half_page(2) == 1  # one row on screen: still moves


@pytest.mark.parametrize(("action", "expected"), [
    ("down", 8), ("up", 6), ("first", 0), ("last", 49), ("page_down", 13), ("page_up", 1)])
def test_each_cursor_key_asks_for_its_row(action, expected):
    assert qm.key_target(action, 7, 50, 14) == expected


def test_an_unknown_cursor_action_is_an_error_naming_the_known_ones():
    with pytest.raises(ValueError, match="unknown cursor action 'sideways' "
                                         r"\(down, up, first, last, page_down, page_up\)"):
        qm.key_target("sideways", 0, 5, 10)


def test_clamp_keeps_the_cursor_on_a_row():
    assert qm.clamp(-1, 5) == 0
    assert qm.clamp(0, 5) == 0
    assert qm.clamp(3, 5) == 3
    assert qm.clamp(5, 5) == 4
    assert qm.clamp(80, 5) == 4
    assert qm.clamp(0, 1) == 0
    assert qm.clamp(0, 0) is None
    assert qm.clamp(2, -1) is None


def test_a_row_on_screen_does_not_scroll():
    assert qm.scroll_to_show(10, 10, 13) is None  # the first line
    assert qm.scroll_to_show(22, 10, 13) is None  # the last line


def test_a_row_above_the_screen_becomes_the_first_line():
    assert qm.scroll_to_show(9, 10, 13) == 9
    assert qm.scroll_to_show(0, 10, 13) == 0


def test_a_row_below_the_screen_becomes_the_last_line_not_one_below_it():
    # issue 17: the scroll off by one at the bottom left the cursor's row just off screen
    assert qm.scroll_to_show(23, 10, 13) == 11
    assert qm.scroll_to_show(40, 10, 13) == 28
    assert qm.scroll_to_show(1, 0, 1) == 1


def test_a_view_at_the_top_stays_at_the_top_while_the_cursor_is_on_screen():
    assert qm.top_for(cursor=12, total=100, visible=13, at_top=True, on_screen=5) == 0
    # the cursor's ticket moved below the screen: follow it, keeping its line
    assert qm.top_for(cursor=13, total=100, visible=13, at_top=True, on_screen=5) == 8


def test_a_scrolled_view_keeps_the_cursor_on_its_line():
    assert qm.top_for(cursor=40, total=100, visible=13, at_top=False, on_screen=5) == 35
    assert qm.top_for(cursor=4, total=100, visible=13, at_top=False, on_screen=0) == 4
    assert qm.top_for(cursor=40, total=100, visible=13, at_top=False, on_screen=12) == 28


def test_the_cursor_line_is_clamped_to_the_screen():
    assert qm.top_for(cursor=40, total=100, visible=13, at_top=False, on_screen=20) == 28
    assert qm.top_for(cursor=40, total=100, visible=13, at_top=False, on_screen=-3) == 40


def test_the_scroll_offset_never_passes_the_end_nor_the_start():
    assert qm.top_for(cursor=98, total=100, visible=13, at_top=False, on_screen=0) == 87
    assert qm.top_for(cursor=99, total=100, visible=13, at_top=False, on_screen=12) == 87
    assert qm.top_for(cursor=2, total=100, visible=13, at_top=False, on_screen=5) == 0
    assert qm.top_for(cursor=3, total=5, visible=13, at_top=False, on_screen=1) == 0


def test_keep_top_reads_the_widgets_scroll_state():
    # height 14: 13 rows; scrolled to 30 with the cursor on 33 (line 3); the ticket moved to 50
    assert qm.keep_top(50, 100, 14, top=30, old_cursor=33) == 47
    # at the top with the cursor on line 2: a new ticket on top pushes it to line 3
    assert qm.keep_top(3, 100, 14, top=0, old_cursor=2) == 0
    assert qm.keep_top(13, 100, 14, top=0, old_cursor=12) == 1
    assert qm.keep_top(13, 100, 14, top=1, old_cursor=12) == 2


def test_a_reload_reads_the_screen_the_cursor_will_be_on():
    place = qm.placer(14, top=30, old_cursor=33)
    assert place(50, 100) == (47, 60)  # 13 rows from the cursor's line 3 up
    assert place(98, 100) == (87, 100)
    assert qm.placer(14, top=0, old_cursor=2)(3, 100) == (0, 13)
    assert qm.placer(1, top=5, old_cursor=5)(7, 100) == (7, 8)


def test_each_screen_line_shows_its_row():
    assert qm.line_row(top=10, y=0, total=50) is None  # the header
    assert qm.line_row(top=10, y=-1, total=50) is None
    assert qm.line_row(top=10, y=1, total=50) == 10
    assert qm.line_row(top=10, y=13, total=50) == 22
    assert qm.line_row(top=45, y=5, total=50) == 49
    assert qm.line_row(top=45, y=6, total=50) is None  # below the last row: blank


# ---------------------------------------------------------------------------- pages
def test_a_row_is_read_from_its_page():
    pages = paged([11, 12, 13, 14, 15], 2)
    assert [qm.row_at(pages, i, 2).id for i in range(5)] == [11, 12, 13, 14, 15]
    assert qm.row_at(pages, 5, 2) is None  # past the short last page
    assert qm.row_at({0: pages[0]}, 2, 2) is None  # its page is not in memory


def test_rows_are_read_in_pages_of_a_hundred_by_default():
    pages = {1: [ticket(500), ticket(501)]}
    assert qm.row_at(pages, 100).id == 500
    assert qm.row_at(pages, 101).id == 501
    assert qm.row_at(pages, 99) is None
    assert qm.numbered_rows(pages) == [(100, pages[1][0]), (101, pages[1][1])]
    assert qm.index_of(pages, 501) == 101


def test_the_rows_in_memory_are_numbered_in_view_order():
    pages = paged([1, 2, 3, 4, 5, 6, 7], 3)
    shuffled = {2: pages[2], 0: pages[0]}  # page 1 was dropped from the cache
    assert [(i, t.id) for i, t in qm.numbered_rows(shuffled, 3)] == [(0, 1), (1, 2), (2, 3),
                                                                     (6, 7)]


def test_a_ticket_is_found_by_its_number():
    pages = paged([7, 3, 9, 4], 2)
    assert qm.index_of(pages, 9, 2) == 2
    assert qm.index_of(pages, 7, 2) == 0
    assert qm.index_of(pages, 5, 2) is None


def test_the_pages_on_screen_and_one_either_side_are_read():
    assert qm.prefetch_pages(0, 14, 1000) == range(0, 2)
    assert qm.prefetch_pages(250, 14, 1000) == range(1, 4)
    assert qm.prefetch_pages(186, 14, 1000) == range(0, 4)  # the screen ends on page 2
    assert qm.prefetch_pages(185, 14, 1000) == range(0, 3)
    assert qm.prefetch_pages(990, 14, 1000) == range(8, 10)  # never past the last page
    assert qm.prefetch_pages(0, 14, 50) == range(0, 1)
    assert qm.prefetch_pages(90, 14, 101) == range(0, 2)  # the last page holds one row
    assert qm.prefetch_pages(0, 14, 0) == range(0, 0)
    assert qm.prefetch_pages(98, 0, 1000) == range(0, 2)  # no height yet: one line
    assert qm.prefetch_pages(99, 0, 1000) == range(0, 3)
    assert qm.prefetch_pages(99, -5, 1000) == range(0, 3)
    assert qm.prefetch_pages(12, 14, 1000, page_size=10) == range(0, 4)


def test_a_page_read_repaints_only_if_it_can_be_on_screen():
    assert qm.page_on_screen(0, 0, 14)
    assert qm.page_on_screen(1, 86, 14)  # row 100 is the screen's last line
    assert not qm.page_on_screen(1, 85, 14)
    assert qm.page_on_screen(1, 200, 14)  # its last row is just above: a resize may show it
    assert not qm.page_on_screen(1, 201, 14)
    assert qm.page_on_screen(2, 19, 1, page_size=10)
    assert not qm.page_on_screen(2, 18, 1, page_size=10)


def test_the_far_end_is_read_up_front_only_when_the_view_has_more_than_a_page():
    assert qm.last_page(0) is None
    assert qm.last_page(100) is None
    assert qm.last_page(101) == 1
    assert qm.last_page(200) == 1
    assert qm.last_page(201) == 2
    assert qm.last_page(7, page_size=3) == 2


def test_after_a_reload_the_cursor_takes_the_engines_row_unless_keys_moved_it():
    pages = paged([40, 41, 42, 43], 2)
    assert qm.cursor_after_reload(3, pages, anchor=None, current=41, page_size=2) == 3
    assert qm.cursor_after_reload(3, pages, anchor=43, current=None, page_size=2) == 3
    assert qm.cursor_after_reload(3, pages, anchor=43, current=43, page_size=2) == 3
    # keys moved the cursor to 41 while the load ran: it stays on 41
    assert qm.cursor_after_reload(3, pages, anchor=43, current=41, page_size=2) == 1
    # 41 left the window read: the caller reads again around it
    assert qm.cursor_after_reload(3, paged([40, 42, 43], 2), anchor=43, current=41,
                                  page_size=2) is None
    assert qm.cursor_after_reload(0, {1: [ticket(77)]}, anchor=5, current=77) == 100


def test_n_and_shift_n_find_the_nearest_unread_ticket_either_way():
    rows = [(0, ticket(1, True)), (1, ticket(2)), (2, ticket(3, True)), (3, ticket(4)),
            (4, ticket(5, True)), (5, ticket(6))]
    assert qm.next_unread(rows, 0, forward=True) == 2
    assert qm.next_unread(rows, 2, forward=True) == 4  # not the cursor's own row
    assert qm.next_unread(rows, 4, forward=True) is None
    assert qm.next_unread(rows, 5, forward=False) == 4
    assert qm.next_unread(rows, 4, forward=False) == 2
    assert qm.next_unread(rows, 0, forward=False) is None
    assert qm.next_unread(iter(rows), 3, forward=False) == 2  # rows read once
    assert qm.next_unread([], 0, forward=True) is None


def test_the_status_bar_counts_rows_from_one():
    assert qm.position(0, 0) == "0"
    assert qm.position(0, 5) == "1/5"
    assert qm.position(4, 5) == "5/5"
    assert qm.position(1233, 12000) == "1,234/12,000"


# ---------------------------------------------------------------------------- views
SUPPORT = Channel(id=3, kind="email", name="support")
SALES = Channel(id=8, kind="email", name="Sales")
PAUSED = Channel(id=5, kind="email", name="paused", enabled=False)


def test_the_views_are_the_base_views_then_each_enabled_channel():
    views = qm.views_for([SUPPORT, PAUSED, SALES])
    assert [v.key for v in views] == ["unassigned", "mine", "open", "closed", "channel:3",
                                      "channel:8"]
    assert views[4] == View("channel:3", "support", 3)
    assert views[5] == View("channel:8", "Sales", 8)
    assert qm.views_for([]) == list(BASE_VIEWS)
    assert [v.title for v in BASE_VIEWS] == ["Unassigned", "Mine", "All open", "Closed"]
    assert all(v.channel_id is None for v in BASE_VIEWS)


def test_tab_goes_to_the_next_view_and_shift_tab_to_the_previous_round_the_ends():
    views = qm.views_for([SUPPORT, SALES])
    assert qm.step_view(views, "open", 1) == "closed"
    assert qm.step_view(views, "open", -1) == "mine"
    assert qm.step_view(views, "channel:8", 1) == "unassigned"
    assert qm.step_view(views, "unassigned", -1) == "channel:8"
    assert qm.step_view(views, "closed", 2) == "channel:8"


def test_tab_from_a_view_that_is_gone_counts_from_the_first():
    views = qm.views_for([SUPPORT])
    assert qm.step_view(views, "channel:99", 1) == "mine"
    assert qm.step_view(views, "channel:99", -1) == "channel:3"


def test_a_number_key_picks_its_view_if_there_is_one():
    views = qm.views_for([SUPPORT])
    assert qm.numbered_view(views, 1) == "unassigned"
    assert qm.numbered_view(views, 3) == "open"
    assert qm.numbered_view(views, 5) == "channel:3"
    assert qm.numbered_view(views, 6) is None
    assert qm.numbered_view(views, 0) is None


def test_each_base_view_queries_its_own_view_for_the_agent():
    views = qm.views_for([SUPPORT])
    for key in ("unassigned", "mine", "open", "closed"):
        assert qm.view_query(views, key, 4, "created") == TicketQuery(
            view=key, agent_id=4, sort="created")
    assert qm.view_query(views, "mine", None, "activity") == TicketQuery(view="mine")


def test_a_channel_view_queries_only_its_channel():
    views = qm.views_for([SUPPORT, SALES])
    assert qm.view_query(views, "channel:8", 4, "priority") == TicketQuery(
        view="channel", channel_id=8, agent_id=4, sort="priority")
    assert qm.view_query(views, "channel:3", None, "activity") == TicketQuery(
        view="channel", channel_id=3)


def test_a_view_that_is_gone_queries_the_first_view():
    views = qm.views_for([SUPPORT])
    assert qm.view_query(views, "channel:8", 4, "activity") == TicketQuery(
        view="unassigned", agent_id=4)


def test_view_command_takes_aliases_titles_and_keys():
    views = qm.views_for([SUPPORT, SALES])
    assert [qm.named_view(views, a) for a in ("open", "all", "mine", "me", "unassigned",
                                               "closed")] == [
        "open", "open", "mine", "mine", "unassigned", "closed"]
    assert qm.named_view(views, "  ALL ") == "open"
    assert qm.named_view(views, "sales") == "channel:8"  # a title, any case
    assert qm.named_view(views, "Support") == "channel:3"
    assert qm.named_view(views, "All open") == "open"
    assert qm.named_view(views, "channel:3") == "channel:3"


def test_view_command_names_the_views_when_none_matches():
    with pytest.raises(StoreError) as raised:
        qm.named_view(qm.views_for([SUPPORT]), " billing")
    assert str(raised.value) == ("no view ' billing' (unassigned, mine, open, closed or a "
                                 "channel name)")


def test_o_cycles_the_sorts():
    assert qm.next_sort("activity") == "created"
    assert qm.next_sort("created") == "priority"
    assert qm.next_sort("priority") == "activity"


def test_sort_command_takes_only_a_known_sort():
    assert qm.checked_sort("priority") == "priority"
    with pytest.raises(StoreError) as raised:
        qm.checked_sort("oldest")
    assert str(raised.value) == "sort by activity, created, priority"


# ------------------------------------------------------------------------ properties
@given(total=st.integers(1, 500), visible=st.integers(1, 60), at_top=st.booleans(),
       on_screen=st.integers(-80, 80), data=st.data())
def test_top_for_always_shows_the_cursor(total, visible, at_top, on_screen, data):
    cursor = data.draw(st.integers(0, total - 1))
    top = qm.top_for(cursor, total, visible, at_top, on_screen)
    assert 0 <= top <= max(0, total - visible)
    assert top <= cursor < top + visible
    if not at_top and 0 <= on_screen < visible and 0 <= cursor - on_screen <= total - visible:
        assert cursor - top == on_screen  # the cursor stays on its line


@given(total=st.integers(0, 400), height=st.integers(1, 50),
       keys=st.lists(st.sampled_from(qm.KEY_ACTIONS), max_size=40))
def test_any_keys_keep_the_cursor_on_a_row_on_screen(total, height, keys):
    visible = qm.visible_rows(height)
    cursor, top = 0, 0
    for action in keys:
        target = qm.clamp(qm.key_target(action, cursor, total, height), total)
        if target is None:
            assert total == 0
            continue
        cursor = target
        new_top = qm.scroll_to_show(cursor, top, visible)
        if new_top is not None:
            top = new_top
        assert 0 <= cursor < total
        assert top <= cursor < top + visible
        assert 0 <= top <= max(0, total - visible)


def engine_window(ids: list[int], keep: int | None, cursor: int) -> int:
    """The engine's answer for the cursor (what ``read_window`` does in SQL): ``keep``'s row if
    it is still in the view, else the old row, clamped."""
    if keep in ids:
        return ids.index(keep)
    return max(0, min(cursor, len(ids) - 1))


edits = st.lists(st.tuples(st.booleans(), st.integers(0, 10_000)), max_size=30)


@given(ids=st.lists(st.integers(1, 10_000), min_size=1, max_size=300, unique=True),
       data=st.data(), changes=edits, height=st.integers(2, 40),
       page_size=st.sampled_from([3, 10, 100]))
def test_the_cursor_stays_on_its_ticket_as_rows_arrive_and_leave(ids, data, changes, height,
                                                                  page_size):
    cursor = data.draw(st.integers(0, len(ids) - 1))
    top = data.draw(st.integers(max(0, cursor - qm.visible_rows(height) + 1), cursor))
    kept = ids[cursor]
    after = list(ids)
    for insert, value in changes:  # new tickets arrive anywhere, others leave
        if insert and value not in after:
            after.insert(value % (len(after) + 1), value)
        elif after:
            after.pop(value % len(after))
    if not after:
        return
    window = engine_window(after, kept, cursor)
    landed = qm.cursor_after_reload(window, paged(after, page_size), anchor=kept, current=kept,
                                    page_size=page_size)
    assert landed is not None and 0 <= landed < len(after)
    if kept in after:
        assert after[landed] == kept
    new_top = qm.keep_top(landed, len(after), height, top, cursor)
    assert new_top <= landed < new_top + qm.visible_rows(height)


@given(ids=st.lists(st.integers(1, 10_000), min_size=2, max_size=200, unique=True),
       data=st.data(), page_size=st.sampled_from([3, 10, 100]))
def test_a_key_pressed_during_a_reload_keeps_the_ticket_it_chose(ids, data, page_size):
    anchor, chosen = data.draw(st.lists(st.sampled_from(ids), min_size=2, max_size=2,
                                        unique=True))
    arrived = data.draw(st.lists(st.integers(10_001, 20_000), max_size=20, unique=True))
    after = arrived + [i for i in ids if i != anchor]  # new tickets on top; the anchor left
    landed = qm.cursor_after_reload(0, paged(after, page_size), anchor=anchor, current=chosen,
                                    page_size=page_size)
    assert landed is not None
    assert after[landed] == chosen
