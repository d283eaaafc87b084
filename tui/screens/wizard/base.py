"""The connect-a-channel wizard framework: a kind declares its steps, the driver walks them.

A :class:`Wizard` holds what the admin entered so far (``values``: the settings model's keys plus
the channel-wide ``CHANNEL_KEYS``), the directory it offers (agents, teams, pipelines) and, once
saved, the :class:`~engine.models.Channel`. :meth:`Wizard.run` runs in a worker and pushes one
:class:`WizardStep` screen at a time with ``push_screen_wait``; a step answers ``"next"``,
``"back"`` or ``"cancel"``. A step is validated before the wizard moves on: its
:meth:`WizardStep.check` runs in a worker (it may log in to a server) and shows errors beside
the fields; only a clean check dismisses the step.

Keys on every step (binding ids): ``ctrl+n`` next (``wizard.next``), ``ctrl+b`` back
(``wizard.back``), ``escape`` cancel (``wizard.cancel``); Enter in a one-line field is Next.
When a step opens, its first field has focus (a step without fields focuses Next), so typing
goes straight into it; the scrolling body itself never takes focus — ``pagedown``/``pageup``
scroll it from any field (``wizard.page_down`` / ``wizard.page_up``) on a small terminal.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import (
    Button,
    Checkbox,
    Input,
    RadioSet,
    Select,
    SelectionList,
    Static,
    Switch,
    TextArea,
)

from engine.channels import build_adapter, entry
from engine.channels.setup import SettingError, build_channel
from engine.models import Agent, Channel, Pipeline, Team
from engine.store import StoreError
from tui.screens.base import desk_app
from tui.widgets.choice import ChoiceSet
from tui.widgets.key_footer import KeyFooter
from tui.widgets.settings_form import SettingsForm

if TYPE_CHECKING:
    from engine.channels.base import ChannelAdapter
    from tui.host import DeskApp

NEXT, BACK, CANCEL = "next", "back", "cancel"
#: what a step may answer to be shown again with the steps recomputed (a choice changed them)
AGAIN = "again"
#: widgets that count as a step's fields (what gets focus when a step opens)
FIELD_TYPES = (Input, Select, Switch, TextArea, RadioSet, SelectionList, Checkbox)


class Wizard:
    """One run of a kind's wizard. Subclasses set ``kind``, ``title`` and ``steps``."""

    kind: ClassVar[str] = ""
    title: ClassVar[str] = ""
    steps: ClassVar[list[type[WizardStep]]] = []

    def __init__(self, app: DeskApp) -> None:
        self.app = app
        self.name = ""
        self.values: dict[str, Any] = {}
        self.extra: dict[str, Any] = {}  # step choices that are not settings (preset, history…)
        self.channel: Channel | None = None
        self.agents: list[Agent] = []
        self.teams: list[Team] = []
        self.pipelines: list[Pipeline] = []

    @property
    def settings_model(self) -> Any:
        return entry(self.kind).settings_class()

    @property
    def store(self) -> Any:
        return self.app.store

    async def load(self) -> None:
        self.agents = await self.store.agents()
        self.teams = await self.store.teams()
        self.pipelines = await self.store.pipelines()

    def active_steps(self) -> list[type[WizardStep]]:
        return [s for s in self.steps if s.applies(self)]

    async def run(self) -> Channel | None:
        """Walk the steps; the saved channel when finished, None when cancelled."""
        await self.load()
        index = 0
        while True:
            steps = self.active_steps()
            if index >= len(steps):
                return self.channel
            step = steps[index](self, index + 1, len(steps))
            answer = await self.app.push_screen_wait(step)
            if answer == CANCEL or answer is None:
                if self.channel is not None and not self.channel.enabled:
                    # saved (disabled) by the history step: say so rather than leave it unseen
                    self.app.notify(f"Channel {self.channel.name!r} was saved but stays disabled;"
                                    " enable it on the channels screen (space) when ready.",
                                    title="Wizard cancelled", timeout=8)
                return None
            if answer == BACK:
                index = max(0, index - 1)
            elif answer != AGAIN:
                index += 1

    # ----------------------------------------------------------------- helpers
    def build(self, **more: Any) -> Channel:
        """The channel the values so far describe (raises SettingError naming the key)."""
        pipelines = {p.name: [s.name for s in p.statuses] for p in self.pipelines}
        return build_channel(self.kind, self.name, {**self.values, **more},
                             settings_model=self.settings_model, agents=self.agents,
                             teams=self.teams, pipelines=pipelines, base=None)

    async def save(self, *, enabled: bool) -> Channel:
        """Store the channel (added the first time, updated after); returns it."""
        channel = self.build().model_copy(update={"enabled": enabled})
        if self.channel is None:
            self.channel = await self.store.add_channel(channel)
        else:
            channel = channel.model_copy(update={"id": self.channel.id,
                                                 "health": self.channel.health})
            self.channel = await self.store.update_channel(channel)
        return self.channel

    def adapter(self, channel: Channel | None = None) -> ChannelAdapter:
        """An adapter for tests and imports outside the engine's running channels, built
        like the engine's (:func:`engine.channels.build_adapter`)."""
        return build_adapter(channel or self.build(), self.store)


class WizardStep(Screen[str]):
    """One page of a wizard. Override ``TITLE``, ``body()`` and ``check()``."""

    TITLE: ClassVar[str] = ""
    NEXT_LABEL: ClassVar[str] = "Next"
    AUTO_FOCUS = ""  # not Textual's "first focusable": that is the scrolling body, not a field
    DEFAULT_CSS = """
    WizardStep { layout: vertical; }
    WizardStep #wizard-head { height: 3; padding: 1 2 0 2; background: $panel; color: $primary;
        text-style: bold; }
    WizardStep #wizard-steps { height: 1; padding: 0 2; background: $panel; color: $text-muted; }
    WizardStep #wizard-body { padding: 1 2; height: 1fr; }
    WizardStep #wizard-message { padding: 0 2; height: auto; color: $error; }
    WizardStep #wizard-message.-ok { color: $success; }
    WizardStep #wizard-buttons { height: 3; padding: 0 2; align-horizontal: right; }
    WizardStep #wizard-buttons Button { margin-left: 2; }
    WizardStep .wizard-note { margin: 0 0 1 0; }
    """
    BINDINGS = [
        Binding("ctrl+n", "next", "Next", id="wizard.next"),
        Binding("ctrl+b", "back", "Back", id="wizard.back"),
        Binding("escape", "cancel", "Cancel", id="wizard.cancel"),
        Binding("pagedown", "scroll_body(1)", "Scroll down", show=False,
                id="wizard.page_down"),
        Binding("pageup", "scroll_body(-1)", "Scroll up", show=False, id="wizard.page_up"),
    ]

    def __init__(self, wizard: Wizard, number: int, total: int) -> None:
        super().__init__()
        self.wizard = wizard
        self.number = number
        self.total = total
        self.checking = False

    @classmethod
    def applies(cls, wizard: Wizard) -> bool:
        """Whether this step is part of the wizard given the answers so far."""
        return True

    @property
    def tapp(self) -> DeskApp:
        return desk_app(self)

    def compose(self) -> ComposeResult:
        titles = [s.TITLE for s in self.wizard.active_steps()]
        yield Static(self._head(len(titles)), id="wizard-head")
        yield Static(self._trail(titles), id="wizard-steps")
        with VerticalScroll(id="wizard-body"):
            yield from self.body()
        yield Static("", id="wizard-message")
        with Horizontal(id="wizard-buttons"):
            yield from self.extra_buttons()
            yield Button("Cancel", id="wizard-cancel")
            yield Button("Back", id="wizard-back", disabled=self.number == 1)
            yield Button(self.NEXT_LABEL, id="wizard-next", variant="primary")
        yield KeyFooter()

    def _head(self, total: int) -> Text:
        return Text(f"{self.wizard.title} — step {self.number} of {total}: {self.TITLE}")

    def _trail(self, titles: list[str]) -> Text:
        trail = Text()
        for i, title in enumerate(titles, 1):
            if i > 1:
                trail.append(" › ", "dim")
            trail.append(f"{i} {title}", "bold reverse" if i == self.number else "")
        return trail

    def show_steps(self, titles: list[str]) -> None:
        """Show the steps a choice on this step leads to (before it is confirmed by Next)."""
        self.query_one("#wizard-head", Static).update(self._head(len(titles)))
        self.query_one("#wizard-steps", Static).update(self._trail(titles))

    def body(self) -> ComposeResult:
        yield from ()

    def on_mount(self) -> None:
        # runs after a subclass's on_mount, so fields it hides are skipped
        self.query_one("#wizard-body").can_focus = False
        self.call_after_refresh(self.focus_first_field)

    def first_field(self) -> Any:
        """The first visible, enabled field of the body (None for a step without fields)."""
        body = self.query_one("#wizard-body")
        return next((w for w in self.focus_chain
                     if isinstance(w, FIELD_TYPES) and body in w.ancestors), None)

    def focus_first_field(self) -> None:
        target = self.first_field() or self.query_one("#wizard-next", Button)
        target.focus()
        if isinstance(target, ChoiceSet):
            target.cursor_to_pressed()  # the cursor on the chosen one, not the first

    def extra_buttons(self) -> ComposeResult:
        yield from ()

    async def check(self) -> bool:
        """Read the fields into the wizard and validate; show errors and return False if bad."""
        return True

    def say(self, message: str | Text, *, error: bool = True) -> None:
        widget = self.query_one("#wizard-message", Static)
        widget.set_class(not error, "-ok")
        widget.update(message if isinstance(message, Text) else Text(message))

    def show_setting_error(self, exc: Exception, forms: list[Any]) -> bool:
        """Put a SettingError (an error with a ``key``) beside its field if one of ``forms``
        has it, else on the message."""
        key = getattr(exc, "key", "")
        text = str(exc).removeprefix(f"{key}: ") if key else str(exc)
        for form in forms:
            if key and form.has(key):
                form.show_errors({key: text})
                return True
        self.say(str(exc))
        return False

    @on(SettingsForm.Changed)
    def _field_edited(self) -> None:
        """The step's message goes once no field is marked any more (the fix was made)."""
        message = self.query_one("#wizard-message", Static)
        if not message.has_class("-ok") and str(message.content) \
                and not any(form.errors() for form in self.query(SettingsForm)):
            self.say("")

    # ----------------------------------------------------------------- actions
    def action_next(self) -> None:
        if not self.checking:
            self._advance()

    @work(exclusive=True, group="wizard-step", exit_on_error=False)
    async def _advance(self) -> None:
        self.checking = True
        self.query_one("#wizard-next", Button).disabled = True
        try:
            ok = await self.check()
        except (SettingError, StoreError, ValueError) as exc:
            self.say(str(exc))
            ok = False
        except Exception as exc:  # a server or disk problem, shown in words
            self.say(f"{type(exc).__name__}: {exc}")
            ok = False
        finally:
            self.checking = False
            self.query_one("#wizard-next", Button).disabled = False
        if ok:
            self.dismiss(NEXT)

    def action_scroll_body(self, direction: int) -> None:
        body = self.query_one("#wizard-body", VerticalScroll)
        body.scroll_page_down() if direction > 0 else body.scroll_page_up()

    def action_back(self) -> None:
        if self.number > 1 and not self.checking:
            self.dismiss(BACK)

    def action_cancel(self) -> None:
        self.workers.cancel_group(self, "wizard-step")
        self.dismiss(CANCEL)

    @on(Button.Pressed, "#wizard-next")
    def _next_pressed(self) -> None:
        self.action_next()

    @on(Button.Pressed, "#wizard-back")
    def _back_pressed(self) -> None:
        self.action_back()

    @on(Button.Pressed, "#wizard-cancel")
    def _cancel_pressed(self) -> None:
        self.action_cancel()

    @on(Input.Submitted)
    def _submitted(self) -> None:
        self.action_next()
