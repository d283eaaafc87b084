"""The composer takes its shape from the reply channel's kind (its ``composer_spec`` and
``signature_preview`` hooks): the subject as sent, the signature with the agent's name, and,
with no channel to send through, the subject still and why the reply cannot be sent."""

from __future__ import annotations

from textual.pilot import Pilot
from textual.screen import Screen
from tui_helpers import make_app, ready, settle, widget_text

SIZE = (130, 36)


async def _open_reply(pilot: Pilot, ticket_id: int) -> Screen:
    pilot.app.open_ticket(ticket_id)
    await ready(pilot)
    await pilot.press("r")
    await settle(pilot)
    return pilot.app.screen


async def test_the_composer_shows_the_email_kinds_subject_and_signature(seeded):
    db, ids = seeded
    app = make_app(db)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        screen = await _open_reply(pilot, ids["t1"])
        assert "Subject: Re: Cannot log in [#2]" in widget_text(
            screen.query_one("#composer-subject"))
        signature = widget_text(screen.query_one("#composer-signature"))
        assert "Cheers," in signature and "Ada Admin" in signature


async def test_without_a_channel_the_composer_says_why_the_reply_cannot_go(seeded):
    from engine.store import Store

    db, ids = seeded
    async with Store(db) as store:
        await store.remove_channel(ids["channel"])
    app = make_app(db)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        screen = await _open_reply(pilot, ids["t1"])
        assert "Subject: Re: Cannot log in [#2]" in widget_text(
            screen.query_one("#composer-subject"))
        assert "No email channel: this reply cannot be sent." in widget_text(
            screen.query_one("#composer-signature"))
