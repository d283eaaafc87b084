"""Assignment rules, as pure functions (no I/O): who gets a new ticket.

Modes:
- ``nobody``: the ticket stays unassigned.
- ``users_teams``: choose among the named agents and the members of the named teams, filtered
  by seat, availability (status *and* working hours) and skills, then round-robin or the
  least-loaded (fewest open tickets), optionally skipping agents at their cap. Nobody eligible →
  unassigned and *pending*: the engine assigns it when an eligible agent becomes available.
- ``contact_owner``: the contact's owner, even when away (then the owner is notified by email).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from engine.models import Agent, Availability, RoutingMode, RoutingRule, Strategy


@dataclass(frozen=True)
class RoutingContext:
    agents: list[Agent]
    open_counts: Mapping[int, int] = field(default_factory=dict)
    team_members: Mapping[int, list[int]] = field(default_factory=dict)
    contact_owner_id: int | None = None
    now: datetime | None = None
    last_assigned_id: int | None = None  # round-robin cursor of this channel


@dataclass(frozen=True)
class Decision:
    assignee_id: int | None
    team_id: int | None = None
    notify_owner: bool = False  # contact owner is away: tell them by email
    pending: bool = False  # no eligible agent now: assign when one becomes available
    reason: str = ""


def is_available(agent: Agent, now: datetime | None) -> bool:
    """Available = marked available and (when hours are set) inside working hours."""
    if agent.availability != Availability.available:
        return False
    if agent.working_hours is not None and now is not None:
        return agent.working_hours.contains(now)
    return True


def seatless_targets(rule: RoutingRule, agents: Iterable[Agent]) -> list[Agent]:
    """Agents named directly in the rule who have no seat (they can never be chosen)."""
    wanted = set(rule.agent_ids)
    return [a for a in agents if a.id in wanted and not a.seat]


def validate_rule(rule: RoutingRule, agents: list[Agent], team_ids: Iterable[int]) -> list[str]:
    """Problems that make a rule unusable, as sentences naming what is wrong."""
    problems: list[str] = []
    known = {a.id for a in agents}
    unknown = [i for i in rule.agent_ids if i not in known]
    if unknown:
        problems.append(f"unknown agent ids: {', '.join(map(str, unknown))}")
    missing_teams = [t for t in rule.team_ids if t not in set(team_ids)]
    if missing_teams:
        problems.append(f"unknown team ids: {', '.join(map(str, missing_teams))}")
    if rule.only_seated:
        seatless = seatless_targets(rule, agents)
        if seatless:
            names = ", ".join(f"{a.name} <{a.email}>" for a in seatless)
            problems.append(f"agents without a seat cannot be chosen: {names}")
    if rule.mode == RoutingMode.users_teams and not rule.agent_ids and not rule.team_ids:
        problems.append("routing to specific users and teams needs at least one user or team")
    if rule.cap is not None and rule.cap < 1:
        problems.append("cap must be at least 1")
    return problems


def candidates(rule: RoutingRule, ctx: RoutingContext) -> list[tuple[Agent, int | None]]:
    """Target agents of a users/teams rule, each with the team it came through (or None)."""
    by_id = {a.id: a for a in ctx.agents}
    seen: dict[int, int | None] = {}
    for agent_id in rule.agent_ids:
        if agent_id in by_id:
            seen.setdefault(agent_id, None)
    for team_id in rule.team_ids:
        for agent_id in ctx.team_members.get(team_id, []):
            if agent_id in by_id:
                seen.setdefault(agent_id, team_id)
    return [(by_id[i], t) for i, t in sorted(seen.items())]


def eligible(agent: Agent, rule: RoutingRule, ctx: RoutingContext) -> bool:
    if rule.only_seated and not agent.seat:
        return False
    if rule.only_available and not is_available(agent, ctx.now):
        return False
    if rule.skills and not set(rule.skills) <= set(agent.skills):
        return False
    return not (rule.cap is not None and ctx.open_counts.get(agent.id or -1, 0) >= rule.cap)


def route(rule: RoutingRule, ctx: RoutingContext) -> Decision:
    """Decide the assignee of a new ticket under ``rule``."""
    if rule.mode == RoutingMode.nobody:
        return Decision(None, reason="routing: nobody")
    if rule.mode == RoutingMode.contact_owner:
        owner = next((a for a in ctx.agents if a.id == ctx.contact_owner_id), None)
        if owner is None:
            return Decision(None, reason="routing: contact has no owner")
        if rule.only_seated and not owner.seat:
            return Decision(None, reason=f"routing: owner {owner.name} has no seat")
        away = not is_available(owner, ctx.now)
        return Decision(owner.id, notify_owner=away,
                        reason="routing: contact owner" + (" (away, notified)" if away else ""))
    pool = [(a, t) for a, t in candidates(rule, ctx) if eligible(a, rule, ctx)]
    if not pool:
        return Decision(None, pending=True, reason="routing: no eligible agent available")
    if rule.strategy == Strategy.least_open:
        agent, team = min(pool, key=lambda p: (ctx.open_counts.get(p[0].id or -1, 0), p[0].id))
    else:
        last = ctx.last_assigned_id
        after = [p for p in pool if last is not None and (p[0].id or 0) > last]
        agent, team = after[0] if after else pool[0]
    # the team the agent came through (None: named directly), from :func:`candidates`
    return Decision(agent.id, team_id=team,
                    reason=f"routing: {rule.strategy.value.replace('_', ' ')}")
