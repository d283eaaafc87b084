"""Edit one channel: **Configuration** (sender, signature, attribution, connection) and
**Automation** (default ticket properties and the routing rule). A kind whose registry entry
groups its settings in ``tabs`` gets those tabs instead (chat: Configure, Availability, Bot),
then **Routing**; a kind with an ``embed_code`` gets an **Embed code** tab (``y`` copies it).

Both tabs are rendered from the same declarations as the wizard (the kind's settings model and
``CHANNEL_KEYS``) and saved through :func:`engine.channels.setup.build_channel`, so an error
names the key and is shown beside its field (the tab holding it comes to the front).

A channel that signs in with Google or Microsoft (``oauth_provider``) gets a "Sign in…" button:
it signs in again (:class:`tui.screens.signin.SignInScreen`) and saves the new refresh token at
once — what a channel whose health reads "needs re-authorisation" needs. A field marked wrong is
re-checked as it is edited; the "Not saved" message goes once nothing is marked.

| key | action (binding id) |
|---|---|
| ``ctrl+s`` | save (``channel_edit.save``) |
| ``escape`` | back without saving (``channel_edit.back``) |
| ``y`` | copy a web channel's embed code (OSC 52; ``channel_edit.copy_embed``) |
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Button, Static, TabbedContent, TabPane

from engine.channels import Ability, build_adapter, cannot, entry
from engine.channels.setup import SettingError, build_channel
from engine.models import Channel
from engine.store import StoreError
from tui.screens.base import TickettyScreen, stored_id
from tui.text import clean, line
from tui.widgets.channel_forms import RoutingForm, TicketPropertiesForm
from tui.widgets.key_footer import KeyFooter
from tui.widgets.settings_form import (
    FieldSpec,
    SettingsForm,
    defaults_of,
    model_errors,
    specs_from_model,
)

MULTILINE = {"signature"}


class ChannelEditScreen(TickettyScreen):
    SCREEN_KIND = "channel_edit"
    HELP_TITLE = "edit channel"
    DEFAULT_CSS = """
    ChannelEditScreen #edit-title { height: 1; padding: 0 1; background: $panel;
        color: $primary; text-style: bold; }
    ChannelEditScreen TabbedContent { height: 1fr; }
    ChannelEditScreen TabPane { padding: 0; }
    ChannelEditScreen VerticalScroll { padding: 1 2; }
    ChannelEditScreen #edit-message { height: auto; padding: 0 2; color: $error; }
    ChannelEditScreen #edit-message.-ok { color: $success; }
    ChannelEditScreen #edit-buttons { height: 3; padding: 0 2; align-horizontal: right; }
    ChannelEditScreen #edit-buttons Button { margin-left: 2; }
    """
    BINDINGS = [
        Binding("ctrl+s", "save", "Save", id="channel_edit.save"),
        Binding("escape", "back", "Back", id="channel_edit.back"),
        Binding("y", "copy_embed", "Copy embed code", show=False, id="channel_edit.copy_embed"),
    ]

    def __init__(self, channel: Channel) -> None:
        super().__init__()
        self.channel = channel
        self.model = entry(channel.kind).settings_class()
        self.lists: dict[str, Any] | None = None

    def compose(self) -> ComposeResult:
        yield Static(Text(f"Channel {line(self.channel.name)} ({self.channel.kind})"),
                     id="edit-title")
        yield TabbedContent(id="edit-tabs")
        yield Static("", id="edit-message")
        with Horizontal(id="edit-buttons"):
            yield Button("Sign in…", id="edit-signin")
            yield Button("Manage form", id="edit-form")
            yield Button("Test connection", id="edit-test")
            yield Button("Cancel", id="edit-cancel")
            yield Button("Save", id="edit-save", variant="primary")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one("#edit-signin").display = False
        self.query_one("#edit-form").display = "form" in self.channel.settings  # forms kind
        # a kind that cannot test its connection gets no button for it
        self.query_one("#edit-test").display = entry(self.channel.kind).can(
            Ability.test_connection)

    def engine_ready(self) -> None:
        self._load()

    @work(exclusive=True, group="channel-edit", exit_on_error=False)
    async def _load(self) -> None:
        if self.lists is not None:
            return
        store = self.tapp.store
        self.lists = {"agents": await store.agents(), "teams": await store.teams(),
                      "pipelines": await store.pipelines()}
        # the kind's registry entry says which settings come first (the rest as declared) and
        # how they are grouped in tabs
        kind = entry(self.channel.kind)
        groups = [(title, list(keys)) for title, keys in kind.tabs] or [("Configuration", [])]
        named = {k for _, keys in groups for k in keys}
        first = groups[0][1] or list(kind.form_first)
        order = first + [k for k in self.model.model_fields if k not in first and k not in named]
        config = [FieldSpec("name", "Channel name", "text",
                            "Shown in the queue and the channels list."),
                  *specs_from_model(self.model, order, multiline=MULTILINE)]
        values = {"name": self.channel.name, **defaults_of(self.model), **self.channel.settings}
        tabs = self.query_one(TabbedContent)
        await tabs.add_pane(TabPane(groups[0][0], VerticalScroll(SettingsForm(
            config, values, id="config-form", check=self._config_errors)),
            id="tab-configuration"))
        for n, (title, keys) in enumerate(groups[1:], 1):
            await tabs.add_pane(TabPane(title, VerticalScroll(SettingsForm(
                specs_from_model(self.model, keys, multiline=MULTILINE), values,
                id=f"group-form-{n}", check=self._config_errors)), id=f"tab-group-{n}"))
        await tabs.add_pane(TabPane("Routing" if kind.tabs else "Automation", VerticalScroll(
            Static(Text("New tickets", style="bold underline")),
            TicketPropertiesForm(self.lists["pipelines"], self.channel, id="properties"),
            Static(Text("Routing", style="bold underline")),
            RoutingForm(self.lists["agents"], self.lists["teams"], self.channel, id="routing")),
            id="tab-automation"))
        embed = self.embed_code()
        if embed:
            await tabs.add_pane(TabPane("Embed code", VerticalScroll(
                Static(Text("Paste this tag into every page of your site; press y to copy it.")),
                Static(Text(embed), id="embed-code")), id="tab-embed"))
        tabs.active = "tab-configuration"
        self._show_signin()

    def _config_errors(self, values: dict[str, Any]) -> dict[str, str]:
        settings = {k: v for k, v in values.items() if k != "name"}
        errors = model_errors(self.model, {**self.channel.settings, **settings}, settings)
        if not line(str(values.get("name", ""))):
            errors["name"] = "give the channel a name"
        return errors

    def _show_signin(self) -> None:
        form = self.query_one("#config-form", SettingsForm)
        self.query_one("#edit-signin").display = bool(
            entry(self.channel.kind).can(Ability.sign_in)
            and form.has("oauth_provider") and form.value("oauth_provider"))

    @on(SettingsForm.Changed)
    def _edited(self, event: SettingsForm.Changed) -> None:
        if event.key == "oauth_provider":
            self._show_signin()
        message = self.query_one("#edit-message", Static)
        marked = any(form.errors() for form in self.query(SettingsForm)) or \
            any(str(t.content) for t in self.query("#targets-error").results(Static))
        if not message.has_class("-ok") and not marked:
            self.say("")

    def embed_code(self) -> str:
        """The kind's ``embed_code`` from ``[engine] public_url`` (empty: the kind has none)."""
        from engine.config import Config

        if not entry(self.channel.kind).can(Ability.web_routes):
            return ""  # no web routes, no links (and no adapter module to import)
        config = getattr(self.app, "config", None)
        base = (config if isinstance(config, Config) else Config()).engine.public_base()
        links = entry(self.channel.kind).adapter_class().public_links(self.channel,
                                                                     base.rstrip("/"))
        return links.get("embed_code", "")

    def action_copy_embed(self) -> None:
        code = self.embed_code()
        if code:
            self.app.copy_to_clipboard(code)
            self.say("Embed code copied to the clipboard.", ok=True)

    def forms(self) -> list[tuple[str, Any]]:
        groups = [(f"tab-group-{n}", self.query_one(f"#group-form-{n}", SettingsForm))
                  for n in range(1, len(entry(self.channel.kind).tabs))]
        return [("tab-configuration", self.query_one("#config-form", SettingsForm)), *groups,
                ("tab-automation", self.query_one("#properties", TicketPropertiesForm)),
                ("tab-automation", self.query_one("#routing", RoutingForm))]

    def say(self, message: str, ok: bool = False) -> None:
        widget = self.query_one("#edit-message", Static)
        widget.set_class(ok, "-ok")
        widget.update(Text(message))

    def collect(self) -> tuple[str, Channel]:
        """The edited channel (raises SettingError naming the key)."""
        assert self.lists is not None
        values: dict[str, Any] = {}
        for _, form in self.forms():
            values.update(form.values())
        name = line(values.pop("name", "")) or self.channel.name
        pipelines = {p.name: [s.name for s in p.statuses] for p in self.lists["pipelines"]}
        channel = build_channel(self.channel.kind, name, values, settings_model=self.model,
                                agents=self.lists["agents"], teams=self.lists["teams"],
                                pipelines=pipelines, base=self.channel)
        return name, channel

    def show_error(self, exc: Exception) -> None:
        key = getattr(exc, "key", "")
        for _, form in self.forms():
            form.show_errors({})
        for pane, form in self.forms():
            if key and form.has(key):
                self.query_one(TabbedContent).active = pane
                form.show_errors({key: str(exc).removeprefix(f"{key}: ")})
                self.say(f"Not saved: {exc}")
                return
        self.say(f"Not saved: {exc}")

    # ------------------------------------------------------------------ actions
    def action_back(self) -> None:
        self.app.pop_screen()

    @on(Button.Pressed, "#edit-cancel")
    def _cancel(self) -> None:
        self.action_back()

    @on(Button.Pressed, "#edit-save")
    def _save_pressed(self) -> None:
        self.action_save()

    def action_save(self) -> None:
        if self.lists is not None:
            self._save()

    @work(exclusive=True, group="channel-edit", exit_on_error=False)
    async def _save(self) -> None:
        try:
            name, channel = self.collect()
            if name != self.channel.name and await self.tapp.store.channel(name) is not None:
                raise SettingError("name", f"a channel named {name!r} already exists")
            fresh = await self.tapp.store.channel(stored_id(self.channel.id))
            channel = channel.model_copy(update={"enabled": fresh.enabled if fresh else
                                                 channel.enabled})
            self.channel = await self.tapp.store.update_channel(channel)
        except (SettingError, StoreError, ValueError) as exc:
            self.show_error(exc)
            return
        for _, form in self.forms():
            form.show_errors({})
        self.say("Saved.", ok=True)
        self.notify(f"Channel {self.channel.name!r} saved.", markup=False)

    @on(Button.Pressed, "#edit-signin")
    def _signin_pressed(self) -> None:
        if self.lists is not None:
            self._sign_in()

    @work(exclusive=True, group="channel-edit", exit_on_error=False)
    async def _sign_in(self) -> None:
        from engine.channels.email_settings import EmailSettings
        from tui.screens.signin import SignInScreen

        lists = self.lists
        if lists is None:  # the button shows once they are loaded
            return
        try:
            _, planned = self.collect()
        except (SettingError, ValueError) as exc:
            self.show_error(exc)
            return
        settings = EmailSettings.model_validate({**planned.settings, "oauth_refresh_token": ""})
        token = await self.app.push_screen_wait(SignInScreen(
            self.channel.name, settings.oauth_provider, lambda: settings))
        if not token:
            return
        form = self.query_one("#config-form", SettingsForm)
        values = {k: v for k, v in form.values().items() if k.startswith("oauth_")}
        values["oauth_refresh_token"] = token
        fresh = await self.tapp.store.channel(stored_id(self.channel.id)) or self.channel
        pipelines = {p.name: [s.name for s in p.statuses] for p in lists["pipelines"]}
        self.channel = await self.tapp.store.update_channel(build_channel(
            fresh.kind, fresh.name, values, settings_model=self.model, base=fresh,
            agents=lists["agents"], teams=lists["teams"], pipelines=pipelines))
        form.set_value("oauth_refresh_token", token)
        self.say("Signed in; the new sign-in is saved.", ok=True)

    @on(Button.Pressed, "#edit-form")
    @work(exclusive=True, group="channel-edit", exit_on_error=False)
    async def _manage_form(self) -> None:
        """The form builder's steps on this channel's form (fields, ticket fields, thanks)."""
        from tui.screens.wizard.forms import manage_form

        await manage_form(self.tapp, str(self.channel.settings["form"]))

    @on(Button.Pressed, "#edit-test")
    def _test_pressed(self) -> None:
        if self.lists is not None:
            self._test()

    @work(exclusive=True, group="channel-edit", exit_on_error=False)
    async def _test(self) -> None:
        try:
            _, channel = self.collect()
        except (SettingError, ValueError) as exc:
            self.show_error(exc)
            return
        if not entry(channel.kind).can(Ability.test_connection):
            self.say(cannot(channel.kind, Ability.test_connection, channel.name))
            return
        self.say("Testing the connection…", ok=True)
        problems = await build_adapter(channel, self.tapp.store).test_connection()
        if problems:
            self.say("Connection test failed: " + "; ".join(clean(p, multiline=False)
                                                           for p in problems))
        else:
            self.say("Connection test passed.", ok=True)
