"""The contact screen: ``t`` on a ticket opens its contact's timeline — tickets, form
submissions with their hidden fields, consent records — rendered as text, never markup."""

from __future__ import annotations

import asyncio

from engine.form_defs import parse_form
from engine.models import InboundMessage
from engine.store import Store
from tests.helpers.admin import until
from tests.helpers.tui import BASE, make_app, ready, settle, widget_text
from tui.screens.contact import ContactScreen
from tui.screens.ticket import TicketScreen

SIZE = (130, 40)


async def _submitted(db) -> int:
    """A form submission by ana@customer.test (a hidden campaign field); its ticket id."""
    async with Store(db) as store:
        await store.add_form(parse_form({"name": "Contact", "slug": "contact", "fields": [
            {"key": "email", "type": "email"}]}))
        result = await store.ingest(InboundMessage(
            channel_id=None, key="form:abc", sender="ana@customer.test", sender_name="Ana",
            subject="Refund [bold]now[/bold]", text="Topic: Billing\n\nPlease refund.",
            received_at=BASE,
            extra={"form_submission": {"form": "contact", "page_url": "https://acme.test/help",
                                       "fields": [
                {"key": "topic", "label": "Topic", "type": "select", "value": "Billing",
                 "hidden": False},
                {"key": "campaign", "label": "Campaign", "type": "hidden",
                 "value": "[red]spring[/red]", "hidden": True}]}}))
        assert result.ticket_id is not None
        return result.ticket_id


async def test_c_on_a_ticket_opens_the_contact_timeline_with_hidden_fields(seeded):
    db, _ = seeded
    ticket_id = await _submitted(db)
    app = make_app(db)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        app.open_ticket(ticket_id)
        await ready(pilot)
        assert isinstance(app.screen, TicketScreen)
        await pilot.press("t")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, ContactScreen) and screen.email == "ana@customer.test"
        await until(pilot, lambda: screen.data is not None, "the timeline")
        await settle(pilot)
        text = widget_text(screen.query_one("#contact-timeline"))
        assert "Tickets (1)" in text and f"#{ticket_id}" in text
        assert "Refund [bold]now[/bold]" in text  # customer text, not markup
        assert "Form submissions (1)" in text and "page: https://acme.test/help" in text
        assert "Campaign (hidden): [red]spring[/red]" in text
        assert "Consent records (0)" in text
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, TicketScreen)


def test_contact_screen_snapshot(snap_compare, seeded):
    db, _ = seeded
    ticket_id = asyncio.run(_submitted(db))

    async def run_before(pilot) -> None:
        await ready(pilot)
        pilot.app.open_ticket(ticket_id)
        await ready(pilot)
        await pilot.press("t")
        await until(pilot, lambda: getattr(pilot.app.screen, "data", None) is not None,
                    "the timeline")
        await settle(pilot)

    assert snap_compare(make_app(db), terminal_size=SIZE, run_before=run_before)


async def test_an_unverified_sender_is_marked_on_the_ticket_and_the_contact(seeded):
    """An address recovered from a malformed From line (issue 9): agents see that anyone could
    have written it, beside the contact on the ticket and on the contact's timeline."""
    db, _ = seeded
    async with Store(db) as store:
        result = await store.ingest(InboundMessage(
            channel_id=None, key="bad-from", sender="test@example.com", sender_name="Test",
            subject="Invoice", text="see attached", received_at=BASE,
            extra={"sender_unverified": True}))
        assert result.ticket_id is not None
    app = make_app(db)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        app.open_ticket(result.ticket_id)
        await ready(pilot)
        assert "⚠ unverified sender" in widget_text(app.screen.query_one("#properties"))
        await pilot.press("t")
        await until(pilot, lambda: getattr(app.screen, "data", None) is not None, "the timeline")
        await settle(pilot)
        assert "⚠ unverified sender" in widget_text(app.screen.query_one("#contact-timeline"))
