"""The ingest pipeline: idempotency, contacts, threading, reopening, routing, bounces."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from engine.desk import Desk
from engine.ingest import assign_pending, ingest, ingest_many
from engine.models import (
    Agent,
    Channel,
    InboundFlags,
    InboundMessage,
    RoutingMode,
    RoutingRule,
    TicketDefaults,
)
from engine.store import TicketQuery


async def email_channel(store, **routing) -> Channel:
    return await store.add_channel(Channel(
        kind="email", name="Support", settings={"address": "help@acme.test"},
        defaults=TicketDefaults(status="open", priority="high"),
        routing=RoutingRule(**routing) if routing else RoutingRule(),
    ))


def msg(channel_id, key, sender="bob@example.com", **kw) -> InboundMessage:
    kw.setdefault("subject", "Printer on fire")
    kw.setdefault("text", "It is burning")
    return InboundMessage(channel_id=channel_id, key=key, sender=sender, **kw)


async def count(store, view="all") -> int:
    return await store.count_tickets(TicketQuery(view=view))


async def test_new_ticket_uses_channel_defaults_and_creates_contact(store):
    ch = await email_channel(store)
    r = await ingest(store, msg(ch.id, "<m1@x>", sender_name="Bob Stone"))
    assert r.created_ticket and not r.duplicate
    t = await store.ticket(r.ticket_id)
    assert (t.status, t.priority.value, t.pipeline, t.channel_name) == ("open", "high", "Support", "Support")
    assert (t.contact_email, t.contact_name) == ("bob@example.com", "Bob Stone")
    assert t.unread


async def test_same_key_twice_changes_nothing(store):
    ch = await email_channel(store)
    first = await ingest(store, msg(ch.id, "<m1@x>"))
    again = await ingest(store, msg(ch.id, "<m1@x>"))
    assert again.duplicate and again.ticket_id == first.ticket_id
    assert await count(store) == 1
    assert len(await store.messages(first.ticket_id)) == 1


async def test_idempotent_under_concurrency(store):
    ch = await email_channel(store)
    results = await asyncio.gather(*[ingest(store, msg(ch.id, f"<k{i % 5}@x>")) for i in range(40)])
    assert sum(r.created_ticket for r in results) == 5
    assert sum(r.duplicate for r in results) == 35
    assert await count(store) == 5


async def test_idempotent_across_processes(db_path, store):
    """Two store connections (as two processes would have) racing on the same keys."""
    from engine.store import Store

    ch = await email_channel(store)
    async with Store(db_path) as other:
        batch = [msg(ch.id, f"<p{i}@x>") for i in range(30)]
        a, b = await asyncio.gather(ingest_many(store, batch), ingest_many(other, list(reversed(batch))))
    assert sum(r.created_ticket for r in a + b) == 30
    assert await count(store) == 30


async def test_known_contact_is_reused(store):
    ch = await email_channel(store)
    r1 = await ingest(store, msg(ch.id, "<a@x>", subject="one"))
    r2 = await ingest(store, msg(ch.id, "<b@x>", sender="BOB@Example.com", subject="two"))
    t1, t2 = await store.ticket(r1.ticket_id), await store.ticket(r2.ticket_id)
    assert t1.contact_id == t2.contact_id and t1.id != t2.id


async def test_reply_threads_by_in_reply_to_and_reopens_closed(store):
    ch = await email_channel(store)
    r1 = await ingest(store, msg(ch.id, "<a@x>"))
    desk = Desk(store, await store.agent("admin@example.com"))
    await desk.close(r1.ticket_id)
    r2 = await ingest(store, msg(ch.id, "<b@x>", in_reply_to="<a@x>", subject="Re: Printer on fire"))
    assert r2.ticket_id == r1.ticket_id and r2.reopened and not r2.created_ticket
    t = await store.ticket(r1.ticket_id)
    assert t.is_open and t.status == "open"
    texts = [m.text for m in await store.messages(t.id)]
    assert "reopened by a customer reply" in texts


async def test_reply_to_our_outgoing_message_id_threads(store):
    ch = await email_channel(store)
    r1 = await ingest(store, msg(ch.id, "<a@x>"))
    desk = Desk(store, await store.agent("admin@example.com"))
    mid, _ = await desk.reply(r1.ticket_id, "We are on it")
    ours = next(m for m in await store.messages(r1.ticket_id) if m.id == mid).external_id
    assert ours.startswith("<ticketty.T")
    r2 = await ingest(store, msg(ch.id, "<c@x>", references=["<zzz@x>", ours], subject="Re: whatever"))
    assert r2.ticket_id == r1.ticket_id


async def test_subject_token_needs_participation(store):
    ch = await email_channel(store)
    r1 = await ingest(store, msg(ch.id, "<a@x>"))
    same = await ingest(store, msg(ch.id, "<b@x>", ticket_hint=r1.ticket_id))
    stranger = await ingest(store, msg(ch.id, "<c@x>", sender="eve@example.com", ticket_hint=r1.ticket_id))
    assert same.ticket_id == r1.ticket_id
    assert stranger.created_ticket and stranger.ticket_id != r1.ticket_id


async def test_two_customers_same_subject_never_merge(store):
    ch = await email_channel(store)
    a = await ingest(store, msg(ch.id, "<a@x>", sender="ann@example.com", subject="Invoice"))
    b = await ingest(store, msg(ch.id, "<b@x>", sender="ben@example.com", subject="Invoice"))
    assert a.ticket_id != b.ticket_id


async def test_conversation_key_threads_and_window(store):
    ch = await email_channel(store)
    a = await ingest(store, msg(ch.id, "1", conversation_key="chat-9", sender_kind="visitor", sender="v9"))
    b = await ingest(store, msg(ch.id, "2", conversation_key="chat-9", sender_kind="visitor", sender="v9"))
    assert a.ticket_id == b.ticket_id
    desk = Desk(store, await store.agent("admin@example.com"))
    await desk.close(a.ticket_id)

    def age(tx):
        tx.execute("UPDATE tickets SET activity_at = activity_at - ?", (8 * 86400,))

    await store.write(age)
    c = await ingest(store, msg(ch.id, "3", conversation_key="chat-9", sender_kind="visitor", sender="v9"))
    assert c.created_ticket and c.ticket_id != a.ticket_id


async def test_routing_round_robin_and_pending(store):
    a1 = await store.add_agent(Agent(email="one@acme.test", name="One"))
    a2 = await store.add_agent(Agent(email="two@acme.test", name="Two", availability="away"))
    ch = await email_channel(store, mode=RoutingMode.users_teams, agent_ids=[a1.id, a2.id])
    r1 = await ingest(store, msg(ch.id, "<1@x>", sender="c1@example.com"))
    r2 = await ingest(store, msg(ch.id, "<2@x>", sender="c2@example.com"))
    assert r1.assignee_id == a1.id and r2.assignee_id == a1.id  # two is away
    await store.update_agent("one@acme.test", availability="away")
    r3 = await ingest(store, msg(ch.id, "<3@x>", sender="c3@example.com"))
    assert r3.assignee_id is None
    assert await assign_pending(store) == []
    await store.update_agent("two@acme.test", availability="available")
    assert await assign_pending(store) == [r3.ticket_id]
    assert (await store.ticket(r3.ticket_id)).assignee_email == "two@acme.test"


async def test_contact_owner_away_gets_email_notification(store):
    owner = await store.add_agent(Agent(email="owner@acme.test", name="Olive Owner", availability="away"))
    ch = await email_channel(store, mode=RoutingMode.contact_owner)
    first = await ingest(store, msg(ch.id, "<1@x>"))
    t = await store.ticket(first.ticket_id)
    await store.set_contact_owner(t.contact_id, "owner@acme.test")
    r = await ingest(store, msg(ch.id, "<2@x>", subject="new question"))
    assert r.created_ticket and r.assignee_id == owner.id
    rows = await store.read(lambda c: c.execute("SELECT kind, payload FROM outbox").fetchall())
    assert [row["kind"] for row in rows] == ["notify"]
    assert "owner@acme.test" in rows[0]["payload"]


async def test_auto_reply_does_not_reopen_or_route(store):
    a1 = await store.add_agent(Agent(email="one@acme.test", name="One"))
    ch = await email_channel(store, mode=RoutingMode.users_teams, agent_ids=[a1.id])
    r1 = await ingest(store, msg(ch.id, "<1@x>"))
    await Desk(store, await store.agent("admin@example.com")).close(r1.ticket_id)
    auto = await ingest(store, msg(ch.id, "<2@x>", in_reply_to="<1@x>", flags=InboundFlags(auto_reply=True)))
    assert auto.ticket_id == r1.ticket_id and not auto.reopened
    fresh = await ingest(store, msg(ch.id, "<3@x>", sender="robot@example.com",
                                    flags=InboundFlags(auto_reply=True)))
    assert fresh.created_ticket and fresh.assignee_id is None


async def test_bounce_marks_sent_message_failed(store):
    ch = await email_channel(store)
    r1 = await ingest(store, msg(ch.id, "<1@x>"))
    desk = Desk(store, await store.agent("admin@example.com"))
    mid, _ = await desk.reply(r1.ticket_id, "hello")
    ours = next(m for m in await store.messages(r1.ticket_id) if m.id == mid).external_id
    before = await count(store)
    b = await ingest(store, msg(ch.id, "<bounce@mailer>", sender="mailer-daemon@example.com",
                                flags=InboundFlags(bounce=True),
                                extra={"bounced_message_id": ours, "bounce_reason": "550 no such user"}))
    assert b.bounce_marked and await count(store) == before
    m = next(m for m in await store.messages(r1.ticket_id) if m.id == mid)
    assert m.delivery_state.value == "failed" and "550" in m.delivery_error


async def test_unknown_bounce_is_quarantined_not_dropped(store):
    ch = await email_channel(store)
    await ingest(store, msg(ch.id, "<b@m>", flags=InboundFlags(bounce=True), text="bounce body",
                            extra={"bounced_message_id": "<nobody@x>"}))
    items = await store.quarantine()
    assert len(items) == 1 and "no record" in items[0]["reason"]
    raw = await store.read(lambda c: c.execute("SELECT raw FROM quarantine").fetchone()[0])
    assert b'"key":"<b@m>"' in raw and b"bounce body" in raw  # no raw bytes: the whole message


async def test_attachments_are_content_addressed_blobs(store):
    from engine.models import InboundAttachment

    ch = await email_channel(store)
    data = b"%PDF-1.4 fake"
    r = await ingest(store, msg(ch.id, "<a@x>", attachments=[
        InboundAttachment(filename="a.pdf", content_type="application/pdf", data=data)]))
    await ingest(store, msg(ch.id, "<b@x>", in_reply_to="<a@x>", attachments=[
        InboundAttachment(filename="copy.pdf", content_type="application/pdf", data=data)]))
    msgs = await store.messages(r.ticket_id)
    shas = {a.sha256 for m in msgs for a in m.attachments}
    assert len(shas) == 1
    path = await store.attachment_path(shas.pop())
    assert path.read_bytes() == data


async def test_full_text_search_finds_body_and_subject(store):
    ch = await email_channel(store)
    await ingest(store, msg(ch.id, "<1@x>", subject="Refund please", text="the blue widget broke"))
    await ingest(store, msg(ch.id, "<2@x>", sender="z@example.com", subject="Hello", text="nothing"))
    assert await store.count_tickets(TicketQuery(view="all", text="widget")) == 1
    assert await store.count_tickets(TicketQuery(view="all", text="refund")) == 1
    assert await store.count_tickets(TicketQuery(view="all", text="wid")) == 1  # prefix
    assert await store.count_tickets(TicketQuery(view="all", text='"; DROP')) == 0


async def test_received_time_orders_the_queue(store):
    ch = await email_channel(store)
    old = datetime.now(UTC) - timedelta(days=3)
    a = await ingest(store, msg(ch.id, "<1@x>", received_at=old))
    b = await ingest(store, msg(ch.id, "<2@x>", sender="y@example.com"))
    page = await store.page_tickets(TicketQuery(view="open"), 0, 10)
    assert [t.id for t in page] == [b.ticket_id, a.ticket_id]


async def test_the_same_key_on_another_channel_is_a_new_message(store):
    """Idempotency is per channel: two channels may both see ``<same@x>`` (issue 17, item 1)."""
    a = await email_channel(store)
    b = await store.add_channel(Channel(kind="email", name="Sales",
                                        settings={"address": "sales@acme.test"}))
    # one mail sent to both addresses: the very same content under the same Message-ID
    first = await ingest(store, msg(a.id, "<same@x>", sender="ann@example.com"))
    other = await ingest(store, msg(b.id, "<same@x>", sender="ann@example.com"))
    again = await ingest(store, msg(b.id, "<same@x>", sender="ann@example.com"))
    assert first.created_ticket and not other.duplicate and other.created_ticket
    assert other.message_id != first.message_id
    assert again.duplicate and again.message_id == other.message_id
    assert await count(store) == 2


async def test_round_robin_takes_turns_across_ingests(store):
    """The round-robin position is saved after each assignment (issue 17, item 2)."""
    a1 = await store.add_agent(Agent(email="one@acme.test", name="One"))
    a2 = await store.add_agent(Agent(email="two@acme.test", name="Two"))
    a3 = await store.add_agent(Agent(email="three@acme.test", name="Three"))
    ch = await email_channel(store, mode=RoutingMode.users_teams,
                             agent_ids=[a1.id, a2.id, a3.id])
    got = [(await ingest(store, msg(ch.id, f"<rr{i}@x>", sender=f"c{i}@example.com"))).assignee_id
           for i in range(4)]
    assert got == [a1.id, a2.id, a3.id, a1.id]
