"""The smallest whole flow: the queue opens on the seeded desk and Enter opens the ticket
under the cursor, with its thread."""

from __future__ import annotations

from tests.helpers.tui import make_app, ready
from tui.screens.queue import QueueScreen
from tui.screens.ticket import TicketScreen


async def test_queue_opens_and_enter_opens_the_ticket(seeded):
    db, ids = seeded
    app = make_app(db)
    async with app.run_test(size=(120, 30)) as pilot:
        await ready(pilot)
        assert isinstance(app.screen, QueueScreen)
        table = app.screen.table
        assert table.total == 11
        first = table.current_ticket
        assert first is not None and first.id in ids.values()
        await pilot.press("enter")
        await ready(pilot)
        screen = app.screen
        assert isinstance(screen, TicketScreen) and screen.ticket_id == first.id
        thread = "\n".join(screen.thread.plain_lines())
        store_texts = [m.text for m in await app.store.messages(first.id) if m.text]
        assert store_texts and store_texts[0].splitlines()[0] in thread
