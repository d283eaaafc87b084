"""The channel-wide parts of a channel's settings, shared by every kind's wizard and edit screen.

:class:`TicketPropertiesForm` (pipeline, status, priority of new tickets) and
:class:`RoutingForm` (nobody / specific users and teams / contact owner, only-available, the
strategy) read their help text from :data:`engine.channels.setup.CHANNEL_KEYS`, and their
``values()`` are the ``CHANNEL_KEYS`` keys :func:`engine.channels.setup.build_channel` takes, so
the CLI's ``--set`` and these forms mean the same thing.

Agents without a seat are listed among the routing targets but disabled, with the reason,
because routing can never choose them (:func:`engine.routing.seatless_targets`).
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Label, SelectionList, Static
from textual.widgets.selection_list import Selection

from engine.channels.setup import CHANNEL_KEYS, KeyInfo
from engine.models import Agent, Channel, Pipeline, RoutingMode, Team
from tui.text import line
from tui.widgets.settings_form import FieldSpec, SettingsForm

NO_SEAT = "no seat — cannot be chosen"


def spec(key: str, label: str, choices: list[tuple[str, Any]] | None = None) -> FieldSpec:
    """A field for one of the ``CHANNEL_KEYS``: its words as help, its choices' words."""
    info: KeyInfo = CHANNEL_KEYS[key]
    if choices is None:
        choices = [(words, value) for value, words in info.choices]
    kind = "choice" if choices else info.kind
    return FieldSpec(key, label, kind, info.description, choices)


def _pipeline_statuses(pipelines: list[Pipeline], name: str) -> list[tuple[str, str]]:
    pipeline = next((p for p in pipelines if p.name == name), pipelines[0] if pipelines else None)
    if pipeline is None:
        return []
    return [(s.name + (" (closed)" if s.closed else ""), s.name) for s in pipeline.statuses]


class TicketPropertiesForm(SettingsForm):
    """``default_pipeline``, ``default_status`` (of that pipeline), ``default_priority``."""

    def __init__(self, pipelines: list[Pipeline], channel: Channel | None = None, *,
                 id: str | None = None) -> None:
        defaults = channel.defaults if channel else None
        pipeline = defaults.pipeline if defaults else (pipelines[0].name if pipelines else "")
        status = defaults.status if defaults else ""
        if not status:
            status = next((p.first_open for p in pipelines if p.name == pipeline), "")
        self.pipelines = pipelines
        specs = [
            spec("default_pipeline", "Pipeline", [(line(p.name), p.name) for p in pipelines]),
            spec("default_status", "Status", _pipeline_statuses(pipelines, pipeline)),
            spec("default_priority", "Priority"),
        ]
        values = {"default_pipeline": pipeline, "default_status": status,
                  "default_priority": (defaults.priority.value if defaults else "normal")}
        super().__init__(specs, values, id=id)

    @on(SettingsForm.Changed)
    def _pipeline_changed(self, event: SettingsForm.Changed) -> None:
        if event.key == "default_pipeline" and event.value:
            statuses = _pipeline_statuses(self.pipelines, event.value)
            first_open = next((p.first_open for p in self.pipelines if p.name == event.value), None)
            self.set_choices("default_status", statuses, first_open)


class RoutingForm(Vertical):
    """Who gets new tickets. ``values()`` → routing, routing_targets, only_available, strategy."""

    DEFAULT_CSS = """
    RoutingForm { height: auto; }
    RoutingForm #routing-targets { height: auto; max-height: 12; width: 80; }
    RoutingForm #targets-box { height: auto; margin: 0 0 1 0; }
    RoutingForm #targets-error { color: $error; }
    RoutingForm .sf-label { text-style: bold; }
    """

    def __init__(self, agents: list[Agent], teams: list[Team], channel: Channel | None = None, *,
                 id: str | None = None) -> None:
        super().__init__(id=id)
        self.agents = agents
        self.teams = teams
        rule = channel.routing if channel else None
        self.rule_mode = rule.mode.value if rule else RoutingMode.nobody.value
        self.chosen_agents = set(rule.agent_ids) if rule else set()
        self.chosen_teams = set(rule.team_ids) if rule else set()
        self.only_available = rule.only_available if rule else True
        self.strategy = rule.strategy.value if rule else "round_robin"

    def compose(self) -> ComposeResult:
        yield SettingsForm([spec("routing", "Assign new tickets to")],
                           {"routing": self.rule_mode}, id="routing-mode")
        with Vertical(id="targets-box"):
            yield Label("Users and teams", classes="sf-label")
            yield SelectionList[str](*self._selections(), id="routing-targets")
            yield Static("", id="targets-error")
        yield SettingsForm([spec("only_available", "Only available agents"),
                            spec("routing_strategy", "Strategy")],
                           {"only_available": self.only_available,
                            "routing_strategy": self.strategy}, id="routing-options")

    def _selections(self) -> list[Selection[str]]:
        out: list[Selection[str]] = []
        for team in self.teams:
            label = Text("team ", style="dim")
            label.append(line(team.name))
            count = len(team.members)
            label.append(f"  ({count} member{'s' if count != 1 else ''})", "dim")
            out.append(Selection(label, f"team:{team.name}", team.id in self.chosen_teams))
        for agent in self.agents:
            label = Text(line(agent.name))
            label.append(f" <{agent.email}>", "dim")
            if not agent.seat:
                label.append(f"  {NO_SEAT}", "italic")
            elif agent.availability.value == "away":
                label.append("  away", "yellow")
            out.append(Selection(label, agent.email, agent.id in self.chosen_agents and agent.seat,
                                 disabled=not agent.seat))
        return out

    def on_mount(self) -> None:
        self._show_targets(self.rule_mode)

    def _show_targets(self, mode: str | None) -> None:
        users_teams = mode == RoutingMode.users_teams.value
        self.query_one("#targets-box").display = users_teams
        self.query_one("#routing-options", SettingsForm).show("routing_strategy", users_teams)

    @on(SettingsForm.Changed)
    def _mode_changed(self, event: SettingsForm.Changed) -> None:
        if event.key == "routing":
            self._show_targets(event.value)

    @on(SelectionList.SelectedChanged)
    def _targets_changed(self) -> None:
        if self.targets.selected:  # the "choose someone" error is answered
            self.query_one("#targets-error", Static).update("")

    @property
    def targets(self) -> SelectionList[str]:
        return self.query_one("#routing-targets", SelectionList)

    def values(self) -> dict[str, Any]:
        out = {**self.query_one("#routing-mode", SettingsForm).values(),
               **self.query_one("#routing-options", SettingsForm).values()}
        if out["routing"] == RoutingMode.users_teams.value:
            out["routing_targets"] = ",".join(self.targets.selected)
        else:
            out["routing_targets"] = ""
        return out

    def show_errors(self, errors: dict[str, str]) -> bool:
        mine = self.query_one("#routing-mode", SettingsForm).show_errors(errors)
        mine = self.query_one("#routing-options", SettingsForm).show_errors(errors) or mine
        target_error = errors.get("routing_targets", "")
        self.query_one("#targets-error", Static).update(Text(target_error))
        if target_error:
            self.targets.focus()
        return mine or bool(target_error)

    def has(self, key: str) -> bool:
        return key in ("routing", "routing_targets", "only_available", "routing_strategy")
