"""The team email wizard's connection stage: the mailbox step and the credentials step.

Also the provider presets and :func:`merged`, the email settings as entered so far, which the
later steps (:mod:`tui.screens.wizard.email_details`) read too. Choosing another provider
replaces everything the previous one filled in (hosts, ports, log-ins, sign-in). The step list
is :mod:`tui.screens.wizard.email`; forwarding's listener step is
:mod:`tui.screens.wizard.email_listener`.
"""

from __future__ import annotations

import copy
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.widgets import Button, Label, RadioButton, RadioSet, Static

from engine.channels.email_settings import EmailSettings
from tui.screens.wizard.base import AGAIN, Wizard, WizardStep
from tui.text import clean, line
from tui.widgets.choice import ChoiceSet
from tui.widgets.settings_form import (
    FieldSpec,
    SettingsForm,
    defaults_of,
    model_errors,
    specs_from_model,
)

PROVIDERS = [
    ("gmail", "Gmail / Google Workspace"),
    ("office365", "Microsoft 365 / Outlook.com"),
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
    # a provider must reach the listener: every address of this machine, a fixed port
    "forwarding": {"mode": "forwarding", "forward_listen_host": "0.0.0.0",
                   "forward_listen_port": 2525},
}
#: what a provider choice fills in; all of it goes back to the defaults when another is chosen
PROVIDER_KEYS = ["mode", "imap_host", "imap_port", "imap_security", "imap_user", "imap_password",
                 "smtp_host", "smtp_port", "smtp_security", "smtp_user", "smtp_password",
                 "oauth_provider", "oauth_client_id", "oauth_client_secret",
                 "oauth_refresh_token", "forward_listen_host", "forward_listen_port"]
NO_NAME = "give the channel a name"
FORWARD_NOTE = ("Your mail provider delivers the mail to ticketty's own SMTP listener; the next "
                "step asks where it listens and says what to set up.")
IMAP_FIELDS = ["imap_host", "imap_port", "imap_security", "imap_user", "imap_password",
               "imap_folder"]
SMTP_FIELDS = ["smtp_host", "smtp_port", "smtp_security", "smtp_user", "smtp_password"]


#: providers whose mailboxes can be signed in to instead of using passwords
SIGN_IN = {"gmail": "Google", "office365": "Microsoft"}


def signs_in(wizard: Wizard) -> bool:
    """Whether the wizard logs in by signing in (Gmail, Microsoft 365; the default there)."""
    return (wizard.extra.get("provider") in SIGN_IN
            and wizard.extra.get("auth", "signin") == "signin")


def merged(wizard: Wizard) -> dict[str, Any]:
    return {**defaults_of(EmailSettings), **{k: v for k, v in wizard.values.items()
                                             if k in EmailSettings.model_fields}}


def email_check(wizard: Wizard, **fixed: Any) -> Any:
    """A form's ``check``: the email settings' validation errors of the fields it shows."""
    def check(values: dict[str, Any]) -> dict[str, str]:
        return model_errors(EmailSettings, {**merged(wizard), **values, **fixed}, values)
    return check


def choose_provider(wizard: Wizard, provider: str, address: str) -> None:
    """Fill in a provider's preset, replacing whatever the previous provider had put there."""
    defaults = defaults_of(EmailSettings)
    for key in PROVIDER_KEYS:
        wizard.values[key] = defaults[key]
    wizard.values.update(PRESETS[provider])
    wizard.extra["provider"] = provider
    wizard.extra.pop("auth", None)
    wizard.values["imap_user"] = address
    if provider in ("gmail", "office365"):
        wizard.values["smtp_user"] = address


# ------------------------------------------------------------------------------ step 1
class MailboxStep(WizardStep):
    TITLE = "Mailbox"

    def body(self) -> ComposeResult:
        w = self.wizard
        provider = w.extra.get("provider", "gmail")
        yield Label("Where does the mailbox live?", classes="sf-label")
        with ChoiceSet(id="provider"):
            for key, label in PROVIDERS:
                yield RadioButton(label, value=key == provider, name=key)
        yield SettingsForm([FieldSpec("name", "Channel name", "text",
                                      "A short name for the queue and the channels list.",
                                      placeholder="support")], {"name": w.name}, id="name-form",
                           check=lambda v: {} if line(v["name"]) else {"name": NO_NAME})
        yield SettingsForm(specs_from_model(EmailSettings, ["address"],
                                            labels={"address": "Email address"}),
                           merged(w), id="mailbox-form", check=email_check(w))
        yield Static(Text(FORWARD_NOTE, "dim"), id="forward-note", classes="wizard-note")

    def on_mount(self) -> None:
        self.query_one("#provider", RadioSet).focus()
        self._show(self.wizard.extra.get("provider", "gmail"))

    @property
    def provider(self) -> str:
        pressed = self.query_one("#provider", RadioSet).pressed_button
        return pressed.name if pressed is not None and pressed.name else "gmail"

    def _show(self, provider: str) -> None:
        self.query_one("#forward-note", Static).display = provider == "forwarding"
        w = self.wizard
        if w.extra.get("provider") != provider:  # the steps this choice leads to
            w = copy.copy(w)
            w.values, w.extra = dict(w.values), dict(w.extra)
            choose_provider(w, provider, "")
        self.show_steps([s.TITLE for s in w.active_steps()])

    @on(RadioSet.Changed)
    def _provider_changed(self) -> None:
        self._show(self.provider)

    async def check(self) -> bool:
        w = self.wizard
        name = line(self.query_one("#name-form", SettingsForm).value("name"))
        form = self.query_one("#mailbox-form", SettingsForm)
        values = form.values()
        errors = {}
        if not name:
            errors["name"] = NO_NAME
        elif any(c.name == name for c in await w.store.channels()
                 if w.channel is None or c.id != w.channel.id):
            errors["name"] = f"a channel named {name!r} already exists"
        self.query_one("#name-form", SettingsForm).show_errors(errors)
        bad = model_errors(EmailSettings, {**merged(w), **values}, ["address"])
        form.show_errors(bad)
        if errors or bad:
            return False
        w.name = name
        old_address = w.values.get("address")
        w.values.update(values)
        if w.extra.get("provider") != self.provider:
            choose_provider(w, self.provider, values["address"])
        else:  # same provider, new address: log-ins that were the old address follow it
            for key in ("imap_user", "smtp_user"):
                if old_address and w.values.get(key) == old_address:
                    w.values[key] = values["address"]
        return True


# ------------------------------------------------------------------------------ log-in steps
class TestedStep(WizardStep):
    """A step whose Next tests the connection for real (credentials, sign-in).

    The result lists each problem once ("✗ SMTP: connection refused by …") and puts it beside
    the field most likely at fault; editing a field of IMAP or SMTP drops that protocol's
    problems, since the test no longer describes what is entered.
    """

    def __init__(self, wizard: Wizard, number: int, total: int) -> None:
        super().__init__(wizard, number, total)
        self.problems: list[str] = []

    def extra_buttons(self) -> ComposeResult:
        yield Button("Test connection", id="wizard-test")

    @on(Button.Pressed, "#wizard-test")
    def _test_pressed(self) -> None:
        self.run_worker(self._test_only(), group="wizard-step", exclusive=True,
                        exit_on_error=False)

    async def _test_only(self) -> None:
        await self.check()

    def result_widget(self) -> Static:
        return self.query_one("#test-result", Static)

    async def test_connection(self, form: SettingsForm) -> bool:
        """Run the adapter's connection test on the wizard's values; show what it found."""
        result = self.result_widget()
        result.update(Text("Testing the connection…", style="dim"))
        self.say("")
        self.problems = await self.wizard.adapter().test_connection()
        if not self.problems:
            what = "IMAP and SMTP" if merged(self.wizard)["mode"] == "imap" else "SMTP"
            result.update(Text(f"✓ {what} log-in worked.", style="green"))
            return True
        form.show_errors({k: v for k, v in beside(self.problems).items() if form.has(k)})
        self._show_problems()
        self.say("The connection test failed; fix what is marked and try again.")
        return False

    def _show_problems(self) -> None:
        out = Text()
        for problem in self.problems:
            out.append(f"✗ {clean(problem)}\n", "red")
        self.result_widget().update(out)

    @on(SettingsForm.Changed)
    def _stale_problems(self, event: SettingsForm.Changed) -> None:
        group = event.key.partition("_")[0]
        if not self.problems or group not in ("imap", "smtp", "oauth"):
            return
        groups = ("imap_", "smtp_", "oauth_") if group == "oauth" else (f"{group}_",)
        self.problems = [p for p in self.problems if group != "oauth"
                         and not p.lower().startswith(f"{group}:")]
        self._show_problems()
        for form in self.query(SettingsForm):
            for key in form.errors():
                if key.startswith(groups):
                    form.clear_error(key)


def beside(problems: list[str]) -> dict[str, str]:
    """Each problem beside the field most likely at fault (key → reason without its prefix)."""
    out: dict[str, str] = {}
    for problem in problems:
        proto, _, reason = problem.partition(": ")
        prefix = "imap" if proto.upper() == "IMAP" else "smtp"
        low = reason.lower()
        if any(w in low for w in ("sign", "token", "oauth", "xoauth2")):
            key = "oauth_client_id"
        elif any(w in low for w in ("login", "auth", "password", "credential")):
            key = f"{prefix}_password"
        elif any(w in low for w in ("tls", "ssl", "certificate", "starttls")):
            key = f"{prefix}_security"
        elif any(w in low for w in ("folder", "mailbox", "select")):
            key = "imap_folder" if prefix == "imap" else f"{prefix}_host"
        else:
            key = f"{prefix}_host"
        out.setdefault(key, clean(reason, multiline=False))
    return out


class CredentialsStep(TestedStep):
    """IMAP and SMTP log-ins with passwords (SMTP only for forwarding). For Gmail and
    Microsoft 365 a button switches to signing in instead (:mod:`.email_signin`)."""

    TITLE = "Credentials"

    @classmethod
    def applies(cls, wizard: Wizard) -> bool:
        return not signs_in(wizard)

    def fields(self) -> list[str]:
        return (IMAP_FIELDS if merged(self.wizard)["mode"] == "imap" else []) + SMTP_FIELDS

    def body(self) -> ComposeResult:
        imap = merged(self.wizard)["mode"] == "imap"
        yield Static(Text("Log-ins for reading the mailbox (IMAP) and sending replies (SMTP). "
                          "Next tests both for real." if imap else
                          "Forwarded mail arrives by itself; replies leave through your SMTP "
                          "server. Next tests it for real."), classes="wizard-note")
        yield SettingsForm(specs_from_model(EmailSettings, self.fields()), merged(self.wizard),
                           id="credentials-form", check=email_check(self.wizard))
        yield Static("", id="test-result")

    def extra_buttons(self) -> ComposeResult:
        if self.wizard.extra.get("provider") in SIGN_IN:
            yield Button("Sign in instead", id="wizard-signin")
        yield from super().extra_buttons()

    @on(Button.Pressed, "#wizard-signin")
    def _sign_in_instead(self) -> None:
        self.wizard.extra["auth"] = "signin"
        self.dismiss(AGAIN)

    async def check(self) -> bool:
        w = self.wizard
        form = self.query_one("#credentials-form", SettingsForm)
        values = form.values()
        bad = model_errors(EmailSettings, {**merged(w), **values, "oauth_provider": ""}, values)
        form.show_errors(bad)
        if bad:
            self.result_widget().update("")
            return False
        w.values.update(values)
        w.values["oauth_provider"] = ""  # passwords, not a sign-in
        return await self.test_connection(form)
