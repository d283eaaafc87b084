"""Snapshots of the phone calls wizard's own steps (account, answering), opened directly with
fixed answers (no server: nothing is checked before the snapshot)."""

from __future__ import annotations

import pytest

from tests.helpers.admin import SIZE, make_app, started
from tui.screens.wizard import calls as steps

ACCOUNT = {"account_sid": "AC0123456789abcdef0123456789abcdef", "auth_token": "secret",
           "phone_number": "+14155550100", "api_base_url": "https://api.twilio.com"}


@pytest.mark.parametrize("step", [steps.AccountStep, steps.AnsweringStep],
                         ids=["account", "answering"])
def test_calls_wizard_step(snap_compare, bare_db, step):
    async def run_before(pilot) -> None:
        await started(pilot)
        wizard = steps.CallsWizard(pilot.app)
        await wizard.load()
        wizard.name = "Phones"
        wizard.values.update({**ACCOUNT, "office_hours": "mon-fri 09:00-17:00 Europe/Paris"})
        active = wizard.active_steps()
        await pilot.app.push_screen(step(wizard, active.index(step) + 1, len(active)))
        await pilot.pause()

    assert snap_compare(make_app(bare_db), terminal_size=SIZE, run_before=run_before)
