"""Turning ``key=value`` pairs into a channel: the one place the settings declaration is read.

The CLI's ``channels add/edit --set``, the TUI settings form and the wizards all call
:func:`build_channel`, so a key means the same thing everywhere and errors name the key.
Keys are the fields of the kind's settings model plus the channel-wide keys below.
"""

from __future__ import annotations

import enum
import typing
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ValidationError

from engine.models import (
    Agent,
    Channel,
    Priority,
    RoutingMode,
    RoutingRule,
    Strategy,
    Team,
    TicketDefaults,
    saved_id,
)
from engine.routing import validate_rule
from engine.vault import secret_fields


@dataclass(frozen=True)
class KeyInfo:
    """One setting as every renderer needs it: what it is in words, its type, its choices
    (``(value, words)`` pairs) and its default. The CLI help, the forms and the wizards each
    phrase choices and defaults their own way (:meth:`cli_help` is the CLI's); the
    ``description`` itself never carries syntax like ``a|b`` or ``(true|false)``.

    ``kind``: text | secret | int | bool | choice | list (comma-separated on the CLI).
    """

    key: str
    description: str
    kind: str = "text"
    choices: tuple[tuple[str, str], ...] = ()
    default: Any = None

    def label(self, value: Any) -> str:
        """The words for one of the choices (the value itself when it has none)."""
        return next((words for v, words in self.choices if v == value), str(value))

    def cli_help(self) -> str:
        """The description with the values to type and the default, for ``channels keys``."""
        extras: list[str] = []
        if self.choices:
            extras.append("one of: " + ", ".join(v if v != "" else '""' for v, _ in self.choices))
        elif self.kind == "bool":
            extras.append("true or false")
        elif self.kind == "list":
            extras.append("comma-separated")
        if self.default not in (None, "") and self.kind != "secret" \
                and len(str(self.default)) <= 40:  # a long default text is not a hint
            default = str(self.default).lower() if isinstance(self.default, bool) \
                else str(self.default)
            extras.append(f"default {default}")
        return self.description + (f" ({'; '.join(extras)})" if extras else "")


def _kind_of(annotation: Any, secret: bool) -> tuple[str, tuple[Any, ...]]:
    if secret:
        return "secret", ()
    if typing.get_origin(annotation) is Literal:
        return "choice", typing.get_args(annotation)
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return "choice", tuple(m.value for m in annotation)
    if annotation is bool:
        return "bool", ()
    if annotation is int:
        return "int", ()
    return "text", ()


def model_keys(model: type[BaseModel]) -> dict[str, KeyInfo]:
    """:class:`KeyInfo` of every field of a settings model. Choice words come from the
    field's ``json_schema_extra={"choices": {value: words}}``."""
    out: dict[str, KeyInfo] = {}
    secrets = secret_fields(model)
    for name, f in model.model_fields.items():
        kind, values = _kind_of(f.annotation, name in secrets)
        extra = f.json_schema_extra if isinstance(f.json_schema_extra, dict) else {}
        words: dict[str, str] = extra.get("choices", {})  # type: ignore[assignment]
        choices = tuple((v, words.get(v, str(v))) for v in values)
        default = None if f.is_required() else f.get_default(call_default_factory=True)
        out[name] = KeyInfo(name, f.description or "", kind, choices, default)
    return out


#: channel-wide keys (every kind)
CHANNEL_KEYS: dict[str, KeyInfo] = {k.key: k for k in [
    KeyInfo("default_pipeline", "Pipeline new tickets start in.",
            default=TicketDefaults().pipeline),
    KeyInfo("default_status", "Status new tickets start with (one of the pipeline's).",
            default=TicketDefaults().status),
    KeyInfo("default_priority", "Priority new tickets start with.", "choice",
            tuple((p.value, p.value.capitalize()) for p in Priority), "normal"),
    KeyInfo("routing", "Who gets new tickets.", "choice", (
        ("nobody", "Nobody (tickets stay unassigned)"),
        ("users_teams", "Specific users and teams"),
        ("contact_owner", "The contact's owner")), "nobody"),
    KeyInfo("routing_targets", "The agents (by email) and teams (by name) who may get new "
            "tickets when specific users and teams are chosen.", "list"),
    KeyInfo("only_available", "Give new tickets only to agents who are available at the time.",
            "bool", default=True),
    KeyInfo("only_seated", "Give new tickets only to agents who have a seat.", "bool",
            default=True),
    KeyInfo("routing_strategy", "How to choose among the agents who may get a ticket.",
            "choice", (("round_robin", "Take turns"), ("least_open", "Fewest open tickets")),
            "round_robin"),
    KeyInfo("routing_skills", "Skills an agent must have to get a ticket.", "list"),
    KeyInfo("routing_cap", "Most open tickets an agent may hold and still get a new one; "
            "empty for no limit.", "int"),
]}

TRUE = {"true", "yes", "on", "1"}
FALSE = {"false", "no", "off", "0"}


class SettingError(ValueError):
    """A bad key or value; ``key`` names it."""

    def __init__(self, key: str, message: str):
        super().__init__(f"{key}: {message}")
        self.key = key


def parse_bool(key: str, value: str) -> bool:
    v = value.strip().lower()
    if v in TRUE:
        return True
    if v in FALSE:
        return False
    raise SettingError(key, f"expected true or false, got {value!r}")


def parse_pairs(pairs: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for pair in pairs:
        if "=" not in pair:
            raise SettingError(pair, "expected key=value")
        key, value = pair.split("=", 1)
        out[key.strip()] = value
    return out


def settings_keys(model: type[BaseModel]) -> dict[str, KeyInfo]:
    """Every key ``--set`` takes for a kind: its settings model's fields, then ``CHANNEL_KEYS``."""
    return {**model_keys(model), **CHANNEL_KEYS}


def build_channel(
    kind: str,
    name: str,
    values: dict[str, Any],
    *,
    settings_model: type[BaseModel],
    agents: list[Agent],
    teams: list[Team],
    pipelines: dict[str, list[str]],
    base: Channel | None = None,
) -> Channel:
    """Validate ``values`` (strings from the CLI or typed values from a form) into a Channel."""
    fields = settings_model.model_fields
    unknown = [k for k in values if k not in fields and k not in CHANNEL_KEYS]
    if unknown:
        raise SettingError(
            unknown[0],
            f"unknown key for a {kind} channel (known: {', '.join([*fields, *CHANNEL_KEYS])})",
        )
    settings = dict(base.settings) if base else {}
    for key, value in values.items():
        if key in fields:
            settings[key] = value
    try:
        validated = settings_model.model_validate(settings)
    except ValidationError as exc:
        err = exc.errors()[0]
        key = ".".join(str(x) for x in err["loc"]) or "settings"
        raise SettingError(key, err["msg"].removeprefix("Value error, ")) from None

    defaults = (base.defaults if base else TicketDefaults()).model_dump()
    routing = (base.routing if base else RoutingRule()).model_dump()
    for key in ("default_pipeline", "default_status", "default_priority"):
        if key in values:
            defaults[key.removeprefix("default_")] = str(values[key]).strip()
    if defaults["pipeline"] not in pipelines:
        raise SettingError("default_pipeline", f"no pipeline named {defaults['pipeline']!r}")
    if defaults["status"] not in pipelines[defaults["pipeline"]]:
        raise SettingError(
            "default_status",
            f"{defaults['status']!r} is not a status of pipeline"
            f" {defaults['pipeline']!r} ({', '.join(pipelines[defaults['pipeline']])})",
        )
    if defaults["priority"] not in Priority.__members__:
        raise SettingError("default_priority", f"must be one of {', '.join(Priority.__members__)}")

    if "routing" in values:
        mode = str(values["routing"]).strip()
        if mode not in RoutingMode.__members__:
            raise SettingError("routing", f"must be one of {', '.join(RoutingMode.__members__)}")
        routing["mode"] = mode
    for key, field in (("only_available", "only_available"), ("only_seated", "only_seated")):
        if key in values:
            v = values[key]
            routing[field] = v if isinstance(v, bool) else parse_bool(key, str(v))
    if "routing_strategy" in values:
        if values["routing_strategy"] not in Strategy.__members__:
            raise SettingError("routing_strategy", "must be round_robin or least_open")
        routing["strategy"] = values["routing_strategy"]
    if "routing_skills" in values:
        routing["skills"] = [
            s.strip() for s in str(values["routing_skills"]).split(",") if s.strip()
        ]
    if "routing_cap" in values:
        raw = str(values["routing_cap"]).strip()
        try:
            routing["cap"] = int(raw) if raw else None
        except ValueError:
            raise SettingError("routing_cap", f"expected a whole number, got {raw!r}") from None
    if "routing_targets" in values:
        routing["agent_ids"], routing["team_ids"] = resolve_targets(
            values["routing_targets"], agents, teams
        )
    rule = RoutingRule.model_validate(routing)
    problems = (
        validate_rule(rule, agents, [saved_id(t) for t in teams])
        if rule.mode == RoutingMode.users_teams
        else []
    )
    if problems:
        raise SettingError("routing_targets", problems[0])
    return Channel(
        id=base.id if base else None,
        kind=kind,
        name=name,
        enabled=base.enabled if base else True,
        settings=validated.model_dump(mode="json"),
        defaults=TicketDefaults.model_validate(defaults),
        routing=rule,
    )


def resolve_targets(
    spec: str | list[str], agents: list[Agent], teams: list[Team]
) -> tuple[list[int], list[int]]:
    items = spec if isinstance(spec, list) else [s.strip() for s in str(spec).split(",")]
    by_email = {a.email: a for a in agents}
    by_team = {t.name.lower(): t for t in teams}
    agent_ids: list[int] = []
    team_ids: list[int] = []
    for item in [i for i in items if i]:
        name = item.removeprefix("team:").strip()
        if "@" in item and not item.startswith("team:"):
            agent = by_email.get(item.lower())
            if agent is None:
                raise SettingError("routing_targets", f"no agent with email {item!r}")
            agent_ids.append(saved_id(agent))
        elif name.lower() in by_team:
            team_ids.append(saved_id(by_team[name.lower()]))
        else:
            raise SettingError("routing_targets", f"no agent or team named {item!r}")
    return agent_ids, team_ids
