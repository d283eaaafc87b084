"""The phone calls wizard: the steps of ``:connect calls``.

1. Account — the channel's name, the account SID, auth token, the number (E.164) and the API's
   base URL (Twilio or a compatible provider); Next checks the token with a real API call.
   The channel is saved (disabled) once the check passes, so that it has its URLs.
2. Answering — office hours, greeting and voicemail texts, recording on/off, ring strategy
   and timeout; shows the voice webhook URL and the status callback URL to set on the number.
3. Ticket properties — 4. Routing (who is rung: the routed agents with a phone) — 5. Connect:
   shared with every kind (:mod:`.email_details`).

Every field is rendered from :class:`engine.channels.calls_settings.CallsSettings`.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import Static

from engine.channels.calls import CallsAdapter
from engine.channels.calls_settings import CallsSettings
from tui.screens.wizard.base import Wizard, WizardStep
from tui.screens.wizard.email_details import FinishStep, PropertiesStep, RoutingStep
from tui.text import clean, line
from tui.widgets.settings_form import (
    FieldSpec,
    SettingsForm,
    defaults_of,
    model_errors,
    specs_from_model,
)

ACCOUNT_FIELDS = ["account_sid", "auth_token", "phone_number", "api_base_url"]
ANSWER_FIELDS = ["office_hours", "greeting", "voicemail_greeting", "recording", "ring_strategy",
                 "ring_timeout", "voicemail_max_length"]
NO_NAME = "give the channel a name"
LABELS = {"account_sid": "Account SID", "api_base_url": "API base URL"}


def merged(wizard: Wizard) -> dict[str, Any]:
    defaults = {k: v for k, v in defaults_of(CallsSettings).items() if v is not None}
    return {**defaults, **{k: v for k, v in wizard.values.items()
                           if k in CallsSettings.model_fields}}


class AccountStep(WizardStep):
    """The account and the number; Next tests the token with the API."""

    TITLE = "Account"

    def body(self) -> ComposeResult:
        w = self.wizard
        yield SettingsForm([FieldSpec("name", "Channel name", "text",
                                      "A short name for the queue and the channels list.",
                                      placeholder="phones")], {"name": w.name}, id="name-form",
                           check=lambda v: {} if line(v["name"]) else {"name": NO_NAME})
        yield SettingsForm(specs_from_model(CallsSettings, ACCOUNT_FIELDS, labels=LABELS),
                           merged(w), id="account-form")
        yield Static("", id="test-result")

    async def check(self) -> bool:
        w = self.wizard
        name = line(self.query_one("#name-form", SettingsForm).value("name"))
        errors = {} if name else {"name": NO_NAME}
        if name and any(c.name == name for c in await w.store.channels()
                        if w.channel is None or c.id != w.channel.id):
            errors["name"] = f"a channel named {name!r} already exists"
        self.query_one("#name-form", SettingsForm).show_errors(errors)
        form = self.query_one("#account-form", SettingsForm)
        values = form.values()
        bad = model_errors(CallsSettings, {**merged(w), **values}, values)
        form.show_errors(bad)
        if errors or bad:
            return False
        w.name = name
        w.values.update(values)
        result = self.query_one("#test-result", Static)
        result.update(Text("Checking the auth token with the API…", style="dim"))
        problems = await w.adapter().test_connection()
        if problems:
            result.update(Text("\n".join(f"✗ {clean(p)}" for p in problems), style="red"))
            self.say("The API check failed; fix what is wrong and try again.")
            return False
        result.update(Text("✓ The API accepted the account and the number.", style="green"))
        await w.save(enabled=False)  # saved (disabled) now: the next step shows its URLs
        return True


class AnsweringStep(WizardStep):
    """How calls are answered, and the URLs to set on the number."""

    TITLE = "Answering"

    def body(self) -> ComposeResult:
        w = self.wizard
        yield Static(self.links(), id="calls-links", classes="wizard-note")
        yield SettingsForm(specs_from_model(CallsSettings, ANSWER_FIELDS), merged(w),
                           id="answer-form")

    def links(self) -> Text:
        config = getattr(self.tapp, "config", None)
        base = config.engine.public_base() if config is not None else "http://127.0.0.1:8780"
        channel = self.wizard.channel
        text = Text("On the number's configuration page, set ")
        text.append("A call comes in", "bold")
        text.append(" (webhook, HTTP POST) and ")
        text.append("Call status changes", "bold")
        text.append(" to:\n")
        if channel is None or channel.id is None:
            text.append(f"  {base}/calls/<id>/voice and …/status — shown once the channel "
                        "is saved (ticketty channels show NAME --json)\n", "dim")
        else:
            links = CallsAdapter.public_links(channel, base)
            text.append(f"  {links['webhook_url']}\n  {links['status_callback_url']}\n")
        text.append("Agents are rung on their phone numbers (agents screen, or ticketty agents "
                    "update EMAIL --phone +…); agents without one are never rung.", "dim")
        return text

    async def check(self) -> bool:
        w = self.wizard
        form = self.query_one("#answer-form", SettingsForm)
        values = form.values()
        bad = model_errors(CallsSettings, {**merged(w), **values}, values)
        if form.show_errors(bad):
            return False
        w.values.update(values)
        await w.save(enabled=False)
        return True


class CallsWizard(Wizard):
    kind = "calls"
    title = "Connect phone calls"
    steps = [AccountStep, AnsweringStep, PropertiesStep, RoutingStep, FinishStep]
