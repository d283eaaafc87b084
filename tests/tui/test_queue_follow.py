"""The queue's cursor follows its ticket as live rows arrive and leave, through the real store.

The table hands the engine :func:`tui.queue_model.placer`; the engine finds the kept ticket's
row and reads the screen around it in one snapshot (``Store.ticket_window``); the table then
places the cursor (:func:`tui.queue_model.cursor_after_reload`). These tests run that chain on
a real store with small pages, without a running app (tests/tui/test_queue_keys.py presses
the keys in one).
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from engine.desk import Desk
from engine.store import TicketQuery
from tests.helpers.tui import BASE
from tui import queue_model as qm

PAGE = 5  # small pages: the screen spans several
HEIGHT = 8  # a table 8 lines tall: 7 rows on screen
OPEN = TicketQuery(view="open")


async def _desk(store, count: int) -> tuple[Desk, list[int]]:
    """``count`` open tickets, newest first (the order of the open view)."""
    desk = Desk(store, await store.agent("admin@example.com"))
    for i in range(count):
        await desk.create_ticket(subject=f"Question {i}", from_email=f"c{i}@example.com",
                                 received_at=BASE - timedelta(hours=1, minutes=i))
    return desk, await _ids(store)


async def _ids(store) -> list[int]:
    return [t.id for t in await store.page_tickets(OPEN, 0, 1000)]


async def _arrive(desk: Desk, n: int, start: int) -> None:
    for i in range(n):
        await desk.create_ticket(subject=f"New {start + i}", from_email=f"n{i}@example.com",
                                 received_at=BASE + timedelta(minutes=start + i))


async def _reload(store, keep: int | None, cursor: int, top: int,
                  current: int | None = None) -> tuple[int | None, int, dict]:
    """What the table does on a reload: (the cursor, the new top, the pages read)."""
    place = qm.placer(HEIGHT, top, cursor)
    window = await store.ticket_window(OPEN, keep, cursor, place, PAGE)
    landed = qm.cursor_after_reload(window.cursor, window.pages, keep,
                                    keep if current is None else current, PAGE)
    top = qm.keep_top(window.cursor, window.total, HEIGHT, top, cursor)
    return landed, top, window.pages


async def test_the_cursor_stays_on_its_ticket_and_its_line_as_rows_arrive_and_leave(store):
    desk, ids = await _desk(store, 30)
    cursor, top = 12, 9  # ticket ids[12] on the screen's line 3
    kept = ids[12]
    await _arrive(desk, 4, 0)  # four newer tickets go on top
    await desk.close(ids[3])  # two above the cursor leave the open view, one below
    await desk.close(ids[5])
    await desk.close(ids[20])
    landed, new_top, pages = await _reload(store, kept, cursor, top)
    assert landed == 14
    assert qm.row_at(pages, landed, PAGE).id == kept
    assert new_top == 11  # still on line 3
    # the whole screen was read in the same snapshot
    assert all(qm.row_at(pages, i, PAGE) is not None for i in range(new_top, new_top + 7))


async def test_at_the_top_new_tickets_push_the_cursor_down_with_its_ticket(store):
    desk, ids = await _desk(store, 20)
    kept = ids[2]
    await _arrive(desk, 3, 0)
    landed, top, pages = await _reload(store, kept, 2, 0)
    assert (landed, top) == (5, 0)  # the view stays at the top: the new tickets show
    assert qm.row_at(pages, 5, PAGE).id == kept
    await _arrive(desk, 3, 10)
    landed, top, pages = await _reload(store, kept, 5, 0)
    assert (landed, top) == (8, 3)  # it would be below the screen: followed, on its line 5
    assert qm.row_at(pages, 8, PAGE).id == kept


async def test_when_its_ticket_leaves_the_cursor_stays_on_its_row(store):
    desk, ids = await _desk(store, 15)
    await desk.close(ids[6])
    landed, top, pages = await _reload(store, ids[6], 6, 3)
    assert (landed, top) == (6, 3)
    assert qm.row_at(pages, 6, PAGE).id == ids[7]  # the next ticket moved up into the row


async def test_when_the_last_rows_leave_the_cursor_stays_on_the_last(store):
    desk, ids = await _desk(store, 12)
    for ticket_id in ids[9:]:
        await desk.close(ticket_id)
    landed, top, pages = await _reload(store, ids[11], 11, 5)
    assert landed == 8
    assert top == 2  # the screen ends at the last row
    assert qm.row_at(pages, 8, PAGE).id == ids[8]


@pytest.mark.parametrize("arrivals", [0, 2, 9])
async def test_a_key_pressed_during_the_load_keeps_the_ticket_it_chose(store, arrivals):
    desk, ids = await _desk(store, 20)
    chosen = ids[5]  # the load kept ids[4]; `j` moved the cursor to ids[5] meanwhile
    await _arrive(desk, arrivals, 0)
    landed, _, pages = await _reload(store, ids[4], 4, 0, current=chosen)
    assert landed == 5 + arrivals
    assert qm.row_at(pages, landed, PAGE).id == chosen


async def test_a_chosen_ticket_outside_the_window_read_asks_for_another_read(store):
    desk, ids = await _desk(store, 40)
    # the cursor was on ids[0] at the top; keys went to ids[30], far below the screen read
    landed, _, _ = await _reload(store, ids[0], 0, 0, current=ids[30])
    assert landed is None
