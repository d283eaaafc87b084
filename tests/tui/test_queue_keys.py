"""The queue's cursor keys, view keys, channel views and scrolling (issue 17, item 7)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from engine.desk import Desk
from engine.ingest import ingest
from engine.models import Channel, InboundMessage
from tests.helpers.tui import BASE, make_app, ready, settle
from tui.screens.queue import QueueScreen


@pytest.fixture
async def two_channels(seeded):
    """The seeded desk (11 open tickets on 'support') plus a second channel with 3 tickets
    and 20 more older tickets on 'support', so the queue is longer than a small screen."""
    from engine.store import Store

    db, ids = seeded
    async with Store(db) as store:
        sales = await store.add_channel(Channel(kind="email", name="sales",
                                                settings={"address": "sales@example.com"}))
        for i in range(3):
            await ingest(store, InboundMessage(
                channel_id=sales.id, key=f"sales-{i}", sender=f"buyer{i}@example.com",
                subject=f"Quote {i}", text="How much?",
                received_at=BASE - timedelta(days=4, minutes=i)))
        desk = Desk(store)
        for i in range(20):
            await desk.create_ticket(subject=f"Older question {i}", from_email=f"o{i}@example.com",
                                     channel_id=ids["channel"],
                                     received_at=BASE - timedelta(days=10, minutes=i))
    return db, ids, sales.id


def _line_text(table, y: int) -> str:
    return "".join(segment.text for segment in table.render_line(y))


async def test_k_and_up_move_the_cursor_up(seeded):
    db, _ = seeded
    app = make_app(db)
    async with app.run_test(size=(130, 36)) as pilot:
        await ready(pilot)
        table = app.screen.table
        await pilot.press("j", "j", "j", "j")
        assert table.cursor == 4
        await pilot.press("k")
        assert table.cursor == 3
        await pilot.press("up", "up")
        assert table.cursor == 1
        await pilot.press("k", "k")
        assert table.cursor == 0  # stops at the first row


async def test_shift_tab_goes_to_the_previous_view_and_tab_to_the_next(two_channels):
    db, ids, sales = two_channels
    app = make_app(db)
    async with app.run_test(size=(130, 36)) as pilot:
        await ready(pilot)
        screen = app.screen
        assert isinstance(screen, QueueScreen)
        keys = [v.key for v in screen.views]
        start = keys.index(screen.view_key)
        await pilot.press("shift+tab")
        await settle(pilot)
        assert screen.view_key == keys[(start - 1) % len(keys)]
        await pilot.press("shift+tab")
        await settle(pilot)
        assert screen.view_key == keys[(start - 2) % len(keys)]
        await pilot.press("tab")
        await settle(pilot)
        assert screen.view_key == keys[(start - 1) % len(keys)]


async def test_a_channel_view_shows_only_its_channels_tickets(two_channels):
    db, ids, sales = two_channels
    app = make_app(db)
    async with app.run_test(size=(130, 36)) as pilot:
        await ready(pilot)
        screen = app.screen
        for key, channel, total in ((f"channel:{sales}", "sales", 3),
                                    (f"channel:{ids['channel']}", "support", 31)):
            screen.switch_view(key)
            await settle(pilot)
            await ready(pilot)
            table = screen.table
            assert table.total == total
            names = {t.channel_name for _, t in table.loaded_rows()}
            assert names == {channel}


async def test_the_cursor_row_stays_on_screen_at_the_bottom(two_channels):
    db, _, _ = two_channels
    app = make_app(db)
    async with app.run_test(size=(130, 14)) as pilot:
        await ready(pilot)
        table = app.screen.table
        visible = table.size.height - 1  # the header takes the first line
        assert 3 <= visible < table.total
        for _ in range(visible + 2):  # one row at a time past the bottom of the screen
            await pilot.press("j")
        await settle(pilot)
        top = int(table.scroll_offset.y)
        assert table.cursor == visible + 2
        assert top == table.cursor - visible + 1  # the cursor on the last line, not below it
        assert table.current_ticket.subject in _line_text(table, visible)
        await pilot.press("G")
        await settle(pilot)
        assert table.cursor == table.total - 1
        assert int(table.scroll_offset.y) == table.total - visible
        assert table.current_ticket.subject in _line_text(table, visible)
        await pilot.press("k")
        await settle(pilot)  # moving up inside the screen does not scroll
        assert int(table.scroll_offset.y) == table.total - visible
