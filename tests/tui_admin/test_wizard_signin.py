"""Signing in from the email wizard against the local OAuth stand-in: Microsoft's device code,
Google's browser sign-in (loopback, or the pasted address over SSH); the refresh token kept as
the channel's secret setting, then the connection test logging in to SMTP with XOAUTH2."""

from __future__ import annotations

import httpx
from textual.widgets import Button, Input

from tests.helpers.admin import SIZE, make_app, next_step, open_email_wizard, started, until
from tui.screens.wizard import email as steps
from tui.widgets.settings_form import SettingsForm
from tui.widgets.signin_panel import SignInPanel


async def open_sign_in(pilot, provider: str, standin) -> steps.SignInStep:
    await open_email_wizard(pilot, provider, "mailbox")
    step = await next_step(pilot, steps.SignInStep)
    # the provider's endpoints are settings: here they point at the stand-in
    endpoints = {k: v for k, v in standin.settings().items()
                 if k.endswith("_url")}
    step.wizard.values.update(endpoints)
    return step


def status(step) -> str:
    return str(step.query_one("#signin-status").content)


async def test_microsoft_device_code_then_smtp_xoauth2(bare_db, oauth_standin, xoauth2_smtp,
                                                       mail_user):
    handler, smtp_port = xoauth2_smtp
    app = make_app(bare_db)
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot)
        step = await open_sign_in(pilot, "office365", oauth_standin)
        assert step.wizard.values["imap_host"] == "outlook.office365.com"
        form = step.query_one("#signin-form", SettingsForm)
        assert list(form.values()) == ["oauth_client_id"]  # Microsoft: a public client

        await pilot.press("ctrl+n")  # not signed in yet
        await until(pilot, lambda: form.errors(), "the client ID asked for")
        form.set_value("oauth_client_id", oauth_standin.client_id)
        await pilot.press("ctrl+n")
        await until(pilot, lambda: "Sign in first" in str(step.query_one("#wizard-message")
                                                          .content), "sign in first")

        step.query_one("#signin-start", Button).press()
        await until(pilot, lambda: "enter the code" in status(step), "the code shown")
        (grant,) = oauth_standin._devices.values()
        shown = status(step)
        assert grant.user_code in shown and oauth_standin.verification_url in shown
        async with httpx.AsyncClient() as browser:  # the admin signs in on another device
            await browser.get(oauth_standin.verification_url,
                              params={"user_code": grant.user_code})
        await until(pilot, lambda: "✓ Signed in" in status(step), "signed in")
        token = step.wizard.values["oauth_refresh_token"]
        assert token in oauth_standin.refresh_tokens
        assert step.wizard.values["oauth_provider"] == "office365"

        # Next tests with the token: SMTP takes XOAUTH2 (the test Dovecot cannot check it)
        step.wizard.values.update(mail_user.settings(smtp_port=smtp_port), smtp_user="")
        await pilot.press("ctrl+n")
        await until(pilot, lambda: "✗" in str(step.query_one("#test-result").content),
                    "the connection test")
        result = str(step.query_one("#test-result").content)
        assert handler.logins == [(mail_user.address, True)]
        assert "SMTP" not in result and "IMAP: login failed (XOAUTH2)" in result
        channel = step.wizard.build()
        assert channel.settings["oauth_refresh_token"] == token
        await pilot.press("escape")


async def start_google(pilot, standin, secret: str = "") -> tuple:
    """The Google sign-in step with the client filled in and "Sign in" pressed."""
    step = await open_sign_in(pilot, "gmail", standin)
    form = step.query_one("#signin-form", SettingsForm)
    form.set_value("oauth_client_id", standin.client_id)
    form.set_value("oauth_client_secret", secret)
    step.query_one("#signin-start", Button).press()
    panel = step.query_one(SignInPanel)
    await until(pilot, lambda: panel.url, "the address to open")
    return step, panel


async def test_google_browser_sign_in_comes_back_by_itself(bare_db, oauth_standin):
    oauth_standin.client_secret = "desktop-secret"
    app = make_app(bare_db)
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot)
        step, panel = await start_google(pilot, oauth_standin, "desktop-secret")
        assert panel.url in status(step)
        async with httpx.AsyncClient(follow_redirects=True) as browser:
            page = await browser.get(panel.url)
        assert "Signed in" in page.text
        await until(pilot, lambda: "✓ Signed in" in status(step), "signed in")
        assert step.wizard.values["oauth_refresh_token"] in oauth_standin.refresh_tokens
        assert step.wizard.values["oauth_client_secret"] == "desktop-secret"
        await pilot.press("escape")


async def test_google_sign_in_over_ssh_by_pasting_the_address(bare_db, oauth_standin):
    app = make_app(bare_db)
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot)
        step, panel = await start_google(pilot, oauth_standin)
        async with httpx.AsyncClient() as browser:  # far away: the redirect cannot land here
            landed = (await browser.get(panel.url)).headers["location"]
        paste = step.query_one("#signin-paste", Input)
        paste.focus()
        paste.value = "http://127.0.0.1:1/?nothing=here"
        await pilot.press("enter")
        await until(pilot, lambda: "no sign-in answer" in status(step), "the paste refused")
        assert app.screen is step  # Enter in the paste field is not Next
        paste.value = landed
        await pilot.press("enter")
        await until(pilot, lambda: "✓ Signed in" in status(step), "signed in")
        assert step.wizard.values["oauth_refresh_token"] in oauth_standin.refresh_tokens
        await pilot.press("escape")


async def test_a_password_instead_and_back(bare_db, oauth_standin):
    app = make_app(bare_db)
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot)
        step = await open_sign_in(pilot, "gmail", oauth_standin)
        step.query_one("#wizard-password", Button).press()
        await until(pilot, lambda: isinstance(app.screen, steps.CredentialsStep), "passwords")
        await pilot.pause()
        creds = app.screen
        assert "2 Credentials" in str(creds.query_one("#wizard-steps").content)
        assert creds.query_one("#credentials-form", SettingsForm).value("imap_host") == \
            "imap.gmail.com"
        creds.query_one("#wizard-signin", Button).press()
        await until(pilot, lambda: isinstance(app.screen, steps.SignInStep), "sign in again")
        await pilot.press("escape")
