"""Routing is a pure function: exhaustive tables of rules × agent states."""

from __future__ import annotations

from datetime import UTC, datetime, time

import pytest

from engine.models import Agent, RoutingMode, RoutingRule, Strategy, WorkingHours
from engine.routing import RoutingContext, is_available, route, validate_rule

MONDAY_10 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
MONDAY_20 = datetime(2026, 11, 23, 20, 0, tzinfo=UTC)
SUNDAY_10 = datetime(2026, 11, 29, 10, 0, tzinfo=UTC)
OFFICE = WorkingHours(days=[1, 2, 3, 4, 5], start=time(9), end=time(17))


def ag(i: int, **kw) -> Agent:
    return Agent(id=i, email=f"a{i}@example.com", name=f"Agent {i}", **kw)


A1, A2, A3 = ag(1), ag(2), ag(3)
AWAY = ag(4, availability="away")
NOSEAT = ag(5, seat=False)
BILLING = ag(6, skills=["billing", "fr"])
OFFICE_AGENT = ag(7, working_hours=OFFICE)


def ctx(agents, **kw) -> RoutingContext:
    return RoutingContext(agents=agents, now=kw.pop("now", MONDAY_10), **kw)


def rule(**kw) -> RoutingRule:
    kw.setdefault("mode", RoutingMode.users_teams)
    return RoutingRule(**kw)


def test_nobody_leaves_unassigned():
    d = route(RoutingRule(mode=RoutingMode.nobody), ctx([A1]))
    assert d.assignee_id is None and not d.pending


@pytest.mark.parametrize(
    ("targets", "last", "expected"),
    [
        ([1, 2, 3], None, 1),
        ([1, 2, 3], 1, 2),
        ([1, 2, 3], 2, 3),
        ([1, 2, 3], 3, 1),  # wraps around
        ([3, 1], 1, 3),
        ([2], 2, 2),
    ],
)
def test_round_robin(targets, last, expected):
    d = route(rule(agent_ids=targets), ctx([A1, A2, A3], last_assigned_id=last))
    assert d.assignee_id == expected


@pytest.mark.parametrize(
    ("counts", "expected"),
    [({1: 5, 2: 1, 3: 3}, 2), ({1: 0, 2: 0, 3: 0}, 1), ({1: 2, 2: 2, 3: 1}, 3), ({}, 1)],
)
def test_least_open(counts, expected):
    d = route(rule(agent_ids=[1, 2, 3], strategy=Strategy.least_open), ctx([A1, A2, A3], open_counts=counts))
    assert d.assignee_id == expected


@pytest.mark.parametrize(
    ("only_available", "now", "agents", "expected"),
    [
        (True, MONDAY_10, [AWAY, A1], 1),
        (False, MONDAY_10, [AWAY], 4),
        (True, MONDAY_10, [AWAY], None),
        (True, MONDAY_10, [OFFICE_AGENT], 7),
        (True, MONDAY_20, [OFFICE_AGENT], None),  # outside working hours
        (True, SUNDAY_10, [OFFICE_AGENT], None),  # not a working day
        (False, SUNDAY_10, [OFFICE_AGENT], 7),
    ],
)
def test_only_available(only_available, now, agents, expected):
    d = route(rule(agent_ids=[a.id for a in agents], only_available=only_available), ctx(agents, now=now))
    assert d.assignee_id == expected
    assert d.pending == (expected is None)


def test_seatless_agents_are_never_chosen_and_are_named():
    d = route(rule(agent_ids=[5]), ctx([NOSEAT]))
    assert d.assignee_id is None and d.pending
    problems = validate_rule(rule(agent_ids=[5, 1]), [NOSEAT, A1], [])
    assert problems == ["agents without a seat cannot be chosen: Agent 5 <a5@example.com>"]


def test_skills_filter():
    r = rule(agent_ids=[1, 6], skills=["billing"])
    assert route(r, ctx([A1, BILLING])).assignee_id == 6
    r = rule(agent_ids=[1, 6], skills=["billing", "de"])
    assert route(r, ctx([A1, BILLING])).assignee_id is None


def test_cap_skips_full_agents():
    r = rule(agent_ids=[1, 2], cap=3, strategy=Strategy.round_robin)
    assert route(r, ctx([A1, A2], open_counts={1: 3, 2: 2})).assignee_id == 2
    assert route(r, ctx([A1, A2], open_counts={1: 3, 2: 3})).pending


def test_teams_expand_to_members_and_set_team():
    r = rule(team_ids=[10])
    d = route(r, ctx([A1, A2, A3], team_members={10: [2, 3]}))
    assert d.assignee_id == 2 and d.team_id == 10
    r = rule(agent_ids=[1], team_ids=[10])
    d = route(r, ctx([A1, A2], team_members={10: [2]}, last_assigned_id=1))
    assert d.assignee_id == 2 and d.team_id == 10


@pytest.mark.parametrize(
    ("owner", "agents", "expected", "notify"),
    [
        (1, [A1], 1, False),
        (4, [AWAY], 4, True),  # away owner: still the owner, and notified
        (None, [A1], None, False),
        (5, [NOSEAT], None, False),
        (7, [OFFICE_AGENT], 7, False),
    ],
)
def test_contact_owner(owner, agents, expected, notify):
    d = route(RoutingRule(mode=RoutingMode.contact_owner), ctx(agents, contact_owner_id=owner))
    assert d.assignee_id == expected
    assert d.notify_owner is notify
    assert not d.pending


def test_owner_outside_hours_is_notified():
    d = route(RoutingRule(mode=RoutingMode.contact_owner), ctx([OFFICE_AGENT], contact_owner_id=7, now=MONDAY_20))
    assert d.assignee_id == 7 and d.notify_owner


def test_is_available_overnight_shift():
    night = ag(8, working_hours=WorkingHours(days=[1, 2, 3, 4, 5, 6, 7], start=time(22), end=time(6)))
    assert is_available(night, datetime(2026, 11, 23, 23, 0, tzinfo=UTC))
    assert is_available(night, datetime(2026, 11, 23, 5, 0, tzinfo=UTC))
    assert not is_available(night, MONDAY_10)


def test_validate_rule_problems():
    assert validate_rule(rule(), [A1], []) == [
        "routing to specific users and teams needs at least one user or team"]
    assert "unknown agent ids: 99" in validate_rule(rule(agent_ids=[99]), [A1], [])
    assert "unknown team ids: 3" in validate_rule(rule(team_ids=[3]), [A1], [1])


# -- the words a decision carries (shown in the ticket's thread) and the edges (issue 17:
# mutation testing found these unchecked)
def test_each_decision_says_why_in_words():
    assert route(RoutingRule(mode=RoutingMode.nobody), ctx([A1])).reason == "routing: nobody"
    owner = RoutingRule(mode=RoutingMode.contact_owner)
    assert route(owner, ctx([A1])).reason == "routing: contact has no owner"
    assert route(owner, ctx([A1], contact_owner_id=1)).reason == "routing: contact owner"
    away = route(owner, ctx([AWAY], contact_owner_id=4))
    assert away.reason == "routing: contact owner (away, notified)"
    seatless = route(owner, ctx([NOSEAT], contact_owner_id=5))
    assert seatless.reason == "routing: owner Agent 5 has no seat" and seatless.assignee_id is None
    assert route(rule(agent_ids=[4]), ctx([AWAY])).reason == \
        "routing: no eligible agent available"
    assert route(rule(agent_ids=[1]), ctx([A1])).reason == "routing: round robin"
    assert route(rule(agent_ids=[1], strategy=Strategy.least_open), ctx([A1])).reason == \
        "routing: least open"


def test_a_single_team_is_the_tickets_team_and_direct_agents_have_none():
    d = route(rule(agent_ids=[1]), ctx([A1]))
    assert d.team_id is None
    d = route(rule(team_ids=[10, 11]), ctx([A1, A2], team_members={10: [1], 11: [2]}))
    assert (d.assignee_id, d.team_id) == (1, 10)
    d = route(rule(agent_ids=[1], team_ids=[10]), ctx([A1, A2], team_members={10: [2]}))
    assert (d.assignee_id, d.team_id) == (1, None)  # chosen directly, not through the team
    d = route(rule(team_ids=[12]), ctx([A1], team_members={}))
    assert d.pending and d.team_id is None  # a team with no members: nobody, no crash


def test_cap_of_one_is_allowed_and_an_agent_without_counts_has_none_open():
    assert validate_rule(rule(agent_ids=[1], cap=1), [A1], []) == []
    assert validate_rule(rule(agent_ids=[1], cap=0), [A1], []) == ["cap must be at least 1"]
    capped = rule(agent_ids=[1, 2], cap=1)
    assert route(capped, ctx([A1, A2], open_counts={})).assignee_id == 1
    assert route(capped, ctx([A1, A2], open_counts={1: 1})).assignee_id == 2
    least = rule(agent_ids=[1, 2], strategy=Strategy.least_open)
    assert route(least, ctx([A1, A2], open_counts={1: 1})).assignee_id == 2  # 2 has none


def test_an_agent_with_exactly_the_skills_asked_is_eligible():
    assert route(rule(agent_ids=[6], skills=["billing", "fr"]), ctx([BILLING])).assignee_id == 6


def test_problems_list_every_unknown_id_and_seatless_agent_in_words():
    assert validate_rule(rule(agent_ids=[98, 99], team_ids=[3, 4]), [A1], [1]) == [
        "unknown agent ids: 98, 99", "unknown team ids: 3, 4"]
    two = ag(9, seat=False)
    assert validate_rule(rule(agent_ids=[5, 9]), [NOSEAT, two], []) == [
        "agents without a seat cannot be chosen: Agent 5 <a5@example.com>, "
        "Agent 9 <a9@example.com>"]
