"""The channel edit screen: signing a Microsoft 365 channel in again (the new refresh token
saved at once), and marks that go once the field is fixed."""

from __future__ import annotations

import httpx
from textual.widgets import Button

from engine.models import Channel
from engine.vault import open_settings
from tests.helpers.admin import SIZE, make_app, run_command, started, until
from tui.screens.channel_edit import ChannelEditScreen
from tui.screens.channels import ChannelsScreen
from tui.screens.signin import SignInScreen
from tui.widgets.settings_form import SettingsForm


async def open_edit(pilot, row: int) -> ChannelEditScreen:
    app = pilot.app
    await started(pilot)
    await run_command(pilot, "channels")
    await until(pilot, lambda: isinstance(app.screen, ChannelsScreen) and app.screen.loaded,
                "the channels screen")
    app.screen.table.move_cursor(row=row)
    await pilot.press("enter")
    await until(pilot, lambda: isinstance(app.screen, ChannelEditScreen)
                and app.screen.lists is not None, "the edit screen")
    await pilot.pause()
    return app.screen


async def test_sign_in_again_saves_the_new_token(admin_db, oauth_standin):
    from engine.store import Store

    async with Store(admin_db) as store:
        await store.add_channel(Channel(kind="email", name="m365", settings={
            "address": "help@acme.test", "mode": "forwarding", "oauth_provider": "office365",
            **oauth_standin.settings()}))
    app = make_app(admin_db)
    async with app.run_test(size=SIZE) as pilot:
        edit = await open_edit(pilot, 3)
        button = edit.query_one("#edit-signin", Button)
        assert button.display
        button.press()
        await until(pilot, lambda: isinstance(app.screen, SignInScreen)
                    and bool(app.screen.query("#signin-start")), "the sign-in dialog, composed")
        app.screen.query_one("#signin-start", Button).press()
        await until(pilot, lambda: oauth_standin._devices, "a device code")
        (grant,) = oauth_standin._devices.values()
        async with httpx.AsyncClient() as browser:
            await browser.get(oauth_standin.verification_url,
                              params={"user_code": grant.user_code})
        await until(pilot, lambda: app.screen is edit, "back on the edit screen")
        await until(pilot, lambda: "Signed in" in str(edit.query_one("#edit-message").content),
                    "saved")
        saved = open_settings(await app.store.channel("m365"))["oauth_refresh_token"]
        assert saved in oauth_standin.refresh_tokens
        form = edit.query_one("#config-form", SettingsForm)
        assert form.value("oauth_refresh_token") == saved


async def test_marks_go_once_fixed_and_no_sign_in_for_password_channels(admin_db):
    app = make_app(admin_db)
    async with app.run_test(size=SIZE) as pilot:
        edit = await open_edit(pilot, 0)
        assert not edit.query_one("#edit-signin", Button).display
        form = edit.query_one("#config-form", SettingsForm)
        form.set_value("address", "not an address")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: form.errors(), "the address error")
        assert str(edit.query_one("#edit-message").content).startswith("Not saved")
        form.set_value("address", "help@example.com")
        await until(pilot, lambda: not form.errors(), "the mark gone")
        assert str(edit.query_one("#edit-message").content) == ""
