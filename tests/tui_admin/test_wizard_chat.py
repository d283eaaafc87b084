"""The ``:connect chat`` wizard (name → appearance with a live preview → availability → bot →
routing → embed code, ``y`` copies it) and the chat channel's edit screen tabs."""

from __future__ import annotations

from textual.widgets import Input, Static, TabbedContent

from engine.channels.chat_settings import ChatSettings
from engine.channels.setup import build_channel
from tests.helpers.admin import SIZE, make_app, next_step, run_command, started, until
from tui.screens.channel_edit import ChannelEditScreen
from tui.screens.channels import ChannelsScreen
from tui.screens.wizard import chat as steps
from tui.widgets.settings_form import SettingsForm


async def test_walk_the_chat_wizard(bare_db):
    app = make_app(bare_db)
    copied: list[str] = []
    app.copy_to_clipboard = copied.append  # OSC 52 goes to the terminal: catch it here
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot)
        await run_command(pilot, "connect chat")
        await until(pilot, lambda: isinstance(app.screen, steps.NameStep), "step 1")
        app.screen.query_one("#chat-name", Input).value = "Website"
        s2 = await next_step(pilot, steps.AppearanceStep)
        form = s2.query_one("#chat-form", SettingsForm)
        form.set_value("team_name", "Acme Help")
        form.set_value("position", "bottom-left")
        await pilot.pause()
        preview = str(s2.query_one("#chat-preview", Static).render())
        assert "Acme Help" in preview and "bottom left" in preview
        form.set_value("accent_color", "blue")  # not #rrggbb: said beside the field
        await pilot.press("ctrl+n")
        await until(pilot, lambda: form.errors().get("accent_color"), "the colour error")
        form.set_value("accent_color", "#0F766E")
        s3 = await next_step(pilot, steps.AvailabilityStep)
        s3.query_one("#chat-form", SettingsForm).set_value("office_hours", "mon-fri 09:00-17:00")
        s4 = await next_step(pilot, steps.BotStep)
        s4.query_one("#chat-form", SettingsForm).set_value("bot_enabled", True)
        await next_step(pilot, steps.RoutingStep)
        s6 = await next_step(pilot, steps.EmbedStep)
        await until(pilot, lambda: "widget.js" in str(s6.query_one("#embed-code").render()),
                    "the embed code")
        await pilot.press("y")
        assert copied and copied[0].startswith("<script src=") and copied[0].endswith(
            '/widget.js" async></script>')
        await pilot.press("ctrl+n")
        await until(pilot, lambda: isinstance(app.screen, ChannelsScreen), "the channels list")
    channel = await _channel(bare_db, "Website")
    assert channel.enabled and channel.settings["team_name"] == "Acme Help"
    assert channel.settings["accent_color"] == "#0f766e"
    assert channel.settings["office_hours"] == "mon-fri 09:00-17:00"
    assert channel.settings["bot_enabled"] is True
    assert str(channel.settings["visitor_secret"]).startswith("fernet:")  # sealed


async def _channel(db, name):
    from engine.store import Store

    async with Store(db) as store:
        return await store.channel(name)


async def test_the_chat_edit_screen_has_its_tabs(bare_db):
    from engine.store import Store

    async with Store(bare_db) as store:
        pipelines = {p.name: [s.name for s in p.statuses] for p in await store.pipelines()}
        await store.add_channel(build_channel("chat", "Website", {}, settings_model=ChatSettings,
                                              agents=[], teams=[], pipelines=pipelines))
    app = make_app(bare_db)
    copied: list[str] = []
    app.copy_to_clipboard = copied.append
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot)
        await run_command(pilot, "channels")
        await until(pilot, lambda: isinstance(app.screen, ChannelsScreen) and app.screen.loaded,
                    "the channels screen")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ChannelEditScreen)
                    and app.screen.lists is not None, "the edit screen")
        await pilot.pause()
        screen = app.screen
        tabs = screen.query_one(TabbedContent)
        titles = [str(tab.label) for tab in tabs.query("ContentTabs Tab")]
        assert titles == ["Configure", "Availability", "Bot", "Routing", "Embed code"]
        bot = screen.query_one("#group-form-2", SettingsForm)
        bot.set_value("bot_quick_replies", "no equals sign")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: tabs.active == "tab-group-2", "the Bot tab with the error")
        bot.set_value("bot_quick_replies", "Prices = 10 €")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: "Saved" in str(screen.query_one("#edit-message").render()))
        screen.action_copy_embed()
        assert copied and "widget.js" in copied[0]
    channel = await _channel(bare_db, "Website")
    assert channel.settings["bot_quick_replies"] == "Prices = 10 €"
