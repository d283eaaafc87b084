"""Snapshots of the channels screen, the edit tabs and each step of the email wizard.

Deterministic: a frozen clock, fixed host names and ports (no test server in these), and
the wizard steps are opened directly with fixed answers.
"""

from __future__ import annotations

import pytest

from tests.helpers.admin import SIZE, make_app, push_step, run_command, started, until
from tui.screens.wizard import email as steps

MAILBOX = {"address": "help@acme.test", "mode": "imap", "imap_host": "imap.acme.test",
           "imap_port": 993, "imap_security": "ssl", "imap_user": "help@acme.test",
           "smtp_host": "smtp.acme.test", "smtp_port": 587, "smtp_security": "starttls",
           "company_name": "Acme", "signature": "Cheers,\n{first_name}\nAcme Support"}


def test_channels_screen(snap_compare, admin_db):
    async def run_before(pilot) -> None:
        await started(pilot)
        await run_command(pilot, "channels")
        await until(pilot, lambda: getattr(pilot.app.screen, "loaded", False), "channels")

    assert snap_compare(make_app(admin_db), terminal_size=SIZE, run_before=run_before)


@pytest.mark.parametrize("tab", ["configuration", "automation"])
def test_channel_edit(snap_compare, admin_db, tab):
    async def run_before(pilot) -> None:
        from textual.widgets import TabbedContent

        await started(pilot)
        await run_command(pilot, "channels")
        await until(pilot, lambda: getattr(pilot.app.screen, "loaded", False), "channels")
        await pilot.press("enter")
        await until(pilot, lambda: getattr(pilot.app.screen, "lists", None), "edit")
        pilot.app.screen.query_one(TabbedContent).active = f"tab-{tab}"
        await pilot.pause()

    assert snap_compare(make_app(admin_db), terminal_size=SIZE, run_before=run_before)


FORWARDING = {"address": "help@acme.test", "mode": "forwarding", "forward_listen_host": "0.0.0.0",
              "forward_listen_port": 2525}
GMAIL = {"address": "help@acme.test", "mode": "imap", "imap_host": "imap.gmail.com",
         "smtp_host": "smtp.gmail.com"}

STEPS = [
    (steps.MailboxStep, {"address": "help@acme.test"}, {"provider": "gmail"}),
    (steps.MailboxStep, FORWARDING, {"provider": "forwarding"}),
    (steps.ListenerStep, FORWARDING, {"provider": "forwarding"}),
    (steps.SignInStep, GMAIL, {"provider": "gmail"}),
    (steps.CredentialsStep, MAILBOX, {"provider": "imap"}),
    (steps.DetailsStep, MAILBOX, {}),
    (steps.PropertiesStep, MAILBOX, {}),
    (steps.RoutingStep, {**MAILBOX, "routing": "users_teams",
                         "routing_targets": "bob@example.com"}, {}),
    (steps.HistoryStep, MAILBOX, {"history": "since", "since": "2025-01-01"}),
    (steps.FinishStep, {**MAILBOX, "default_priority": "high"}, {}),
]


@pytest.mark.parametrize("number", range(len(STEPS)),
                         ids=["mailbox", "mailbox-forwarding", "listener", "signin",
                              "credentials", "details",
                              "properties", "routing", "history", "finish"])
def test_email_wizard_step(snap_compare, bare_db, number):
    step, values, extra = STEPS[number]

    async def run_before(pilot) -> None:
        await started(pilot)
        await push_step(pilot, step, values, extra=extra)
        if step is steps.MailboxStep and extra.get("provider") == "forwarding":
            pilot.app.screen.query_one("#provider").query("RadioButton").last().value = True
        await pilot.pause()

    assert snap_compare(make_app(bare_db), terminal_size=SIZE, run_before=run_before)
