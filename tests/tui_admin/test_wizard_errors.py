"""The wizard's errors and words: each problem said once, marks gone once the field is fixed,
a new provider replacing the old one's hosts, help in words rather than CLI syntax."""

from __future__ import annotations

from textual.widgets import Select, Static

from engine.channels.email_settings import EmailSettings
from engine.channels.setup import CHANNEL_KEYS, model_keys
from tests.helpers.admin import (
    SIZE,
    choose,
    make_app,
    next_step,
    open_email_wizard,
    push_step,
    started,
    until,
)
from tests.helpers.cli import run_cli
from tests.helpers.servers import free_port
from tui.screens.wizard import email as steps
from tui.widgets.settings_form import SettingsForm

FORWARD = {"address": "help@acme.test", "mode": "forwarding", "smtp_host": "127.0.0.1",
           "smtp_security": "none"}


def shown(screen, selector: str) -> str:
    return str(screen.query_one(selector, Static).content)


async def test_a_failed_test_is_said_once_and_goes_once_fixed(bare_db, smtp_sink):
    _, good_port = smtp_sink
    app = make_app(bare_db)
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot)
        await push_step(pilot, steps.CredentialsStep, {**FORWARD, "smtp_port": free_port()},
                        extra={"provider": "forwarding"})
        step = app.screen
        form = step.query_one("#credentials-form", SettingsForm)
        await pilot.press("ctrl+n")
        await until(pilot, lambda: form.errors(), "the connection test")
        result = shown(step, "#test-result")
        assert result.startswith("✗ SMTP: connection refused by 127.0.0.1:")
        assert "SMTP: SMTP" not in result and result.count("SMTP:") == 1
        assert form.errors()["smtp_host"].startswith("connection refused by 127.0.0.1:")
        assert "connection test failed" in shown(step, "#wizard-message")

        form.set_value("smtp_port", good_port)  # the fix: every trace of the old test goes
        await until(pilot, lambda: not form.errors(), "the marks cleared")
        assert shown(step, "#test-result") == ""
        assert shown(step, "#wizard-message") == ""
        await pilot.press("ctrl+n")  # and the test passes: the step is done
        await until(pilot, lambda: app.screen is not step, "the step accepted")
        assert step.wizard.values["smtp_port"] == good_port


async def test_a_marked_field_is_rechecked_while_edited(bare_db):
    app = make_app(bare_db)
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot)
        await push_step(pilot, steps.MailboxStep, {}, extra={"provider": "imap"})
        step = app.screen
        step.query_one("#name-form", SettingsForm).set_value("name", "helpdesk")
        form = step.query_one("#mailbox-form", SettingsForm)
        form.set_value("address", "help")
        await pilot.press("ctrl+n")
        await until(pilot, lambda: form.errors(), "the address error")
        assert "not a valid email address" in form.errors()["address"]
        form.set_value("address", "help@")  # still wrong: still marked
        await pilot.pause()
        assert "address" in form.errors()
        form.set_value("address", "help@acme.test")  # fixed: the mark goes
        await until(pilot, lambda: not form.errors(), "the mark cleared")
        assert not step.query_one("#row-address").has_class("-invalid")


async def test_another_provider_replaces_the_previous_ones_hosts(bare_db):
    app = make_app(bare_db)
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot)
        await open_email_wizard(pilot, "gmail")
        await next_step(pilot, steps.SignInStep)
        wizard = app.screen.wizard
        assert wizard.values["imap_host"] == "imap.gmail.com"
        await pilot.press("ctrl+b")
        await until(pilot, lambda: isinstance(app.screen, steps.MailboxStep), "back")
        choose(app.screen, "provider", "imap")
        s2 = await next_step(pilot, steps.CredentialsStep)
        form = s2.query_one("#credentials-form", SettingsForm)
        assert form.value("imap_host") == "" and form.value("smtp_host") == ""
        assert form.value("imap_user") == "help@acme.test"
        assert wizard.values["oauth_provider"] == ""
        await pilot.press("ctrl+b")
        await until(pilot, lambda: isinstance(app.screen, steps.MailboxStep), "back again")
        choose(app.screen, "provider", "office365")
        await next_step(pilot, steps.SignInStep)
        assert wizard.values["imap_host"] == "outlook.office365.com"
        assert wizard.values["smtp_host"] == "smtp.office365.com"
        await pilot.press("escape")


async def test_help_is_in_words_and_choices_show_words(bare_db):
    for info in [*model_keys(EmailSettings).values(), *CHANNEL_KEYS.values()]:
        for syntax in ("|", "true|false", "(default", "empty =", "'imap'"):
            assert syntax not in info.description, (info.key, info.description)
    app = make_app(bare_db)
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot)
        helps: list[str] = []
        for step in (steps.CredentialsStep, steps.RoutingStep):
            await push_step(pilot, step, {"address": "help@acme.test", "imap_host": "x"},
                            extra={"provider": "imap"})
            helps += [str(h.content) for h in app.screen.query(".sf-help")]
            if step is steps.CredentialsStep:
                security = app.screen.query_one("#field-imap_security", Select)
                assert [str(label) for label, _ in security._options] == [
                    "SSL/TLS from the start", "STARTTLS (encrypt after connecting)",
                    "Not encrypted (only for a server on this machine)"]
            app.pop_screen()
            await pilot.pause()
        assert "Who gets new tickets." in helps
        assert not [h for h in helps if "|" in h or "true" in h or "default" in h], helps


def test_the_cli_names_the_values_and_defaults(bare_db):
    out = run_cli(bare_db, "channels", "keys", "email")
    assert out.returncode == 0, out.stderr
    lines = {ln.split()[0]: ln for ln in out.stdout.splitlines()}
    assert lines["routing"].endswith(
        "Who gets new tickets. (one of: nobody, users_teams, contact_owner; default nobody)")
    assert lines["only_available"].endswith("(true or false; default true)")
    assert lines["imap_security"].endswith("(one of: ssl, starttls, none; default ssl)")
    assert "default" not in lines["oauth_refresh_token"]
