"""Screenshots of each screen (pytest-textual-snapshot). Update with ``--snapshot-update``.

Deterministic: the seeded database has fixed timestamps, the app's clock is frozen and times
are shown in UTC. The queue and the ticket screen are taken at 80×24, 120×40 and 200×50: the
columns size to their content, the view bar keeps every view (abbreviated when narrow) and
below 100 columns the ticket's details panel folds away.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.helpers.tui import BASE, make_app, ready

SIZES = [(80, 24), (120, 40), (200, 50)]


@pytest.fixture
async def desk_db(seeded):
    """The seeded desk with two more channels (long names, like a real desk's) and their mail:
    seven views, as in the demo."""
    from engine.ingest import ingest
    from engine.models import Channel, InboundMessage
    from engine.store import Store

    db, ids = seeded
    async with Store(db) as store:
        billing = await store.add_channel(Channel(
            kind="email", name="Billing & invoices (EU)",
            settings={"address": "billing@example.com"}))
        await store.add_channel(Channel(kind="email", name="Partners",
                                        settings={"address": "partners@example.com"}))
        await ingest(store, InboundMessage(
            channel_id=billing.id, key="snap-billing", sender="finance@bigcustomer.example",
            sender_name="Margaret Thompson-Whitfield", subject="VAT number missing on invoice",
            text="Please add our VAT number.", received_at=BASE - timedelta(minutes=90)))
    return db, ids


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_queue_snapshot(desk_db, snap_compare, size):
    db, ids = desk_db
    assert snap_compare(make_app(db), terminal_size=size, run_before=ready)


def open_ticket(ticket_id: int, *keys: str, text: str = ""):
    """A ``run_before`` that opens a ticket, presses ``keys`` and types ``text``."""

    async def run_before(pilot) -> None:
        await ready(pilot)
        pilot.app.open_ticket(ticket_id)
        await ready(pilot)
        if keys:
            await pilot.press(*keys)
            await pilot.pause()
        if text:
            pilot.app.screen.composer.text_area.insert(text)
            await pilot.pause()

    return run_before


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_ticket_snapshot(desk_db, snap_compare, size):
    db, ids = desk_db
    assert snap_compare(make_app(db), terminal_size=size, run_before=open_ticket(ids["t0"]))


def test_ticket_details_unfolded_at_80_columns(desk_db, snap_compare):
    db, ids = desk_db
    assert snap_compare(make_app(db), terminal_size=(80, 24),
                        run_before=open_ticket(ids["t6"], "i"))


def test_composer_snapshot(desk_db, snap_compare):
    db, ids = desk_db
    assert snap_compare(make_app(db), terminal_size=(120, 40),
                        run_before=open_ticket(ids["t6"], "r", text="Hello Li,\n\nwe are on it."))


def test_help_snapshot(seeded, snap_compare):
    db, ids = seeded

    async def help_(pilot) -> None:
        await ready(pilot)
        await pilot.press("question_mark")
        await pilot.pause()

    assert snap_compare(make_app(db), terminal_size=(120, 44), run_before=help_)


def test_empty_queue_snapshot(empty_db, snap_compare):
    assert snap_compare(make_app(empty_db), terminal_size=(120, 40), run_before=ready)
