"""The composer takes its shape from the reply channel's kind (its ``composer_spec`` and
``signature_preview`` hooks): the subject as sent, the signature with the agent's name, and,
with no channel to send through, the subject still and why the reply cannot be sent."""

from __future__ import annotations

import pytest

from tests.helpers.tui import make_app, ready, settle, widget_text

SIZE = (130, 36)


@pytest.mark.parametrize("connected", [True, False])
async def test_the_composer_follows_the_reply_channels_kind(seeded, connected):
    from engine.store import Store

    db, ids = seeded
    if not connected:
        async with Store(db) as store:
            await store.remove_channel(ids["channel"])
    app = make_app(db)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        app.open_ticket(ids["t1"])
        await ready(pilot)
        await pilot.press("r")
        await settle(pilot)
        screen = app.screen
        assert "Subject: Re: Cannot log in [#2]" in widget_text(
            screen.query_one("#composer-subject"))
        below = widget_text(screen.query_one("#composer-signature"))
        if connected:  # the email kind's signature, with the agent's name filled in
            assert "Cheers," in below and "Ada Admin" in below
        else:
            assert "No email channel: this reply cannot be sent." in below
