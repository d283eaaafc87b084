"""The ingest pipeline's pure rules (engine/ingest_rules.py), one by one (issue 17: the fast
tests `make mutate` runs this module against)."""

from __future__ import annotations

import hashlib

import pytest

from engine.ingest_rules import (
    REOPEN_WINDOW,
    collision_key,
    content_digest,
    conversation_continues,
    customer_of,
    first_line,
    identity_value,
    notification_payload,
    should_route,
    thread_key,
    thread_refs,
)
from engine.models import Channel, InboundAttachment, InboundFlags, InboundMessage


def msg(**kw) -> InboundMessage:
    kw.setdefault("channel_id", 1)
    kw.setdefault("key", "<k@x>")
    kw.setdefault("sender", "ana@customer.test")
    return InboundMessage(**kw)


def channel(**settings) -> Channel:
    return Channel(id=1, kind="email", name="Support", settings={"address": "h@acme.test",
                                                                  **settings})


def test_the_customer_is_the_sender_unless_the_channel_says_reply_to():
    m = msg(sender_name="Ana", reply_to="home@customer.test", extra={"reply_to_name": "Ana H"})
    assert customer_of(m, channel()) == ("ana@customer.test", "Ana")
    assert customer_of(m, None) == ("ana@customer.test", "Ana")
    assert customer_of(m, channel(customer_address="reply_to")) == ("home@customer.test", "Ana H")
    bare = msg(sender_name="Ana", reply_to="home@customer.test")
    assert customer_of(bare, channel(customer_address="reply_to")) == ("home@customer.test", "")
    assert customer_of(msg(sender_name="Ana"), channel(customer_address="reply_to")) == (
        "ana@customer.test", "Ana")


def test_identity_values_are_normalised_per_kind():
    assert identity_value("email", "Ana@Customer.TEST") == "ana@customer.test"


def test_the_digest_covers_sender_subject_text_and_attachments():
    base = msg(subject="Hi", text="body")
    h = hashlib.sha256()
    for part in ("email", "ana@customer.test", "Hi", "body"):
        h.update(part.encode() + b"\x00")
    assert content_digest(base) == h.hexdigest()[:32]
    others = [msg(subject="Hi!", text="body"), msg(subject="Hi", text="body!"),
              msg(sender="bob@customer.test", subject="Hi", text="body"),
              msg(subject="Hi", text="body", attachments=[
                  InboundAttachment(filename="a", content_type="text/plain", data=b"x")])]
    digests = {content_digest(o) for o in others}
    assert len(digests) == 4 and content_digest(base) not in digests
    assert content_digest(msg(extra={"content_digest": "given"})) == "given"
    assert content_digest(msg(subject="a", text="b")) != content_digest(msg(subject="ab", text=""))


def test_a_collision_key_is_the_key_and_sixteen_digest_characters():
    assert collision_key("<k@x>", "0123456789abcdef0123") == "<k@x>#0123456789abcdef"


def test_thread_refs_most_direct_first():
    m = msg(in_reply_to=" <c@x> ", references=["<a@x>", "<b@x>", ""])
    assert thread_refs(m) == ["<c@x>", "<b@x>", "<a@x>"]
    assert thread_refs(msg()) == []


def test_thread_key_is_per_channel_and_only_with_a_conversation():
    assert thread_key(3, msg(conversation_key="chat-9")) == "3:chat-9"
    assert thread_key(3, msg()) is None


@pytest.mark.parametrize(("is_open", "age", "continues"), [
    (True, 30 * 86400, True), (False, 0, True),
    (False, REOPEN_WINDOW.total_seconds() - 1, True),
    (False, REOPEN_WINDOW.total_seconds(), False), (False, 30 * 86400, False),
])
def test_a_conversation_continues_while_open_or_within_the_window(is_open, age, continues):
    assert conversation_continues(is_open, 1_000_000.0 - age, 1_000_000.0) is continues


def test_first_line_is_the_first_non_blank_line_cut_at_120():
    assert first_line("\n  \n  Hello there  \nsecond") == "Hello there"
    assert first_line("x" * 200) == "x" * 120
    assert first_line("") == first_line("  \n ") == "(no subject)"


@pytest.mark.parametrize(("kw", "created", "routed"), [
    ({}, True, True), ({}, False, False),
    ({"import_status": "closed"}, True, False),
    ({"flags": InboundFlags(auto_reply=True)}, True, False),
    ({"flags": InboundFlags(list_mail=True)}, True, False),
    ({"extra": {"route_later": True}}, True, False),  # a bot chats first; routed at hand-off
    ({"extra": {"route_later": False, "other": 1}}, True, True),
])
def test_only_new_live_mail_from_people_is_routed(kw, created, routed):
    assert should_route(msg(**kw), created) is routed


def test_the_owners_notification_names_the_ticket_and_greets_by_first_name():
    p = notification_payload("Olive Owner", "olive@acme.test", 12, "Broken")
    assert p == {"to": "olive@acme.test", "to_name": "Olive Owner",
                 "subject": "[#12] assigned to you: Broken",
                 "text": "Hi Olive,\n\nTicket #12 \"Broken\" from one of your contacts was "
                         "assigned to you while you were away.\n\n— ticketty"}
    assert notification_payload("", "x@acme.test", 1, "s")["text"].startswith("Hi ,\n\n")


def test_the_digest_of_text_with_lone_surrogates_is_taken_not_raised():
    """Mail decoded with ``surrogateescape`` keeps undecodable bytes as lone surrogates: the
    digest must take them (a strict encode raised mid-ingest) and still tell texts apart."""
    broken = msg(subject="Gr\udcfc\udcdfe", text="M\udcc3\udcbcnchen")
    h = hashlib.sha256()
    for part in ("email", "ana@customer.test", "Gr\udcfc\udcdfe", "M\udcc3\udcbcnchen"):
        h.update(part.encode("utf-8", "surrogatepass") + b"\x00")
    assert content_digest(broken) == h.hexdigest()[:32]
    assert content_digest(broken) != content_digest(msg(subject="Gr\udcfc\udcdfe", text="M\udcc3nchen"))
