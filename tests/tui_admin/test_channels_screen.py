"""The channels screen: health in words, enable/disable, remove, edit; admins only."""

from __future__ import annotations

from tests.helpers.admin import SIZE, make_app, notifications, run_command, started, until
from tui.screens.channels import ChannelsScreen


async def open_channels(pilot) -> ChannelsScreen:
    await started(pilot)
    await run_command(pilot, "channels")
    await until(pilot, lambda: isinstance(pilot.app.screen, ChannelsScreen)
                and pilot.app.screen.loaded, "the channels screen")
    return pilot.app.screen


def cells(screen: ChannelsScreen, row: int) -> list[str]:
    return [str(c) for c in screen.table.get_row_at(row)]


async def test_lists_channels_with_health_in_words(admin_db):
    app = make_app(admin_db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_channels(pilot)
        assert [c.name for c in screen.channels] == ["support", "sales", "old"]
        support, sales, old = cells(screen, 0), cells(screen, 1), cells(screen, 2)
        assert support[2:6] == ["on", "connected", "5m", "3"]
        assert "forward to smtp://127.0.0.1:2525" in support[6]
        assert sales[3] == "failing: IMAP: login failed: [AUTHENTICATIONFAILED]"
        assert old[2:4] == ["off", "disabled"]


async def test_disable_enable_and_remove(admin_db):
    app = make_app(admin_db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_channels(pilot)
        await pilot.press("space")
        await until(pilot, lambda: not screen.channels[0].enabled, "support disabled")
        assert cells(screen, 0)[2:4] == ["off", "disabled"]
        assert (await app.store.channel("support")).enabled is False
        await pilot.press("space")
        await until(pilot, lambda: screen.channels[0].enabled, "support enabled again")
        await pilot.press("j", "d")
        await until(pilot, lambda: type(app.screen).__name__ == "ConfirmScreen", "the dialog")
        await pilot.press("n")
        await pilot.pause()
        assert len(screen.channels) == 3
        await pilot.press("d")
        await until(pilot, lambda: type(app.screen).__name__ == "ConfirmScreen", "the dialog")
        await pilot.press("y")
        await until(pilot, lambda: len(screen.channels) == 2, "sales removed")
        assert [c.name for c in await app.store.channels()] == ["support", "old"]
        assert "Channel 'sales' removed; its tickets stay" in notifications(app)
        tickets = await app.store.read(lambda c: c.execute(
            "SELECT count(*) FROM tickets").fetchone()[0])
        assert tickets == 3


async def test_agent_is_refused_admin_actions(admin_db):
    app = make_app(admin_db, agent="bob@example.com")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_channels(pilot)
        for key in ("space", "d", "enter", "n"):
            await pilot.press(key)
            await pilot.pause()
        assert app.screen is screen
        said = notifications(app)
        assert "Enabling and disabling channels is for admins only" in said
        assert "Removing channels is for admins only" in said
        assert "Editing channels is for admins only" in said
        assert "Connecting channels is for admins only" in said
        assert (await app.store.channel("support")).enabled
        await pilot.press("escape")
        for command in ("connect email", "agents", "teams", "pipelines", "canned"):
            await run_command(pilot, command)
            await until(pilot, lambda: not app.busy(), "the command")
        assert app.screen.SCREEN_KIND == "queue"
        said = notifications(app)
        for what in ("Managing agents", "Managing teams", "Managing pipelines",
                     "Managing canned replies"):
            assert f"{what} is for admins only" in said


async def test_edit_tabs_save_and_error_beside_field(admin_db):
    from textual.widgets import TabbedContent

    from tui.screens.channel_edit import ChannelEditScreen
    from tui.widgets.channel_forms import RoutingForm, TicketPropertiesForm
    from tui.widgets.settings_form import SettingsForm

    app = make_app(admin_db)
    async with app.run_test(size=SIZE) as pilot:
        await open_channels(pilot)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ChannelEditScreen)
                    and app.screen.lists is not None, "the edit screen")
        edit = app.screen
        tabs = edit.query_one(TabbedContent)
        labels = [str(t.label) for t in tabs.query("Tab")]
        assert labels == ["Configuration", "Automation"]
        config = edit.query_one("#config-form", SettingsForm)
        config.set_value("company_name", "Example Ltd")
        config.set_value("signature", "Cheers,\n{first_name}")
        props = edit.query_one(TicketPropertiesForm)
        props.set_value("default_priority", "high")
        routing = edit.query_one(RoutingForm)
        routing.query_one("#routing-mode", SettingsForm).set_value("routing", "users_teams")
        await pilot.pause()
        await pilot.press("ctrl+s")
        await until(pilot, lambda: str(edit.query_one("#edit-message").content), "a message")
        # nobody chosen: the error sits beside the targets, on the Automation tab
        assert tabs.active == "tab-automation"
        assert "needs at least one user or team" in str(
            routing.query_one("#targets-error").content)
        targets = routing.targets
        assert [o.disabled for o in targets._options][-1] is True  # Carl has no seat
        targets.select("bob@example.com")
        config.set_value("address", "not an address")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: config.errors(), "the address error")
        assert tabs.active == "tab-configuration"
        assert "not a valid email address" in config.errors()["address"]
        config.set_value("address", "help@example.com")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: "Saved" in str(edit.query_one("#edit-message").content),
                    "saved")
        ch = await app.store.channel("support")
        assert ch.settings["company_name"] == "Example Ltd"
        assert ch.settings["address"] == "help@example.com"
        assert ch.defaults.priority.value == "high"
        assert ch.routing.mode.value == "users_teams" and ch.routing.agent_ids == [2]
        assert ch.enabled


async def test_channels_key_from_the_queue(admin_db):
    app = make_app(admin_db)
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot)
        await pilot.press("C")
        await until(pilot, lambda: isinstance(app.screen, ChannelsScreen) and app.screen.loaded,
                    "the channels screen")
        screen = app.screen
        # the screen lists what the store holds, in its first row
        stored = await app.store.channels()
        assert [c.name for c in screen.channels] == [c.name for c in stored] and stored
        assert stored[0].name in cells(screen, 0)[0]
        queue = app.screen_stack[-2]
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is queue, "back to the queue")
        assert not isinstance(app.screen, ChannelsScreen)
