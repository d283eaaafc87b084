"""The ``:connect messenger`` and ``:connect whatsapp`` wizards against the Graph stand-in:
the token is checked with a Graph call (the Page or number it belongs to is shown), the
verify token is generated, the webhook URL and the fields to subscribe are shown."""

from __future__ import annotations

from engine.sandbox.graph import GraphStandIn
from tests.helpers.admin import (
    SIZE,
    make_app,
    next_step,
    notifications,
    run_command,
    started,
    until,
)
from tui.screens.channels import ChannelsScreen
from tui.screens.wizard import meta as steps
from tui.screens.wizard.email_details import FinishStep, PropertiesStep, RoutingStep
from tui.widgets.settings_form import SettingsForm


async def test_walk_the_messenger_wizard(bare_db) -> None:
    async with GraphStandIn() as graph:
        graph.add_page("1111", "Acme Shoes", "page-Token-ok")
        app = make_app(bare_db)
        async with app.run_test(size=SIZE) as pilot:
            await started(pilot)
            await run_command(pilot, "connect messenger", typed=True)
            await until(pilot, lambda: isinstance(app.screen, steps.ConnectStep), "step 1")
            s1 = app.screen
            s1.query_one("#name-form", SettingsForm).set_value("name", "fb")
            form = s1.query_one("#connect-form", SettingsForm)
            for key, value in {"page_id": "1111", "page_access_token": "expired-Token",
                               "app_secret": "app-Secret-1",
                               "graph_base_url": graph.base_url}.items():
                form.set_value(key, value)
            graph.expired.add("expired-Token")
            await pilot.press("ctrl+n")
            await until(pilot, lambda: "token check failed" in str(
                s1.query_one("#wizard-message").content), "the refused token")
            assert "token expired — reconnect the page" in str(
                s1.query_one("#wizard-message").content)
            form.set_value("page_access_token", "page-Token-ok")
            s2 = await next_step(pilot, steps.WebhookStep)
            assert "Token OK: Page “Acme Shoes” (1111)" in notifications(app)
            await until(pilot, lambda: "Callback URL" in str(
                s2.query_one("#webhook-info").content), "the webhook URL")
            info = str(s2.query_one("#webhook-info").content)
            channel = await app.store.channel("fb")
            assert f"/messenger/{channel.id}/webhook" in info
            verify = info.split("Verify token", 1)[1].split()[0]
            assert "messages, messaging_postbacks" in info and "Verify token" in info
            s3 = await next_step(pilot, steps.MessagesStep)
            messages = s3.query_one("#messages-form", SettingsForm)
            messages.set_value("greeting", "Hi there!")
            messages.set_value("gdpr", "explicit")
            await next_step(pilot, PropertiesStep)
            await next_step(pilot, RoutingStep)
            await next_step(pilot, FinishStep)
            await pilot.press("ctrl+n")
            await until(pilot, lambda: isinstance(app.screen, ChannelsScreen), "the channels")
            saved = await app.store.channel("fb")
            assert saved.enabled and saved.settings["gdpr"] == "explicit"
            assert saved.settings["page_name"] == "Acme Shoes"
            assert saved.settings["greeting"] == "Hi there!"
            from engine.vault import open_settings

            opened = open_settings(saved, app.store.vault)
            assert opened["verify_token"] == verify  # generated once, kept


async def test_the_whatsapp_wizard_shows_the_number_the_token_reaches(bare_db) -> None:
    async with GraphStandIn() as graph:
        graph.add_number("PNID_1", "+1 555 000 1111", "Acme Support", "wa-Token-ok", "WABA_1")
        app = make_app(bare_db)
        async with app.run_test(size=SIZE) as pilot:
            await started(pilot)
            await run_command(pilot, "connect whatsapp", typed=True)
            await until(pilot, lambda: isinstance(app.screen, steps.ConnectStep), "step 1")
            s1 = app.screen
            s1.query_one("#name-form", SettingsForm).set_value("name", "wa")
            form = s1.query_one("#connect-form", SettingsForm)
            for key, value in {"phone_number_id": "PNID_1", "waba_id": "WABA_1",
                               "access_token": "wa-Token-ok", "app_secret": "app-Secret-1",
                               "graph_base_url": graph.base_url}.items():
                form.set_value(key, value)
            s2 = await next_step(pilot, steps.WebhookStep)
            await until(pilot, lambda: "Callback URL" in str(
                s2.query_one("#webhook-info").content), "the webhook URL")
            assert "Acme Support (+1 555 000 1111)" in str(s2.query_one("#webhook-info").content)
            await next_step(pilot, PropertiesStep)
