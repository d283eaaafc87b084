"""The ``:connect forms`` wizard (the form builder) and "Manage form", driven with Pilot on a
real store: build a form with the fields list keys, set its ticket fields, connect it."""

from __future__ import annotations

from engine.store import Store
from tests.helpers.admin import SIZE, make_app, next_step, run_command, started, until
from tui.screens.channel_edit import ChannelEditScreen
from tui.screens.wizard import forms as steps
from tui.screens.wizard.form_fields import FieldScreen, FieldsStep
from tui.widgets.settings_form import SettingsForm


async def _add_field(pilot, app, **values) -> None:
    await pilot.press("a")
    await until(pilot, lambda: isinstance(app.screen, FieldScreen), "the field dialog")
    form = app.screen.query_one(SettingsForm)
    for key, value in values.items():
        form.set_value(key, value)
    await pilot.press("ctrl+s")
    await until(pilot, lambda: isinstance(app.screen, FieldsStep), "the fields list again")


async def test_build_a_form_and_connect_it(admin_db):
    app = make_app(admin_db)
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot)
        await run_command(pilot, "connect forms", typed=True)
        await until(pilot, lambda: isinstance(app.screen, steps.FormStep), "step 1")
        form = app.screen.query_one(SettingsForm)
        form.set_value("name", "Website")
        form.set_value("form_name", "Contact us")
        fields = await next_step(pilot, FieldsStep)  # the slug is made from the title
        assert app.screen.wizard.values["form"] == "contact-us"
        await pilot.press("ctrl+b")  # back and forth keeps the draft
        await until(pilot, lambda: isinstance(app.screen, steps.FormStep), "step 1 again")
        app.screen.query_one(SettingsForm).set_value("form_slug", "contact")
        fields = await next_step(pilot, FieldsStep)
        assert [f["key"] for f in fields.fields] == ["name", "email"]

        # a: add a hidden field and a dropdown; a bad one is refused beside its input
        await pilot.press("a")
        await until(pilot, lambda: isinstance(app.screen, FieldScreen), "the field dialog")
        dialog = app.screen.query_one(SettingsForm)
        dialog.set_value("key", "topic")
        dialog.set_value("type", "select")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: dialog.errors(), "the options error")
        assert "options" in dialog.errors()
        dialog.set_value("options", "Billing, Orders")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: isinstance(app.screen, FieldsStep), "the list")
        await _add_field(pilot, app, key="campaign", type="hidden", from_query="utm_campaign")
        assert [f["key"] for f in fields.fields] == ["name", "email", "topic", "campaign"]

        # K moves the highlighted (last added) field up; d deletes the highlighted one
        await pilot.press("K")
        assert [f["key"] for f in fields.fields] == ["name", "email", "campaign", "topic"]
        await pilot.press("d")
        assert [f["key"] for f in fields.fields] == ["name", "email", "topic"]
        # e edits: make the name required
        await pilot.press("home")
        await pilot.press("e")
        await until(pilot, lambda: isinstance(app.screen, FieldScreen), "edit dialog")
        app.screen.query_one(SettingsForm).set_value("required", True)
        await pilot.press("ctrl+s")
        await until(pilot, lambda: isinstance(app.screen, FieldsStep), "the list")
        assert fields.fields[0]["required"] is True

        ticket = await next_step(pilot, steps.TicketFieldsStep)
        tf = ticket.query_one(SettingsForm)
        tf.set_value("priority", "high")
        tf.set_value("thank_you", "Merci!")
        tf.set_value("accent", "#aa3300")
        await next_step(pilot, steps.RoutingStep)
        await next_step(pilot, steps.RepliesStep)
        replies = app.screen.query_one(SettingsForm)
        assert replies.value("reply_channel") == "support"
        embed = await next_step(pilot, steps.EmbedStep)
        codes = str(embed.query_one("#embed-codes").content)
        assert "/f/contact/embed.js" in codes and "<iframe" in codes
        await pilot.press("ctrl+n")
        await until(pilot, lambda: not isinstance(app.screen, steps.EmbedStep), "finish")

    async with Store(admin_db) as store:
        saved = await store.form("contact")
        channel = await store.channel("Website")
    assert saved is not None and saved.thank_you == "Merci!" and saved.accent == "#aa3300"
    assert [f.key for f in saved.fields] == ["name", "email", "topic"]
    assert saved.ticket.priority == "high"
    assert channel is not None and channel.enabled and channel.settings["form"] == "contact"
    assert channel.settings["reply_channel"] == "support"


async def test_the_edit_screen_offers_manage_form(admin_db):
    from engine.form_defs import parse_form
    from engine.models import Channel

    async with Store(admin_db) as store:
        await store.add_form(parse_form({"name": "Help", "slug": "help", "fields": [
            {"key": "email", "type": "email", "required": True}]}))
        channel = await store.add_channel(Channel(kind="forms", name="Help form",
                                                  settings={"form": "help"}))
    app = make_app(admin_db)
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot)
        await app.push_screen(ChannelEditScreen(channel))
        await until(pilot, lambda: app.screen.query_one("#edit-form").display, "the button")
        app.screen.query_one("#edit-form").press()
        await until(pilot, lambda: isinstance(app.screen, FieldsStep), "the fields list")
        await _add_field(pilot, app, key="order", label="Order number")
        await next_step(pilot, steps.TicketFieldsStep)
        await next_step(pilot, steps._Finished)
    async with Store(admin_db) as store:
        form = await store.form("help")
    assert form is not None and [f.key for f in form.fields] == ["email", "order"]
