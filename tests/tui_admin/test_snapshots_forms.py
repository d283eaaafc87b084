"""Snapshots of the web form wizard's steps (the form builder) — each opened directly with a
fixed draft, so the pictures are deterministic."""

from __future__ import annotations

from typing import Any

import pytest

from tests.helpers.admin import SIZE, make_app, started
from tui.screens.wizard import forms as steps
from tui.screens.wizard.form_fields import FieldsStep

DRAFT: dict[str, Any] = {
    "name": "Contact us", "slug": "contact", "thank_you": "Thanks, we will be in touch.",
    "ticket": {"priority": "high"},
    "fields": [{"key": "name", "label": "Your name", "required": True},
               {"key": "email", "label": "Your email", "type": "email", "required": True},
               {"key": "topic", "label": "Topic", "type": "select",
                "options": ["Billing", "Orders"]},
               {"key": "campaign", "label": "Campaign", "type": "hidden",
                "from_query": "utm_campaign"}],
}


async def _open(pilot: Any, step: type) -> None:
    wizard = steps.FormsWizard(pilot.app)
    await wizard.load()
    wizard.name = "Website"
    wizard.values.update({"form": "contact", "reply_channel": "support"})
    wizard.extra.update(draft={**DRAFT, "fields": [dict(f) for f in DRAFT["fields"]]})
    active = wizard.active_steps()
    await pilot.app.push_screen(step(wizard, active.index(step) + 1, len(active)))
    await pilot.pause()


@pytest.mark.parametrize("step", [steps.FormStep, FieldsStep, steps.TicketFieldsStep,
                                  steps.RepliesStep, steps.EmbedStep],
                         ids=["form", "fields", "ticket-fields", "replies", "embed"])
def test_forms_wizard_step(snap_compare, admin_db, step):
    async def run_before(pilot) -> None:
        await started(pilot)
        await _open(pilot, step)

    assert snap_compare(make_app(admin_db), terminal_size=SIZE, run_before=run_before)

