"""The ingest transaction row by row: what each branch writes (tickets, messages, contacts,
idempotency keys, thread ids, events), on a real store.

tests/core/test_ingest.py tells the pipeline's story; these pin the exact rows callers rely on
(the queue reads ``activity_at``, replies read ``reply_to``, the outbox reads ``thread_ids``,
re-deliveries read ``inbound_keys``) and the less travelled branches: imports with a status,
history answers of ours, forms asking for a pipeline. Bounces, quarantine and routing on
ingest: tests/core/test_ingest_routing.py.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from engine.ingest_rules import collision_key, content_digest
from engine.models import (
    Agent,
    InboundAttachment,
    InboundMessage,
    Pipeline,
    RoutingMode,
    Status,
    TicketDefaults,
)
from tests.helpers.ingest_rows import T0, channel, event_at, events, msg, row, rows, sql

# ------------------------------------------------------------------ a new ticket, exactly


async def test_a_new_ticket_writes_exact_ticket_message_key_and_thread_rows(store):
    ch = await channel(store)
    m = msg(ch.id, "<n1@x>", sender="Bob@Example.COM", sender_name="Bob Stone", subject="",
            text="\n   Printer on fire  \nsecond line", html="<p>It is burning</p>",
            received_at=T0)
    r = await store.ingest(m)
    assert (r.created_ticket, r.duplicate, r.reopened, r.assignee_id, r.collision,
            r.bounce_marked, r.quarantined) == (True, False, False, None, False, False, False)
    now = await event_at(store, "ticket.created", r.ticket_id)
    t = await row(store, "SELECT * FROM tickets WHERE id=?", r.ticket_id)
    contact_id = t["contact_id"]
    assert t == {
        "id": r.ticket_id, "subject": "Printer on fire", "pipeline": "Support", "status": "open",
        "is_open": 1, "prio": 2, "channel_id": ch.id, "contact_id": contact_id,
        "assignee_id": None, "team_id": None, "source": "channel", "unread": 1,
        "thread_key": None, "created_at": T0.timestamp(), "updated_at": now,
        "activity_at": T0.timestamp(), "closed_at": None,
    }
    assert now > T0.timestamp()
    m_row = await row(store, "SELECT * FROM messages WHERE id=?", r.message_id)
    assert m_row == {
        "id": r.message_id, "ticket_id": r.ticket_id, "direction": "inbound",
        "author_name": "Bob Stone", "author_email": "bob@example.com", "agent_id": None,
        "contact_id": contact_id, "text": m.text, "html": "<p>It is burning</p>",
        "external_id": "<n1@x>", "channel_id": ch.id, "delivery_state": "none",
        "delivery_error": None, "created_at": T0.timestamp(), "reply_to": None,
    }
    # no subject of its own: found by the ticket's (its first line)
    fts = await row(store, "SELECT subject, body FROM fts WHERE rowid=?", r.message_id)
    assert fts == {"subject": "Printer on fire", "body": m.text}
    assert await rows(store, "SELECT * FROM inbound_keys") == [
        {"channel_id": ch.id, "key": "<n1@x>", "message_id": r.message_id,
         "ticket_id": r.ticket_id, "digest": content_digest(m)}]
    assert await rows(store, "SELECT * FROM thread_ids") == [
        {"msgid": "<n1@x>", "ticket_id": r.ticket_id, "message_id": r.message_id}]
    assert await row(store, "SELECT name, unverified, owner_id FROM contacts WHERE id=?",
                     contact_id) == {"name": "Bob Stone", "unverified": 0, "owner_id": None}
    assert await rows(store, "SELECT * FROM contact_identities") == [
        {"kind": "email", "value": "bob@example.com", "contact_id": contact_id}]
    assert await events(store, "contact.created") == [(None, {"contact_id": contact_id})]
    assert await events(store, "message.added") == [
        (r.ticket_id, {"message_id": r.message_id, "direction": "inbound"})]
    assert await rows(store, "SELECT * FROM routing_pending") == []


async def test_a_message_without_subject_or_text_gets_a_placeholder_subject(store):
    ch = await channel(store)
    r = await store.ingest(msg(ch.id, "<e@x>", subject="", text="  \n"))
    assert (await store.ticket(r.ticket_id)).subject == "(no subject)"


async def test_a_message_without_channel_gets_the_plain_defaults_under_channel_zero(store):
    m = msg(None, "<nochan@x>")
    r = await store.ingest(m)
    t = await row(store, "SELECT status, prio, channel_id, pipeline FROM tickets WHERE id=?",
                  r.ticket_id)
    assert t == {"status": "new", "prio": 1, "channel_id": None, "pipeline": "Support"}
    assert await rows(store, "SELECT channel_id, key FROM inbound_keys") == [
        {"channel_id": 0, "key": "<nochan@x>"}]
    again = await store.ingest(msg(None, "<nochan@x>"))
    assert again.duplicate and again.message_id == r.message_id


async def test_a_reply_touches_the_ticket_and_is_found_under_its_own_subject(store):
    ch = await channel(store)
    first = await store.ingest(msg(ch.id, "<a@x>", received_at=T0))
    await sql(store, "UPDATE tickets SET unread=0")
    later = T0 + timedelta(hours=2)
    r = await store.ingest(msg(ch.id, "<b@x>", in_reply_to="<a@x>", subject="Re: Toner gone",
                               received_at=later))
    assert r.ticket_id == first.ticket_id and not r.created_ticket and not r.reopened
    now = await event_at(store, "message.added", r.ticket_id)
    t = await row(store, "SELECT activity_at, updated_at, unread, created_at FROM tickets")
    assert t == {"activity_at": later.timestamp(), "updated_at": now, "unread": 1,
                 "created_at": T0.timestamp()}
    assert (await row(store, "SELECT subject FROM fts WHERE rowid=?", r.message_id)
            )["subject"] == "Re: Toner gone"
    assert [k["ticket_id"] for k in await rows(store, "SELECT * FROM inbound_keys ORDER BY key")
            ] == [first.ticket_id, first.ticket_id]


async def test_attachments_are_stored_with_their_name_and_type(store):
    ch = await channel(store)
    r = await store.ingest(msg(ch.id, "<att@x>", attachments=[
        InboundAttachment(filename="a.txt", content_type="text/plain", data=b"hello")]))
    assert await rows(store, "SELECT message_id, filename, content_type, size FROM attachments"
                      ) == [{"message_id": r.message_id, "filename": "a.txt",
                             "content_type": "text/plain", "size": 5}]


# ------------------------------------------------------------------ contacts


async def test_a_known_contact_gets_a_missing_name_but_keeps_the_one_it_has(store):
    ch = await channel(store)
    a = await store.ingest(msg(ch.id, "<1@x>"))
    cid = (await store.ticket(a.ticket_id)).contact_id
    assert (await store.contact(cid)).name == ""
    await store.ingest(msg(ch.id, "<2@x>", sender="BOB@example.com", sender_name="Bob Stone"))
    assert (await store.contact(cid)).name == "Bob Stone"
    await store.ingest(msg(ch.id, "<3@x>", sender_name="Robert"))
    assert (await store.contact(cid)).name == "Bob Stone"
    assert len(await events(store, "contact.created")) == 1


async def test_an_unverified_sender_is_verified_by_a_well_formed_mail_only(store):
    ch = await channel(store)
    flag = {"sender_unverified": True}

    async def contact_row():
        return await row(store, "SELECT name, unverified FROM contacts")

    await store.ingest(msg(ch.id, "<1@x>", extra=flag))
    assert await contact_row() == {"name": "", "unverified": 1}
    await store.ingest(msg(ch.id, "<2@x>", extra=flag, sender_name="Bob"))
    assert await contact_row() == {"name": "Bob", "unverified": 1}  # named, still unproven
    await store.ingest(msg(ch.id, "<3@x>"))
    assert await contact_row() == {"name": "Bob", "unverified": 0}
    await store.ingest(msg(ch.id, "<4@x>", extra=flag))
    assert await contact_row() == {"name": "Bob", "unverified": 0}  # never unverified again


async def test_a_phone_sender_has_no_author_email_and_keys_no_thread(store):
    ch = await channel(store)
    r = await store.ingest(msg(ch.id, "SM123", sender_kind="phone", sender="+15550100"))
    m = await row(store, "SELECT author_name, author_email, contact_id FROM messages")
    assert (m["author_name"], m["author_email"]) == ("+15550100", None)
    assert await rows(store, "SELECT kind, value FROM contact_identities") == [
        {"kind": "phone", "value": "+15550100"}]
    assert await rows(store, "SELECT * FROM thread_ids") == []
    assert await rows(store, "SELECT key, ticket_id FROM inbound_keys") == [
        {"key": "SM123", "ticket_id": r.ticket_id}]


async def test_reply_to_is_kept_on_the_message_unless_it_is_the_sender(store):
    ch = await channel(store)
    await store.ingest(msg(ch.id, "<1@x>", reply_to="team@example.com"))
    await store.ingest(msg(ch.id, "<2@x>", sender="ann@example.com", reply_to="ann@example.com"))
    assert [r["reply_to"] for r in await rows(store, "SELECT reply_to FROM messages ORDER BY id")
            ] == ["team@example.com", None]


async def test_a_channel_crediting_reply_to_makes_it_the_customer(store):
    ch = await channel(store, settings={"address": "help@acme.test",
                                        "customer_address": "reply_to"})
    r = await store.ingest(msg(ch.id, "<1@x>", sender="noreply@shop.test", sender_name="Shop",
                               reply_to="Ann@example.com", extra={"reply_to_name": "Ann"}))
    t = await store.ticket(r.ticket_id)
    assert (t.contact_email, t.contact_name) == ("ann@example.com", "Ann")
    m = await row(store, "SELECT author_name, author_email, reply_to FROM messages")
    assert m == {"author_name": "Ann", "author_email": "ann@example.com", "reply_to": None}


# ------------------------------------------------------------------ threading


async def test_in_reply_to_wins_then_the_newest_reference(store):
    ch = await channel(store)
    a = await store.ingest(msg(ch.id, "<a@x>", subject="one"))
    b = await store.ingest(msg(ch.id, "<b@x>", subject="two"))
    c = await store.ingest(msg(ch.id, "<c@x>", subject="three"))
    by_irt = await store.ingest(msg(ch.id, "<r1@x>", in_reply_to="<b@x>",
                                    references=["<a@x>", "<c@x>"]))
    by_refs = await store.ingest(msg(ch.id, "<r2@x>", references=["<a@x>", "<c@x>", "<zz@x>"]))
    unknown_irt = await store.ingest(msg(ch.id, "<r3@x>", in_reply_to="<nope@x>",
                                         references=["<a@x>"]))
    assert by_irt.ticket_id == b.ticket_id
    assert by_refs.ticket_id == c.ticket_id
    assert unknown_irt.ticket_id == a.ticket_id


async def test_a_ticket_token_is_honoured_for_anyone_who_wrote_on_it(store):
    ch = await channel(store)
    a = await store.ingest(msg(ch.id, "<a@x>"))
    # Eve answered in the thread (cc'd): she takes part, so her token carries her mail in
    await store.ingest(msg(ch.id, "<e1@x>", sender="eve@example.com", in_reply_to="<a@x>"))
    e2 = await store.ingest(msg(ch.id, "<e2@x>", sender="eve@example.com", subject="again",
                                ticket_hint=a.ticket_id))
    assert e2.ticket_id == a.ticket_id and not e2.created_ticket
    ghost = await store.ingest(msg(ch.id, "<g@x>", ticket_hint=a.ticket_id + 50))
    assert ghost.created_ticket and ghost.ticket_id != a.ticket_id


async def test_a_conversation_continues_its_newest_ticket_and_stores_its_key(store):
    ch = await channel(store)

    def chat(key: str, **kw) -> InboundMessage:
        return msg(ch.id, key, sender_kind="visitor", sender="v1", conversation_key="s-1", **kw)

    first = await store.ingest(chat("1"))
    await store.close_ticket(first.ticket_id, None)
    await sql(store, "UPDATE tickets SET activity_at = activity_at - ?", 8 * 86400)
    second = await store.ingest(chat("2"))  # the old one is past the window
    assert second.created_ticket
    assert (await row(store, "SELECT thread_key FROM tickets WHERE id=?", second.ticket_id)
            ) == {"thread_key": f"{ch.id}:s-1"}
    await store.close_ticket(second.ticket_id, None)
    third = await store.ingest(chat("3"))  # closed a moment ago: carried on and reopened
    assert third.ticket_id == second.ticket_id and third.reopened
    await store.close_ticket(second.ticket_id, None)
    fourth = await store.ingest(chat("4", extra={"new_after_close": True}))
    assert fourth.created_ticket and fourth.ticket_id not in (first.ticket_id, second.ticket_id)


async def test_an_open_conversation_continues_however_old(store):
    ch = await channel(store)
    chat = {"sender_kind": "visitor", "sender": "v1", "conversation_key": "s-9"}
    first = await store.ingest(msg(ch.id, "1", **chat))
    await sql(store, "UPDATE tickets SET activity_at = activity_at - ?", 30 * 86400)
    again = await store.ingest(msg(ch.id, "2", **chat))
    assert again.ticket_id == first.ticket_id and not again.created_ticket


async def test_a_customer_reply_to_a_waiting_ticket_moves_it_back_to_open(store):
    ch = await channel(store)
    a = await store.ingest(msg(ch.id, "<a@x>"))
    await store.set_ticket_status(a.ticket_id, "pending", None)
    r = await store.ingest(msg(ch.id, "<b@x>", in_reply_to="<a@x>"))
    assert not r.reopened and (await store.ticket(a.ticket_id)).status == "open"


# ------------------------------------------------------------------ what a new ticket starts in


@pytest.fixture
async def sales(store) -> Pipeline:
    await store.add_pipeline(Pipeline(name="Billing", statuses=[
        Status(name="triage"), Status(name="open"), Status(name="paid", closed=True)]))
    return await store.add_pipeline(Pipeline(name="Sales", statuses=[
        Status(name="lead"), Status(name="qualified"), Status(name="won", closed=True)]))


@pytest.mark.parametrize(("extra", "expected"), [
    ({"pipeline": "Sales"}, ("Sales", "lead")),
    ({"pipeline": "Billing"}, ("Billing", "triage")),  # has "open", but starts in its first
    ({"pipeline": "Sales", "status": "qualified"}, ("Sales", "qualified")),
    ({"pipeline": "Sales", "status": "open"}, ("Sales", "lead")),
    ({"status": "pending"}, ("Support", "pending")),
    ({"status": "bogus"}, ("Support", "open")),
    ({"pipeline": "Support"}, ("Support", "open")),
    ({"pipeline": "Nope", "status": "pending"}, ("Support", "open")),
])
async def test_a_form_asks_for_the_pipeline_and_status_of_its_ticket(store, sales, extra,
                                                                     expected):
    ch = await channel(store)
    r = await store.ingest(msg(ch.id, "<f@x>", extra=extra))
    t = await row(store, "SELECT pipeline, status FROM tickets")
    assert (t["pipeline"], t["status"]) == expected and r.created_ticket


@pytest.mark.parametrize(("extra", "expected"), [
    ({"pipeline": "Sales"}, ("Sales", "qualified")),
    ({"pipeline": "Support"}, ("Support", "new")),
    ({"pipeline": "Support", "status": "on_hold"}, ("Support", "on_hold")),
])
async def test_a_form_on_a_channel_of_another_pipeline(store, sales, extra, expected):
    ch = await channel(store, defaults=TicketDefaults(pipeline="Sales", status="qualified"))
    await store.ingest(msg(ch.id, "<f@x>", extra=extra))
    t = await row(store, "SELECT pipeline, status FROM tickets")
    assert (t["pipeline"], t["status"]) == expected


async def test_a_message_may_ask_for_a_priority(store):
    ch = await channel(store)
    await store.ingest(msg(ch.id, "<p@x>", extra={"priority": "urgent"}))
    await store.ingest(msg(ch.id, "<q@x>", sender="z@example.com"))
    assert [r["prio"] for r in await rows(store, "SELECT prio FROM tickets ORDER BY id")] == [3, 2]


async def test_a_channel_whose_pipeline_was_deleted_still_gets_its_mail(store, sales):
    ch = await channel(store, defaults=TicketDefaults(pipeline="Gone", status="open"))
    r = await store.ingest(msg(ch.id, "<g@x>"))
    t = await row(store, "SELECT pipeline, status FROM tickets WHERE id=?", r.ticket_id)
    assert t == {"pipeline": "Support", "status": "open"}


async def test_an_import_lands_in_its_status_unrouted_and_never_reopens(store):
    a1 = await store.add_agent(Agent(email="one@acme.test", name="One"))
    ch = await channel(store, mode=RoutingMode.users_teams, agent_ids=[a1.id])
    r = await store.ingest(msg(ch.id, "<old@x>", import_status="closed", source="import",
                               received_at=T0))
    t = await row(store, "SELECT status, is_open, closed_at, source, assignee_id FROM tickets")
    assert t == {"status": "closed", "is_open": 0, "closed_at": T0.timestamp(),
                 "source": "import", "assignee_id": None}
    assert r.assignee_id is None and await rows(store, "SELECT * FROM routing_pending") == []
    again = await store.ingest(msg(ch.id, "<old2@x>", in_reply_to="<old@x>",
                                   import_status="closed", source="import"))
    assert again.ticket_id == r.ticket_id and not again.reopened
    assert (await row(store, "SELECT status FROM tickets"))["status"] == "closed"


async def test_an_imported_answer_of_ours_is_an_outbound_sent_message(store):
    one = await store.add_agent(Agent(email="one@acme.test", name="One Agent"))
    ch = await channel(store)
    first = await store.ingest(msg(ch.id, "<q@x>", received_at=T0))
    later = T0 + timedelta(hours=1)
    cases = [({"author_email": "one@acme.test", "author_name": "Someone"}, "One Agent", one.id),
             ({"author_email": "gone@acme.test", "author_name": "Gone Agent"}, "Gone Agent",
              None),
             ({"author_email": "anon@acme.test"}, "anon@acme.test", None)]
    for i, (ours, name, agent_id) in enumerate(cases):
        r = await store.ingest(msg(ch.id, f"<ours{i}@x>", in_reply_to="<q@x>", text=f"answer {i}",
                                   html="<p>a</p>", received_at=later,
                                   extra={"history_outbound": ours}))
        assert r.ticket_id == first.ticket_id and not r.reopened
        m = await row(store, "SELECT * FROM messages WHERE id=?", r.message_id)
        assert (m["direction"], m["author_name"], m["author_email"], m["agent_id"],
                m["contact_id"], m["delivery_state"], m["external_id"], m["channel_id"],
                m["text"], m["html"], m["created_at"]) == (
            "outbound", name, ours["author_email"], agent_id, None, "sent", f"<ours{i}@x>",
            ch.id, f"answer {i}", "<p>a</p>", later.timestamp())


async def test_an_imported_answer_is_found_under_its_own_subject(store):
    ch = await channel(store)
    await store.ingest(msg(ch.id, "<q@x>", subject="Printer"))
    history = {"history_outbound": {"author_email": "x@acme.test"}}
    titled = await store.ingest(msg(ch.id, "<o1@x>", in_reply_to="<q@x>", extra=history,
                                    subject="Re: Printer toner"))
    untitled = await store.ingest(msg(ch.id, "<o2@x>", in_reply_to="<q@x>", extra=history,
                                      subject=""))
    assert [(await row(store, "SELECT subject FROM fts WHERE rowid=?", r.message_id))["subject"]
            for r in (titled, untitled)] == ["Re: Printer toner", "Printer"]


async def test_an_imported_answer_keeps_its_attachments(store):
    ch = await channel(store)
    await store.ingest(msg(ch.id, "<q@x>"))
    r = await store.ingest(msg(ch.id, "<o@x>", in_reply_to="<q@x>", attachments=[
        InboundAttachment(filename="r.pdf", content_type="application/pdf", data=b"%PDF")],
        extra={"history_outbound": {"author_email": "x@acme.test"}}))
    assert await rows(store, "SELECT message_id, filename, content_type FROM attachments") == [
        {"message_id": r.message_id, "filename": "r.pdf", "content_type": "application/pdf"}]


# ------------------------------------------------------------------ idempotency keys


async def test_a_reused_key_with_other_content_is_stored_under_a_collision_key(store, caplog):
    ch = await channel(store)
    first = await store.ingest(msg(ch.id, "<k@x>", text="first"))
    other = msg(ch.id, "<k@x>", sender="ann@example.com", text="something else")
    r = await store.ingest(other)
    stored_as = collision_key("<k@x>", content_digest(other))
    assert r.collision and r.created_ticket and r.ticket_id != first.ticket_id
    assert await rows(store, "SELECT key, message_id, ticket_id, digest FROM inbound_keys"
                      " WHERE key=?", stored_as) == [
        {"key": stored_as, "message_id": r.message_id, "ticket_id": r.ticket_id,
         "digest": content_digest(other)}]
    assert await events(store, "inbound.collision") == [(r.ticket_id, {
        "channel_id": ch.id, "key": "<k@x>", "stored_as": stored_as,
        "message_id": r.message_id})]
    # what an operator reading the log needs to find both messages
    assert [rec.getMessage() for rec in caplog.records if rec.name == "engine.ingest"] == [
        f"channel {ch.id}: key <k@x> was already used by a different message; ingested this"
        f" one as message {r.message_id} (ticket #{r.ticket_id})"]
    again = await store.ingest(other)
    assert again.duplicate and (again.ticket_id, again.message_id) == (r.ticket_id, r.message_id)
    assert not again.collision
    same = await store.ingest(msg(ch.id, "<k@x>", text="first"))
    assert same.duplicate and same.message_id == first.message_id
    assert len(await rows(store, "SELECT id FROM messages")) == 2


async def test_a_key_row_without_digest_counts_as_the_same_message(store):
    ch = await channel(store)
    first = await store.ingest(msg(ch.id, "<old@x>", text="one"))
    await sql(store, "UPDATE inbound_keys SET digest=NULL")  # written before digests existed
    again = await store.ingest(msg(ch.id, "<old@x>", text="changed since"))
    assert again.duplicate and (again.ticket_id, again.message_id) == (
        first.ticket_id, first.message_id)


async def test_a_batch_with_the_same_key_twice_makes_one_ticket(store):
    ch = await channel(store)
    results = await store.ingest_many([msg(ch.id, "<b1@x>"), msg(ch.id, "<b2@x>",
                                       sender="z@example.com"), msg(ch.id, "<b1@x>")])
    assert [r.created_ticket for r in results] == [True, True, False]
    assert results[2].duplicate and results[2].ticket_id == results[0].ticket_id


# ------------------------------------------------------------------ forms


async def test_a_form_submission_is_kept_with_its_ticket_and_message(store):
    ch = await channel(store)
    fields = [{"key": "q", "label": "Question", "type": "text", "value": "Why?",
               "hidden": False}]
    r = await store.ingest(msg(ch.id, "sub-1", extra={"form_submission": {
        "form": "contact", "fields": fields, "page_url": "https://acme.test/help"}},
        received_at=T0))
    sub = await row(store, "SELECT * FROM form_submissions")
    contact_id = (await store.ticket(r.ticket_id)).contact_id
    assert (sub["form_slug"], sub["channel_id"], sub["contact_id"], sub["ticket_id"],
            sub["message_id"], json.loads(sub["fields"]), sub["page_url"]) == (
        "contact", ch.id, contact_id, r.ticket_id, r.message_id, fields, "https://acme.test/help")
