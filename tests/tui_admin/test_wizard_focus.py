"""Every step of the email wizard opens with its first field focused, so typing goes there."""

from __future__ import annotations

import pytest
from textual.widgets import Input

from tests.helpers.admin import SIZE, make_app, push_step, started, until
from tui.screens.wizard import email as steps

IMAP = {"address": "help@acme.test", "mode": "imap", "imap_host": "imap.acme.test",
        "smtp_host": "smtp.acme.test"}
FORWARD = {"address": "help@acme.test", "mode": "forwarding", "smtp_host": "smtp.acme.test"}

#: (step, values, extra, id of the widget that must have focus)
CASES = [
    (steps.MailboxStep, {}, {}, "provider"),
    (steps.ListenerStep, FORWARD, {"provider": "forwarding"}, "field-forward_listen_host"),
    (steps.SignInStep, IMAP, {"provider": "office365"}, "field-oauth_client_id"),
    (steps.CredentialsStep, IMAP, {"provider": "imap"}, "field-imap_host"),
    (steps.CredentialsStep, FORWARD, {"provider": "forwarding"}, "field-smtp_host"),
    (steps.DetailsStep, IMAP, {}, "field-from_name_mode"),
    (steps.PropertiesStep, IMAP, {}, "field-default_pipeline"),
    (steps.RoutingStep, IMAP, {}, "field-routing"),
    (steps.HistoryStep, IMAP, {}, "history"),
    (steps.HistoryStep, FORWARD, {}, "wizard-next"),  # nothing to import: Next is first
    (steps.FinishStep, IMAP, {}, "wizard-next"),
]


@pytest.mark.parametrize("case", CASES, ids=[
    "mailbox", "listener", "signin", "credentials", "credentials-forwarding", "details", "properties", "routing",
    "history", "history-forwarding", "finish"])
async def test_first_field_has_focus_when_a_step_opens(bare_db, case):
    step, values, extra, expected = case
    app = make_app(bare_db)
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot)
        await push_step(pilot, step, values, extra=extra)
        await until(pilot, lambda: app.focused is not None
                    and app.focused.id != "wizard-body", "a focused widget")
        assert app.focused.id == expected


async def test_typing_goes_into_the_first_field(bare_db):
    app = make_app(bare_db)
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot)
        await push_step(pilot, steps.CredentialsStep, {**IMAP, "imap_host": ""},
                        extra={"provider": "imap"})
        field = app.screen.query_one("#field-imap_host", Input)
        await until(pilot, lambda: app.focused is field, "the host field focused")
        await pilot.press(*"mail")
        assert field.value == "mail"


async def test_page_keys_scroll_a_long_step_from_its_field(bare_db):
    app = make_app(bare_db)
    async with app.run_test(size=(80, 24)) as pilot:
        await started(pilot)
        await push_step(pilot, steps.ListenerStep, FORWARD, extra={"provider": "forwarding"})
        body = app.screen.query_one("#wizard-body")
        await until(pilot, lambda: app.focused is not None
                    and app.focused.id == "field-forward_listen_host", "the host field")
        assert body.max_scroll_y > 0 and body.scroll_y == 0
        await pilot.press("pagedown")
        await until(pilot, lambda: body.scroll_y > 0, "scrolled")
        assert app.focused.id == "field-forward_listen_host"


async def test_a_choice_opens_with_its_cursor_on_the_earlier_answer(bare_db):
    """Back on step 1 after choosing Microsoft 365: space (press the button under the
    cursor) keeps that answer, because the cursor starts on it, not on the first button."""
    from textual.widgets import RadioSet

    app = make_app(bare_db)
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot)
        await push_step(pilot, steps.MailboxStep, {}, extra={"provider": "office365"})
        radio = app.screen.query_one("#provider", RadioSet)
        await until(pilot, lambda: app.focused is radio, "the provider choice focused")
        await pilot.press("space")
        await pilot.pause()
        assert radio.pressed_button is not None and radio.pressed_button.name == "office365"
