"""Keys pressed while live events arrive: each one applied once, to the ticket under the cursor."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from engine.desk import Desk
from tests.helpers.tui import BASE, make_app, ready, settle
from tui.screens.ticket import TicketScreen

SIZE = (130, 36)


@pytest.fixture
async def longer(seeded):
    """The seeded desk plus 30 older tickets, so 20 rows of ``j`` have somewhere to go."""
    from engine.store import Store

    db, _ = seeded
    async with Store(db) as store:
        desk = Desk(store)
        for i in range(30):
            await desk.create_ticket(subject=f"Older question {i}", from_email=f"old{i}@example.com",
                                     received_at=BASE - timedelta(days=10, minutes=i))
    return db


async def _arrivals(app, count: int) -> asyncio.Task[list[int]]:
    """A background task ingesting ``count`` new tickets, returned once the first one is in."""
    started = asyncio.Event()

    async def run() -> list[int]:
        desk = Desk(app.store, app.agent)
        out = []
        for i in range(count):
            result = await desk.create_ticket(subject=f"Live arrival {i}",
                                              from_email=f"live{i}@example.com")
            out.append(result.ticket_id)
            started.set()
            await asyncio.sleep(0)
        return out

    task = asyncio.create_task(run())
    await started.wait()
    return task


async def test_twenty_j_during_fifty_arrivals_move_twenty_tickets(longer):
    app = make_app(longer)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        table = app.screen.table
        await pilot.press("j", "j")
        order = [t.id for _, t in table.loaded_rows()]
        start = table.current_ticket.id
        expected = order[order.index(start) + 20]
        arrivals = await _arrivals(app, 50)
        for _ in range(20):
            await pilot.press("j")
        new_ids = await arrivals
        await settle(pilot)
        assert table.total == len(order) + len(new_ids)
        assert table.current_ticket.id == expected


async def test_esc_from_a_ticket_opened_during_arrivals_returns_to_its_row(longer):
    app = make_app(longer)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        queue = app.screen
        order = [t.id for _, t in queue.table.loaded_rows()]
        arrivals = await _arrivals(app, 50)
        await pilot.press(*["j"] * 7, "enter")
        assert isinstance(app.screen, TicketScreen) and app.screen.ticket_id == order[7]
        await pilot.press("escape")
        await arrivals
        await settle(pilot)
        assert app.screen is queue and queue.table.current_ticket.id == order[7]
