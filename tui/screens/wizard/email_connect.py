"""The team email wizard's connection stage: step 1 (mailbox) and step 2 (credentials).

Also the provider presets and :func:`merged`, the email settings as entered so far, which the
later steps (:mod:`tui.screens.wizard.email_details`) read too. The step list is
:mod:`tui.screens.wizard.email`.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.widgets import Button, Label, RadioButton, RadioSet, Static

from engine.channels.email_settings import EmailSettings
from tui.screens.wizard.base import Wizard, WizardStep
from tui.text import clean, line
from tui.widgets.settings_form import (
    FieldSpec,
    SettingsForm,
    defaults_of,
    model_errors,
    specs_from_model,
)

PROVIDERS = [
    ("gmail", "Gmail / Google Workspace"),
    ("office365", "Office 365 / Outlook.com"),
    ("imap", "Another mail server (IMAP + SMTP)"),
    ("forwarding", "Forwarding to ticketty's own SMTP listener"),
]
PRESETS: dict[str, dict[str, Any]] = {
    "gmail": {"mode": "imap", "imap_host": "imap.gmail.com", "imap_port": 993,
              "imap_security": "ssl", "smtp_host": "smtp.gmail.com", "smtp_port": 587,
              "smtp_security": "starttls"},
    "office365": {"mode": "imap", "imap_host": "outlook.office365.com", "imap_port": 993,
                  "imap_security": "ssl", "smtp_host": "smtp.office365.com", "smtp_port": 587,
                  "smtp_security": "starttls"},
    "imap": {"mode": "imap"},
    "forwarding": {"mode": "forwarding"},
}
IMAP_FIELDS = ["imap_host", "imap_port", "imap_security", "imap_user", "imap_password",
               "imap_folder"]
SMTP_FIELDS = ["smtp_host", "smtp_port", "smtp_security", "smtp_user", "smtp_password"]


def merged(wizard: Wizard) -> dict[str, Any]:
    return {**defaults_of(EmailSettings), **{k: v for k, v in wizard.values.items()
                                             if k in EmailSettings.model_fields}}


def forward_target(values: dict[str, Any]) -> str:
    return f"smtp://{values.get('forward_listen_host')}:{values.get('forward_listen_port')}"


# ------------------------------------------------------------------------------ step 1
class MailboxStep(WizardStep):
    TITLE = "Mailbox"

    def body(self) -> ComposeResult:
        w = self.wizard
        provider = w.extra.get("provider", "gmail")
        yield Label("Where does the mailbox live?", classes="sf-label")
        with RadioSet(id="provider"):
            for key, label in PROVIDERS:
                yield RadioButton(label, value=key == provider, name=key)
        values = merged(w)
        yield SettingsForm([FieldSpec("name", "Channel name", "text",
                                      "A short name for the queue and the channels list.",
                                      placeholder="support")], {"name": w.name}, id="name-form")
        yield SettingsForm(specs_from_model(
            EmailSettings, ["address", "forward_listen_host", "forward_listen_port"],
            labels={"address": "Email address"}), values, id="mailbox-form")
        yield Static("", id="forward-note", classes="wizard-note")

    def on_mount(self) -> None:
        self.query_one("#provider", RadioSet).focus()
        self._show(self.wizard.extra.get("provider", "gmail"))

    @property
    def provider(self) -> str:
        pressed = self.query_one("#provider", RadioSet).pressed_button
        return pressed.name if pressed is not None and pressed.name else "gmail"

    def _show(self, provider: str) -> None:
        form = self.query_one("#mailbox-form", SettingsForm)
        forwarding = provider == "forwarding"
        form.show("forward_listen_host", forwarding)
        form.show("forward_listen_port", forwarding)
        note = self.query_one("#forward-note", Static)
        note.display = forwarding
        if forwarding:
            values = form.values()
            address = values.get("address") or "your address"
            note.update(Text.assemble(
                ("Forward mail for ", ""), (line(address), "bold"), (" to ", ""),
                (forward_target(values), "bold"),
                ("\nPoint your mail provider's forwarding (or MX relay) there; ticketty's "
                 "listener accepts mail for this address only.", "dim")))

    @on(RadioSet.Changed)
    def _provider_changed(self) -> None:
        self._show(self.provider)

    @on(SettingsForm.Changed)
    def _field_changed(self) -> None:
        self._show(self.provider)

    async def check(self) -> bool:
        w = self.wizard
        name = line(self.query_one("#name-form", SettingsForm).value("name"))
        form = self.query_one("#mailbox-form", SettingsForm)
        values = form.values()
        errors = {}
        if not name:
            errors["name"] = "give the channel a name"
        elif any(c.name == name for c in await w.store.channels()
                 if w.channel is None or c.id != w.channel.id):
            errors["name"] = f"a channel named {name!r} already exists"
        self.query_one("#name-form", SettingsForm).show_errors(errors)
        provider = self.provider
        keys = ["address"] + (["forward_listen_host", "forward_listen_port"]
                              if provider == "forwarding" else [])
        bad = model_errors(EmailSettings, {**merged(w), **values, "mode": "forwarding"}, keys)
        form.show_errors(bad)
        if errors or bad:
            return False
        w.name = name
        w.values.update(values)
        if w.extra.get("provider") != provider:
            w.values.update(PRESETS[provider])
            w.extra["provider"] = provider
            for key in ("imap_user", "smtp_user"):
                if provider in ("gmail", "office365") or key == "imap_user":
                    w.values[key] = values["address"]
        return True


# ------------------------------------------------------------------------------ step 2
class CredentialsStep(WizardStep):
    TITLE = "Credentials"

    def fields(self) -> list[str]:
        return (IMAP_FIELDS if merged(self.wizard)["mode"] == "imap" else []) + SMTP_FIELDS

    def body(self) -> ComposeResult:
        imap = merged(self.wizard)["mode"] == "imap"
        yield Static(Text("Log-ins for reading the mailbox (IMAP) and sending replies (SMTP). "
                          "Next tests both for real." if imap else
                          "Forwarded mail arrives by itself; replies leave through your SMTP "
                          "server. Next tests it for real."), classes="wizard-note")
        yield SettingsForm(specs_from_model(EmailSettings, self.fields()), merged(self.wizard),
                           id="credentials-form")
        yield Static("", id="test-result")

    def extra_buttons(self) -> ComposeResult:
        yield Button("Test connection", id="wizard-test")

    @on(Button.Pressed, "#wizard-test")
    def _test_pressed(self) -> None:
        self.run_worker(self._test_only(), group="wizard-step", exclusive=True,
                        exit_on_error=False)

    async def _test_only(self) -> None:
        await self.check()

    async def check(self) -> bool:
        w = self.wizard
        form = self.query_one("#credentials-form", SettingsForm)
        values = form.values()
        bad = model_errors(EmailSettings, {**merged(w), **values}, values)
        form.show_errors(bad)
        result = self.query_one("#test-result", Static)
        if bad:
            result.update("")
            return False
        w.values.update(values)
        result.update(Text("Testing the connection…", style="dim"))
        self.say("")
        problems = await w.adapter().test_connection()
        if not problems:
            what = "IMAP and SMTP" if "imap_host" in values else "SMTP"
            result.update(Text(f"✓ {what} log-in worked.", style="green"))
            return True
        form.show_errors(self._beside(problems))
        out = Text()
        for problem in problems:
            out.append(f"✗ {clean(problem)}\n", "red")
        result.update(out)
        self.say("The connection test failed; fix what is marked and try again.")
        return False

    @staticmethod
    def _beside(problems: list[str]) -> dict[str, str]:
        """Each problem beside the field most likely at fault."""
        out: dict[str, str] = {}
        for problem in problems:
            proto, _, reason = problem.partition(": ")
            prefix = "imap" if proto.upper() == "IMAP" else "smtp"
            low = reason.lower()
            if any(w in low for w in ("login", "auth", "password", "credential")):
                key = f"{prefix}_password"
            elif any(w in low for w in ("tls", "ssl", "certificate", "starttls")):
                key = f"{prefix}_security"
            elif any(w in low for w in ("folder", "mailbox", "select")):
                key = "imap_folder" if prefix == "imap" else f"{prefix}_host"
            else:
                key = f"{prefix}_host"
            out.setdefault(key, clean(reason, multiline=False))
        return out
