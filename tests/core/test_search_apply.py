"""The ``/`` language applied to a view (tui/search.py ``apply``), as a pure function: every
filter, its words and its errors (issue 17: mutation survivors)."""

from __future__ import annotations

import pytest

from engine.models import Agent, Channel
from engine.store import StoreError, TicketQuery
from tui.search import apply, parse

ADA = Agent(id=1, email="ada@acme.test", name="Ada Admin")
BOB = Agent(id=2, email="bob@acme.test", name="Bob Builder")
SUPPORT = Channel(id=5, kind="email", name="Support", settings={})
FORMS = Channel(id=6, kind="form", name="Web form", settings={})


def q(text: str, base: TicketQuery | None = None, statuses=("new", "open", "pending")):
    return apply(base or TicketQuery(view="open", agent_id=1), parse(text),
                 channels=[SUPPORT, FORMS], agents=[ADA, BOB], me=ADA, statuses=statuses)


def test_words_become_the_text_and_no_words_no_text():
    assert q("printer fire").text == "printer fire"
    assert q("status:open").text is None


def test_status_looks_across_open_and_closed_and_keeps_the_views_narrowing():
    got = q("status:pending")
    assert (got.status, got.view, got.unassigned, got.assignee_id) == ("pending", "all", False,
                                                                       None)
    assert q("status:open", TicketQuery(view="unassigned")).unassigned is True
    assert q("status:open", TicketQuery(view="mine", agent_id=2)).assignee_id == 2
    assert q("status:open", TicketQuery(view="mine")).assignee_id == -1
    with pytest.raises(StoreError, match="unknown status 'bogus' — statuses: new, open, pending"):
        q("status:bogus")
    assert q("status:anything", statuses=()).status == "anything"  # no list: not checked


def test_priority_must_be_known():
    assert q("priority:urgent").priority == "urgent"
    with pytest.raises(StoreError, match="unknown priority 'hot' — priorities: "):
        q("priority:hot")


@pytest.mark.parametrize(("text", "channel_id"), [
    ("channel:support", 5), ("channel:SUPPORT", 5), ("channel:6", 6), ("channel:form", 6),
    ('channel:"web form"', 6),
])
def test_a_channel_by_name_id_or_kind(text, channel_id):
    assert q(text).channel_id == channel_id


def test_an_unknown_channel_names_the_known_ones():
    with pytest.raises(StoreError, match="no channel named 'nope' — channels: Support, Web form"):
        q("channel:nope")
    with pytest.raises(StoreError, match="there are no channels yet"):
        apply(TicketQuery(), parse("channel:x"), channels=[], agents=[], me=None)


@pytest.mark.parametrize(("text", "assignee_id", "unassigned"), [
    ("assignee:me", 1, False), ("assignee:bob@acme.test", 2, False),
    ("assignee:Bob", 2, False), ('assignee:"bob builder"', 2, False),
    ("assignee:none", None, True), ("assignee:nobody", None, True), ("assignee:-", None, True),
])
def test_assignee_by_me_email_name_or_nobody(text, assignee_id, unassigned):
    got = q(text)
    assert (got.assignee_id, got.unassigned) == (assignee_id, unassigned)


def test_an_unknown_agent_is_an_error_naming_what_was_typed():
    with pytest.raises(StoreError, match="no agent 'Carol'"):
        q("assignee:Carol")


def test_filters_combine_and_the_base_view_stays():
    got = q("refund status:open channel:support assignee:bob priority:high")
    assert (got.text, got.status, got.channel_id, got.assignee_id, got.priority) == (
        "refund", "open", 5, 2, "high")
    assert q("refund").view == "open" and q("refund").agent_id == 1


def test_parse_keeps_unknown_keys_and_empty_values_as_words():
    s = parse("foo:bar status: x Status:Open")
    assert s.words == "foo:bar status: x" and s.filters == {"status": "Open"}
    broken = parse('channel:"web form')  # an unclosed quote: split on spaces instead
    assert (broken.filters, broken.words) == ({"channel": '"web'}, "form")
