"""The ingest transaction's bounces, quarantine and routing, row by row on a real store:
quarantined bounces placed later, routing marks (cursor, note, team, pending rows) and the
order in which pending tickets are assigned. The rest: tests/core/test_ingest_branches.py.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from engine.ingest_rules import content_digest
from engine.models import (
    Agent,
    InboundAttachment,
    InboundFlags,
    RoutingMode,
    Strategy,
    WorkingHours,
)
from engine.store.ingest import NotPlaced
from tests.helpers.ingest_rows import channel, event_at, events, msg, row, rows, sql

# ------------------------------------------------------------------ bounces


async def test_a_bounce_marks_the_mail_it_answers_and_takes_its_key(store):
    ch = await channel(store)
    sent = await store.ingest(msg(ch.id, "<sent@x>"))
    b = msg(ch.id, "<bounce@m>", sender="mailer-daemon@m.test", flags=InboundFlags(bounce=True),
            extra={"bounced_message_id": "<sent@x>"})
    r = await store.ingest(b)
    assert (r.ticket_id, r.message_id, r.bounce_marked, r.quarantined) == (
        sent.ticket_id, sent.message_id, True, False)
    reason = "the recipient's mail server bounced this message"
    assert await row(store, "SELECT delivery_state, delivery_error FROM messages WHERE id=?",
                     sent.message_id) == {"delivery_state": "failed", "delivery_error": reason}
    assert await events(store, "message.delivery") == [(sent.ticket_id, {
        "message_id": sent.message_id, "state": "failed", "error": reason})]
    assert await rows(store, "SELECT * FROM inbound_keys WHERE key='<bounce@m>'") == [
        {"channel_id": ch.id, "key": "<bounce@m>", "message_id": sent.message_id,
         "ticket_id": sent.ticket_id, "digest": content_digest(b)}]
    assert await rows(store, "SELECT id FROM contacts") == [{"id": 1}]  # no daemon contact
    again = await store.ingest(b)
    assert again.duplicate and again.message_id == sent.message_id


async def test_a_bounce_without_original_or_with_a_threadless_one_is_quarantined(store):
    ch = await channel(store)
    t = await store.ingest(msg(ch.id, "<sent@x>"))
    # a thread id known only as the ticket's, not as one message's
    await sql(store, "INSERT INTO thread_ids VALUES ('<t@x>', ?, NULL)", t.ticket_id)
    for i, extra in enumerate([{}, {"bounced_message_id": "<t@x>"}]):
        b = msg(ch.id, f"<bounce{i}@m>", flags=InboundFlags(bounce=True), extra=extra,
                raw=f"raw bounce {i}".encode())
        r = await store.ingest(b)
        assert (r.ticket_id, r.message_id, r.quarantined, r.bounce_marked) == (
            None, None, True, False)
        assert await rows(store, "SELECT channel_id, message_id, ticket_id, digest FROM"
                          " inbound_keys WHERE key=?", f"<bounce{i}@m>") == [
            {"channel_id": ch.id, "message_id": None, "ticket_id": None,
             "digest": content_digest(b)}]
    assert await rows(store, "SELECT channel_id, source, reason, raw, resolved FROM quarantine"
                      " ORDER BY id") == [
        {"channel_id": ch.id, "source": "bounce", "raw": f"raw bounce {i}".encode(),
         "reason": "bounce for a message we have no record of sending", "resolved": 0}
        for i in range(2)]
    assert (await row(store, "SELECT delivery_state FROM messages"))["delivery_state"] == "none"
    assert await events(store, "message.delivery") == []


async def test_a_quarantined_bounce_without_raw_bytes_keeps_its_json_minus_attachments(store):
    ch = await channel(store)
    await store.ingest(msg(ch.id, "<b@m>", flags=InboundFlags(bounce=True), text="bounce body",
                           attachments=[InboundAttachment(filename="x", data=b"\xff\xfe")]))
    raw = json.loads((await row(store, "SELECT raw FROM quarantine"))["raw"])
    assert raw["key"] == "<b@m>" and raw["text"] == "bounce body" and "attachments" not in raw


# ------------------------------------------------------------------ quarantine, again


async def test_a_quarantined_bounce_is_placed_once_its_original_is_known(store):
    ch = await channel(store)
    b = msg(ch.id, "<bounce@m>", flags=InboundFlags(bounce=True),
            extra={"bounced_message_id": "<later@x>", "bounce_reason": "550 gone"})
    await store.ingest(b)
    item = (await store.quarantine())[0]["id"]
    with pytest.raises(NotPlaced, match=f"quarantined item {item} still has nowhere to go: why"):
        await store.ingest_quarantined(item, b, "why")
    assert (await row(store, "SELECT resolved FROM quarantine"))["resolved"] == 0
    sent = await store.ingest(msg(ch.id, "<later@x>"))
    r = await store.ingest_quarantined(item, b, "why")
    assert r.bounce_marked and (r.ticket_id, r.message_id) == (sent.ticket_id, sent.message_id)
    assert await row(store, "SELECT message_id, ticket_id FROM inbound_keys WHERE key=?",
                     "<bounce@m>") == {"message_id": sent.message_id, "ticket_id": sent.ticket_id}
    assert await row(store, "SELECT delivery_state, delivery_error FROM messages WHERE id=?",
                     sent.message_id) == {"delivery_state": "failed",
                                          "delivery_error": "550 gone"}
    assert await rows(store, "SELECT resolved FROM quarantine") == [{"resolved": 1}]
    assert await events(store, "quarantine.resolved") == [
        (sent.ticket_id, {"quarantine_id": item})]


async def test_a_channelless_quarantined_bounce_is_placed_under_channel_zero(store):
    b = msg(None, "<bounce@m>", flags=InboundFlags(bounce=True),
            extra={"bounced_message_id": "<later@x>"})
    await store.ingest(b)
    item = (await store.quarantine())[0]["id"]
    sent = await store.ingest(msg(None, "<later@x>"))
    await store.ingest_quarantined(item, b, "why")
    assert await row(store, "SELECT channel_id, message_id, ticket_id FROM inbound_keys"
                     " WHERE key=?", "<bounce@m>") == {
        "channel_id": 0, "message_id": sent.message_id, "ticket_id": sent.ticket_id}


async def test_a_quarantined_message_is_ingested_and_resolved(store):
    ch = await channel(store)
    item = await store.write(lambda tx: tx.insert(
        "INSERT INTO quarantine(at, channel_id, source, reason, raw) VALUES (0,?,?,?,?)",
        (ch.id, "email", "could not parse", b"raw")))
    r = await store.ingest_quarantined(item, msg(ch.id, "<q@x>"), "could not parse")
    assert r.created_ticket
    assert await rows(store, "SELECT resolved FROM quarantine") == [{"resolved": 1}]
    assert await events(store, "quarantine.resolved") == [(r.ticket_id, {"quarantine_id": item})]


async def test_a_quarantined_message_whose_key_went_nowhere_stays_quarantined(store):
    """Its key already stands for a bounce that was quarantined: nothing is placed, nothing
    resolved, and the transaction leaves no trace."""
    ch = await channel(store)
    b = msg(ch.id, "<k@m>", flags=InboundFlags(bounce=True))
    await store.ingest(b)
    item = (await store.quarantine())[0]["id"]
    same = b.model_copy(update={"flags": InboundFlags()})
    with pytest.raises(NotPlaced, match=f"item {item} still has nowhere to go: stuck"):
        await store.ingest_quarantined(item, same, "stuck")
    assert await rows(store, "SELECT resolved FROM quarantine") == [{"resolved": 0}]


# ------------------------------------------------------------------ routing on ingest


async def test_routing_writes_the_assignment_cursor_and_note(store):
    a1 = await store.add_agent(Agent(email="one@acme.test", name="One"))
    a2 = await store.add_agent(Agent(email="two@acme.test", name="Two"))
    ch = await channel(store, mode=RoutingMode.users_teams, agent_ids=[a1.id, a2.id])
    r = await store.ingest(msg(ch.id, "<1@x>"))
    assert r.assignee_id == a1.id
    assert await rows(store, "SELECT value FROM kv WHERE key=?", f"rr:{ch.id}") == [
        {"value": json.dumps(a1.id)}]
    notes = [m.text for m in await store.messages(r.ticket_id) if m.direction == "system"]
    assert notes == ["assigned to One <one@acme.test> — routing: round robin"]
    assert await events(store, "ticket.assigned") == [
        (r.ticket_id, {"assignee_id": a1.id, "team_id": None})]
    assert await rows(store, "SELECT * FROM outbox") == []  # available: nobody to notify


async def test_routing_to_a_team_sets_the_team(store):
    a1 = await store.add_agent(Agent(email="one@acme.test", name="One", availability="away"))
    a2 = await store.add_agent(Agent(email="two@acme.test", name="Two"))
    team = await store.add_team("Tier 1", ["one@acme.test", "two@acme.test"])
    ch = await channel(store, mode=RoutingMode.users_teams, team_ids=[team.id])
    r = await store.ingest(msg(ch.id, "<1@x>"))
    assert r.assignee_id == a2.id and a1.id != a2.id
    assert await row(store, "SELECT assignee_id, team_id FROM tickets") == {
        "assignee_id": a2.id, "team_id": team.id}


async def test_least_open_counts_only_open_tickets_of_each_agent(store):
    a1 = await store.add_agent(Agent(email="one@acme.test", name="One"))
    a2 = await store.add_agent(Agent(email="two@acme.test", name="Two"))
    plain = await channel(store, name="Plain")
    ch = await channel(store, name="Least", mode=RoutingMode.users_teams,
                       agent_ids=[a1.id, a2.id], strategy=Strategy.least_open)
    for i, (who, closed) in enumerate([(a1, False), (a2, True), (a2, True)]):
        t = await store.ingest(msg(plain.id, f"<p{i}@x>", sender=f"p{i}@example.com"))
        await sql(store, "UPDATE tickets SET assignee_id=?, is_open=? WHERE id=?",
                  who.id, int(not closed), t.ticket_id)
    r = await store.ingest(msg(ch.id, "<l1@x>"))
    assert r.assignee_id == a2.id  # a1 holds one open ticket; a2's two closed ones weigh nothing
    r2 = await store.ingest(msg(ch.id, "<l2@x>", sender="z@example.com"))
    assert r2.assignee_id == a1.id  # one open each now: the lower id


async def test_a_cap_skips_agents_holding_enough_open_tickets(store):
    a1 = await store.add_agent(Agent(email="one@acme.test", name="One"))
    a2 = await store.add_agent(Agent(email="two@acme.test", name="Two"))
    ch = await channel(store, mode=RoutingMode.users_teams, agent_ids=[a1.id, a2.id], cap=1)
    got = [(await store.ingest(msg(ch.id, f"<c{i}@x>", sender=f"c{i}@example.com"))).assignee_id
           for i in range(3)]
    assert got == [a1.id, a2.id, None]
    assert await rows(store, "SELECT ticket_id, channel_id FROM routing_pending") == [
        {"ticket_id": 3, "channel_id": ch.id}]


async def test_nobody_available_marks_the_ticket_pending_since_its_ingest(store):
    a1 = await store.add_agent(Agent(email="one@acme.test", name="One", availability="away"))
    ch = await channel(store, mode=RoutingMode.users_teams, agent_ids=[a1.id])
    r = await store.ingest(msg(ch.id, "<1@x>"))
    assert r.assignee_id is None
    now = await event_at(store, "ticket.created", r.ticket_id)
    assert await rows(store, "SELECT * FROM routing_pending") == [
        {"ticket_id": r.ticket_id, "channel_id": ch.id, "since": now}]


@pytest.mark.parametrize("kw", [
    {"flags": InboundFlags(list_mail=True)}, {"flags": InboundFlags(auto_reply=True)},
    {"extra": {"route_later": True}}, {"import_status": "open"},
])
async def test_automatic_mail_imports_and_bot_chats_wait_unrouted(store, kw):
    a1 = await store.add_agent(Agent(email="one@acme.test", name="One"))
    ch = await channel(store, mode=RoutingMode.users_teams, agent_ids=[a1.id])
    r = await store.ingest(msg(ch.id, "<1@x>", **kw))
    assert r.created_ticket and r.assignee_id is None
    assert await rows(store, "SELECT assignee_id FROM tickets") == [{"assignee_id": None}]
    assert await rows(store, "SELECT * FROM routing_pending") == []


async def test_a_reply_is_not_routed_again(store):
    a1 = await store.add_agent(Agent(email="one@acme.test", name="One"))
    a2 = await store.add_agent(Agent(email="two@acme.test", name="Two"))
    ch = await channel(store, mode=RoutingMode.users_teams, agent_ids=[a1.id, a2.id])
    first = await store.ingest(msg(ch.id, "<1@x>"))
    reply = await store.ingest(msg(ch.id, "<2@x>", in_reply_to="<1@x>"))
    assert (first.assignee_id, reply.assignee_id) == (a1.id, None)
    assert (await row(store, "SELECT assignee_id FROM tickets"))["assignee_id"] == a1.id


async def test_an_available_contact_owner_is_assigned_without_a_mail(store):
    owner = await store.add_agent(Agent(email="owner@acme.test", name="Olive Owner"))
    ch = await channel(store, mode=RoutingMode.contact_owner)
    first = await store.ingest(msg(ch.id, "<1@x>"))
    assert first.assignee_id is None
    await store.set_contact_owner((await store.ticket(first.ticket_id)).contact_id,
                                  "owner@acme.test")
    r = await store.ingest(msg(ch.id, "<2@x>", subject="next"))
    assert r.assignee_id == owner.id and await rows(store, "SELECT * FROM outbox") == []


async def test_an_away_owner_is_told_with_the_ticket_subject(store):
    owner = await store.add_agent(Agent(email="owner@acme.test", name="Olive Owner",
                                        availability="away"))
    ch = await channel(store, mode=RoutingMode.contact_owner)
    first = await store.ingest(msg(ch.id, "<1@x>"))
    await store.set_contact_owner((await store.ticket(first.ticket_id)).contact_id,
                                  "owner@acme.test")
    r = await store.ingest(msg(ch.id, "<2@x>", subject="Broken hinge"))
    out = await row(store, "SELECT kind, ticket_id, idempotency_key, payload FROM outbox")
    assert (out["kind"], out["ticket_id"], out["idempotency_key"]) == (
        "notify", r.ticket_id, f"notify:{r.ticket_id}:{owner.id}")
    assert json.loads(out["payload"])["subject"] == f"[#{r.ticket_id}] assigned to you: Broken hinge"


# ------------------------------------------------------------------ pending routing


async def pending_desk(store, n: int):
    a1 = await store.add_agent(Agent(email="one@acme.test", name="One", availability="away"))
    a2 = await store.add_agent(Agent(email="two@acme.test", name="Two", availability="away"))
    ch = await channel(store, mode=RoutingMode.users_teams, agent_ids=[a1.id, a2.id])
    tickets = [(await store.ingest(msg(ch.id, f"<w{i}@x>", sender=f"w{i}@example.com",
                                       subject=f"waiting {i}"))).ticket_id for i in range(n)]
    assert len(await rows(store, "SELECT * FROM routing_pending")) == n
    return a1, a2, ch, tickets


async def test_pending_tickets_are_assigned_oldest_wait_first(store):
    a1, a2, ch, (t1, t2, t3) = await pending_desk(store, 3)
    await sql(store, "UPDATE routing_pending SET since = since - 100 WHERE ticket_id=?", t3)
    await store.update_agent("one@acme.test", availability="available")
    await store.update_agent("two@acme.test", availability="available")
    assert await store.assign_pending() == [t3, t1, t2]
    got = {r["id"]: r["assignee_id"] for r in await rows(store, "SELECT id, assignee_id FROM"
                                                         " tickets")}
    assert got == {t3: a1.id, t1: a2.id, t2: a1.id}
    assert await rows(store, "SELECT * FROM routing_pending") == []
    assert await rows(store, "SELECT value FROM kv WHERE key=?", f"rr:{ch.id}") == [
        {"value": json.dumps(a1.id)}]
    assert await store.assign_pending() == []


async def test_pending_tickets_closed_assigned_or_channelless_are_dropped(store):
    a1, a2, ch, (t1, t2, t3, t4) = await pending_desk(store, 4)
    await store.close_ticket(t1, None)
    await sql(store, "UPDATE tickets SET assignee_id=? WHERE id=?", a2.id, t2)
    await sql(store, "UPDATE routing_pending SET channel_id=999 WHERE ticket_id=?", t3)
    await store.update_agent("one@acme.test", availability="available")
    assert await store.assign_pending() == [t4]  # each dropped row lets the next one through
    assert await rows(store, "SELECT ticket_id FROM routing_pending") == []
    assert {r["id"]: r["assignee_id"] for r in await rows(
        store, "SELECT id, assignee_id FROM tickets")} == {t1: None, t2: a2.id, t3: None,
                                                          t4: a1.id}


async def test_a_ticket_still_without_an_agent_waits_and_lets_later_ones_through(store):
    a1 = await store.add_agent(Agent(email="one@acme.test", name="One", availability="away"))
    a2 = await store.add_agent(Agent(email="two@acme.test", name="Two", availability="away"))
    first = await channel(store, name="First", mode=RoutingMode.users_teams, agent_ids=[a1.id])
    second = await channel(store, name="Second", mode=RoutingMode.users_teams,
                           agent_ids=[a2.id])
    t1 = (await store.ingest(msg(first.id, "<1@x>"))).ticket_id
    t2 = (await store.ingest(msg(second.id, "<2@x>", sender="z@example.com"))).ticket_id
    await store.update_agent("two@acme.test", availability="available")
    assert await store.assign_pending() == [t2]
    assert await rows(store, "SELECT ticket_id, channel_id FROM routing_pending") == [
        {"ticket_id": t1, "channel_id": first.id}]


async def test_a_pending_ticket_without_a_contact_is_routed(store):
    """A ticket an agent opened for nobody in particular still gets its turn."""
    a1, a2, ch, (t1,) = await pending_desk(store, 1)
    await sql(store, "UPDATE tickets SET contact_id=NULL")
    await store.update_agent("two@acme.test", availability="available")
    assert await store.assign_pending() == [t1]
    assert (await row(store, "SELECT assignee_id FROM tickets"))["assignee_id"] == a2.id


async def test_routing_looks_at_working_hours_at_the_time_of_ingest(store):
    today = datetime.now(UTC).isoweekday()
    off = [d for d in range(1, 8) if d not in (today, today % 7 + 1)]  # not today, not tomorrow
    a1 = await store.add_agent(Agent(email="one@acme.test", name="One",
                                     working_hours=WorkingHours(days=off)))
    a2 = await store.add_agent(Agent(email="two@acme.test", name="Two"))
    ch = await channel(store, mode=RoutingMode.users_teams, agent_ids=[a1.id, a2.id])
    r = await store.ingest(msg(ch.id, "<1@x>"))
    assert r.assignee_id == a2.id  # marked available, but off shift now


async def test_a_pending_ticket_waiting_for_its_owner_mails_them(store):
    owner = await store.add_agent(Agent(email="owner@acme.test", name="Olive Owner",
                                        availability="away"))
    ch = await channel(store, mode=RoutingMode.contact_owner)
    t = await store.ingest(msg(ch.id, "<1@x>", subject="Hinge"))
    await store.set_contact_owner((await store.ticket(t.ticket_id)).contact_id,
                                  "owner@acme.test")
    await sql(store, "INSERT INTO routing_pending VALUES (?,?,0)", t.ticket_id, ch.id)
    assert await store.assign_pending() == [t.ticket_id]
    out = await row(store, "SELECT kind, payload FROM outbox")
    assert out["kind"] == "notify" and "[#1] assigned to you: Hinge" in out["payload"]
    assert (await row(store, "SELECT assignee_id FROM tickets"))["assignee_id"] == owner.id
