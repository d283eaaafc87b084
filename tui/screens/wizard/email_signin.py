"""The email wizard's sign-in step (Gmail, Microsoft 365): signing in instead of passwords.

The mailbox is read and written with XOAUTH2, so instead of an IMAP password the admin signs in
once (:class:`tui.widgets.signin_panel.SignInPanel`: Microsoft's device code, Google's browser
sign-in with a pasted-address fallback for SSH). The refresh token it grants goes into the
channel's secret ``oauth_refresh_token`` setting; Next then tests IMAP and SMTP with it, like
the credentials step does with passwords. "Use a password instead" switches to that step.
"""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.widgets import Button, Static

from engine.channels.email_settings import EmailSettings
from tui.screens.wizard.base import AGAIN, Wizard
from tui.screens.wizard.email_connect import SIGN_IN, TestedStep, merged, signs_in
from tui.text import line
from tui.widgets.settings_form import SettingsForm, model_errors, specs_from_model
from tui.widgets.signin_panel import SignInPanel

HOW_TO = {
    "gmail": "ticketty signs in as an app of your own. In the Google Cloud console: enable "
             "the Gmail API, set up the OAuth consent screen, and create an OAuth client ID "
             "of type \"Desktop app\". Enter its client ID and client secret here.",
    "office365": "ticketty signs in as an app of your own. In the Microsoft Entra admin "
                 "center: register an application, allow public client flows (under "
                 "Authentication), and give it the delegated permissions IMAP.AccessAsUser.All "
                 "and SMTP.Send. Enter its application (client) ID here. The mailbox must "
                 "allow authenticated SMTP.",
}
NO_CLIENT = "enter the client ID of your registered app"


class SignInStep(TestedStep):
    TITLE = "Sign in"

    @classmethod
    def applies(cls, wizard: Wizard) -> bool:
        return signs_in(wizard)

    @property
    def provider(self) -> str:
        return str(self.wizard.extra.get("provider", "gmail"))

    def fields(self) -> list[str]:
        return ["oauth_client_id"] + (["oauth_client_secret"] if self.provider == "gmail"
                                      else [])

    def body(self) -> ComposeResult:
        w = self.wizard
        values = merged(w)
        yield Static(Text.assemble(
            f"Sign in with {SIGN_IN[self.provider]} instead of giving ticketty a password: it "
            "then reads and sends the mail of ", (line(str(values["address"])), "bold"),
            " with a token (XOAUTH2) that you can revoke at any time."), classes="wizard-note")
        yield Static(Text(HOW_TO[self.provider], "dim"), classes="wizard-note")
        yield SettingsForm(specs_from_model(EmailSettings, self.fields(), labels={
            "oauth_client_id": "Client ID", "oauth_client_secret": "Client secret"}),
            values, id="signin-form", check=self._client_errors)
        yield SignInPanel(self.provider, self.signin_settings,
                          signed_in=bool(values["oauth_refresh_token"]), id="signin")
        yield Static("", id="test-result")

    def extra_buttons(self) -> ComposeResult:
        yield Button("Use a password instead", id="wizard-password")
        yield from super().extra_buttons()

    @on(Button.Pressed, "#wizard-password")
    def _password_instead(self) -> None:
        self.wizard.extra["auth"] = "password"
        self.dismiss(AGAIN)

    @property
    def form(self) -> SettingsForm:
        return self.query_one("#signin-form", SettingsForm)

    def _client_errors(self, values: dict[str, object]) -> dict[str, str]:
        if not str(values.get("oauth_client_id") or "").strip():
            return {"oauth_client_id": NO_CLIENT}
        return model_errors(EmailSettings, {**merged(self.wizard), **values,
                                            "oauth_provider": self.provider}, values)

    def signin_settings(self) -> EmailSettings:
        """What the panel signs in with; marks the client fields and raises when not ready."""
        values = self.form.values()
        if self.form.show_errors(self._client_errors(values)):
            raise ValueError("fill in what is marked first")
        return EmailSettings.model_validate({**merged(self.wizard), **values,
                                             "oauth_provider": self.provider,
                                             "oauth_refresh_token": ""})

    @on(SignInPanel.SignedIn)
    def _signed_in(self, event: SignInPanel.SignedIn) -> None:
        self.wizard.values.update(self.form.values(), oauth_provider=self.provider,
                                  oauth_refresh_token=event.tokens.refresh_token)
        self.say("")

    @on(SettingsForm.Changed, "#signin-form")
    def _client_changed(self, event: SettingsForm.Changed) -> None:
        if event.key == "oauth_client_id" and self.wizard.values.get("oauth_refresh_token") \
                and event.value != self.wizard.values.get("oauth_client_id"):
            # a token belongs to the app that was signed in with: another app signs in again
            self.wizard.values["oauth_refresh_token"] = ""
            self.query_one(SignInPanel).say(Text("Another client ID: sign in again.", "dim"))

    async def check(self) -> bool:
        w = self.wizard
        values = self.form.values()
        if self.form.show_errors(self._client_errors(values)):
            return False
        if not w.values.get("oauth_refresh_token"):
            self.say(f"Sign in first: press \"Sign in with {SIGN_IN[self.provider]}\".")
            return False
        w.values.update(values)
        w.values["oauth_provider"] = self.provider
        return await self.test_connection(self.form)
