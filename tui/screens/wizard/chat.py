"""The website chat wizard: the steps of ``:connect chat``.

1. Name — what agents call the channel.
2. Appearance — team name, accent colour, position, avatar, welcome message, with a live text
   preview of the widget (colours and side).
3. Availability — always / office hours / when a routed agent is available; outside: away
   message (asking for an email) or hidden; the email channel that answers away visitors.
4. Bot — on/off, collecting name and email, quick-reply buttons.
5. Routing — shared with every kind (:class:`~tui.screens.wizard.email_details.RoutingStep`).
6. Embed code — the channel is saved and enabled; the one ``<script>`` tag to paste in the
   site, and ``y`` copies it to the clipboard (OSC 52, ``App.copy_to_clipboard``).

Every field is rendered from :class:`engine.channels.chat_settings.ChatSettings`.
"""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Input, Label, Static

from engine.channels.chat import ChatAdapter
from engine.channels.chat_settings import ChatSettings
from engine.config import Config
from tui.screens.wizard.base import Wizard, WizardStep
from tui.screens.wizard.email_details import RoutingStep
from tui.text import line
from tui.widgets.settings_form import SettingsForm, defaults_of, model_errors, specs_from_model

APPEARANCE = ["team_name", "accent_color", "position", "agent_avatar", "welcome_message",
              "transcript_from"]
AVAILABILITY = ["availability", "office_hours", "outside_hours", "away_message",
                "reply_email_channel", "idle_minutes"]
BOT = ["bot_enabled", "bot_collect", "bot_quick_replies"]


def merged(wizard: Wizard) -> dict[str, Any]:
    return {**defaults_of(ChatSettings), **{k: v for k, v in wizard.values.items()
                                            if k in ChatSettings.model_fields}}


def preview(values: dict[str, Any]) -> Text:
    """The widget in words and colour: the launcher on its side, the header, the welcome."""
    colour = str(values.get("accent_color") or "#2563eb")
    style = f"bold white on {colour}" if len(colour) == 7 and colour.startswith("#") else "bold"
    left = values.get("position") == "bottom-left"
    settings = ChatSettings.model_construct(**values)
    avatar = settings.avatar()
    badge = "img" if "image" in avatar else avatar.get("initials", "?")
    text = Text()
    text.append(f" {badge} ", style)
    text.append(f" {line(str(values.get('team_name') or 'Support'))} · online \n", style)
    text.append(line(str(values.get("welcome_message") or "")) + "\n\n")
    text.append("[ Write a message…        ] [Send]\n\n", "dim")
    pad = "" if left else " " * 26
    text.append(f"{pad}( 💬 )", style)
    text.append("  ← bottom left" if left else "  bottom right", "dim")
    return text


class FormStep(WizardStep):
    """A step showing some of the chat settings as a form."""

    FIELDS: ClassVar[list[str]] = []
    MULTILINE: ClassVar[list[str]] = []

    def body(self) -> ComposeResult:
        yield SettingsForm(specs_from_model(ChatSettings, self.FIELDS, multiline=self.MULTILINE),
                           merged(self.wizard), id="chat-form")

    async def check(self) -> bool:
        form = self.query_one("#chat-form", SettingsForm)
        values = form.values()
        if form.show_errors(model_errors(ChatSettings, {**merged(self.wizard), **values},
                                         values)):
            return False
        self.wizard.values.update(values)
        return True


class NameStep(WizardStep):
    TITLE = "Name"

    def body(self) -> ComposeResult:
        yield Static(Text("What agents call this chat channel (e.g. Website)."),
                     classes="wizard-note")
        yield Input(self.wizard.name or "Website chat", id="chat-name")

    async def check(self) -> bool:
        name = self.query_one("#chat-name", Input).value.strip()
        if not name:
            self.say("give the channel a name")
            return False
        taken = {c.name for c in await self.wizard.store.channels()}
        if name in taken and (self.wizard.channel is None or self.wizard.channel.name != name):
            self.say(f"a channel called {name!r} exists already")
            return False
        self.wizard.name = name
        return True


class AppearanceStep(FormStep):
    TITLE = "Appearance"
    FIELDS = APPEARANCE
    MULTILINE = ["welcome_message"]

    def body(self) -> ComposeResult:
        with Horizontal(id="appearance-columns"):
            with Vertical(id="appearance-left"):
                yield from super().body()
            with Vertical(id="appearance-right"):
                yield Label("Preview", classes="sf-label")
                yield Static("", id="chat-preview")

    DEFAULT_CSS = """
    AppearanceStep #appearance-columns { height: auto; }
    AppearanceStep #appearance-left { width: 1fr; height: auto; }
    AppearanceStep #appearance-right { width: 46; height: auto; }
    AppearanceStep #chat-preview { border: round $primary; padding: 0 1; height: auto; }
    """

    def on_mount(self) -> None:
        self.refresh_preview()

    @on(SettingsForm.Changed)
    def _changed(self) -> None:
        self.refresh_preview()

    def refresh_preview(self) -> None:
        values = {**merged(self.wizard), **self.query_one("#chat-form", SettingsForm).values()}
        self.query_one("#chat-preview", Static).update(preview(values))


class AvailabilityStep(FormStep):
    TITLE = "Availability"
    FIELDS = AVAILABILITY
    MULTILINE = ["away_message"]


class BotStep(FormStep):
    TITLE = "Bot"
    FIELDS = BOT


def embed_code(wizard: Wizard) -> str:
    config = getattr(wizard.app, "config", None)
    base = (config if isinstance(config, Config) else Config()).engine.public_base()
    channel = wizard.channel or wizard.build()
    return ChatAdapter.public_links(channel, base.rstrip("/"))["embed_code"]


class EmbedStep(WizardStep):
    """Saves the channel (enabled) and shows the embed code; ``y`` copies it."""

    TITLE = "Embed code"
    NEXT_LABEL = "Finish"
    BINDINGS = [Binding("y", "copy", "Copy embed code", id="wizard.copy_embed")]

    def body(self) -> ComposeResult:
        yield Static(Text("Paste this tag into every page of your site (before </body>); "
                          "press y to copy it."), classes="wizard-note")
        yield Static("", id="embed-code")

    def on_mount(self) -> None:
        self.run_worker(self._save(), exclusive=True, group="chat-embed", exit_on_error=False)

    async def _save(self) -> None:
        await self.wizard.save(enabled=True)
        self.query_one("#embed-code", Static).update(Text(embed_code(self.wizard)))

    def action_copy(self) -> None:
        self.app.copy_to_clipboard(embed_code(self.wizard))
        self.say("Embed code copied to the clipboard.", error=False)

    async def check(self) -> bool:
        return True


class ChatWizard(Wizard):
    kind = "chat"
    title = "Connect website chat"
    steps = [NameStep, AppearanceStep, AvailabilityStep, BotStep, RoutingStep, EmbedStep]
