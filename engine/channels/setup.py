"""Turning ``key=value`` pairs into a channel: the one place the settings declaration is read.

The CLI's ``channels add/edit --set``, the TUI settings form and the wizards all call
:func:`build_channel`, so a key means the same thing everywhere and errors name the key.
Keys are the fields of the kind's settings model plus the channel-wide keys below.
"""

from __future__ import annotations

from typing import Any

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
)
from engine.routing import validate_rule

#: channel-wide keys (every kind): key → help
CHANNEL_KEYS: dict[str, str] = {
    "default_pipeline": "pipeline of new tickets",
    "default_status": "status of new tickets",
    "default_priority": "priority of new tickets (low|normal|high|urgent)",
    "routing": "who gets new tickets: nobody|users_teams|contact_owner",
    "routing_targets": "comma-separated agent emails and team names (for users_teams)",
    "only_available": "only route to available agents (true|false, default true)",
    "only_seated": "only route to agents with a seat (true|false, default true)",
    "routing_strategy": "round_robin|least_open",
    "routing_skills": "comma-separated skills an agent must have",
    "routing_cap": "most open tickets an agent may hold to get a new one",
}

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


def settings_keys(model: type[BaseModel]) -> dict[str, str]:
    return {name: (f.description or "") for name, f in model.model_fields.items()}


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
        validate_rule(rule, agents, [t.id for t in teams])
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
            agent_ids.append(agent.id)
        elif name.lower() in by_team:
            team_ids.append(by_team[name.lower()].id)
        else:
            raise SettingError("routing_targets", f"no agent or team named {item!r}")
    return agent_ids, team_ids
