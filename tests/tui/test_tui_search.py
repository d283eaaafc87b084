"""The queue's ``/`` search: unknown values are errors that name the valid ones (issue 11, item 7),
and a search that finds nothing says so instead of showing a blank list."""

from __future__ import annotations

from tests.helpers.tui import make_app, notifications, ready, settle, type_text, widget_text
from tui.screens.queue import QueueScreen

SIZE = (130, 36)


async def _search(pilot, text: str) -> None:
    await pilot.press("slash")
    box = pilot.app.screen.query_one("#search")
    box.value = ""
    await type_text(pilot, text)
    await pilot.press("enter")
    await settle(pilot)


async def test_unknown_status_or_channel_in_a_search_says_so(seeded):
    db, ids = seeded
    app = make_app(db)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        queue = app.screen
        assert isinstance(queue, QueueScreen)
        before = queue.table.total
        await _search(pilot, "status:bogus")
        said = notifications(app)
        assert said and said[-1] == ("Unknown status 'bogus' — statuses: new, open, pending,"
                                     " on_hold, solved, closed")
        # the list is not replaced by a blank one: the search is refused, the rows stay
        assert queue.search.empty and queue.table.total == before > 0
        await _search(pilot, "channel:nowhere")
        assert notifications(app)[-1] == "No channel named 'nowhere' — channels: support"
        assert queue.search.empty and queue.table.total == before
        await _search(pilot, "status:pending")
        assert "Unknown status" not in notifications(app)[-1]
        assert queue.search.filters == {"status": "pending"}


async def test_a_search_that_finds_nothing_says_no_tickets_match(seeded):
    db, _ = seeded
    app = make_app(db)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        queue = app.screen
        await _search(pilot, "zebra")
        assert queue.table.total == 0
        assert "No tickets match this search" in widget_text(queue.table)
