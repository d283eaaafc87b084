"""A ticket created through the tickets API says so in the queue and in the ticket's sidebar."""

from __future__ import annotations

from engine.desk import Desk
from engine.models import Source
from engine.store import Store
from tests.helpers.tui import NOW, make_app, ready, widget_text
from tui.screens.ticket import TicketScreen

SIZE = (130, 36)


async def test_an_api_ticket_shows_its_source(seeded):
    db, _ = seeded
    async with Store(db) as store:
        ada = await store.agent("ada@example.com")
        made = await Desk(store, ada).create_ticket(
            subject="Order 4711 stuck", from_email="shop@example.com", body="From our shop",
            source=Source.api, received_at=NOW)
    app = make_app(db)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        rows = widget_text(app.screen.table).splitlines()
        row = next(r for r in rows if "Order 4711 stuck" in r)
        assert " api " in f" {row} "
        app.open_ticket(made.ticket_id)
        await ready(pilot)
        assert isinstance(app.screen, TicketScreen)
        panel = widget_text(app.screen.query_one("#properties"))
        assert "api (tickets API)" in panel
