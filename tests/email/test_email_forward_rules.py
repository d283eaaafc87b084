"""Forwarded-mail attribution rules (engine/channels/email_forward.py) case by case: the forms
of forwarded blocks and who may have a mail re-attributed (issue 17: mutation survivors)."""

from __future__ import annotations

from engine.channels.email_forward import attribute_forwarded, find_forwarded_sender
from engine.models import InboundMessage

AGENTS = {"agent@acme.test", "help@acme.test"}


def fwd(text: str, subject: str = "Fwd: Broken order", sender: str = "agent@acme.test",
        **kw) -> InboundMessage:
    return InboundMessage(channel_id=1, key="<f@x>", sender=sender, subject=subject, text=text,
                          reply_to="agent.home@acme.test", **kw)


BLOCK = "Please look\n\n---------- Forwarded message ---------\nFrom: Ana Pérez <ana@customer.test>\n" \
        "Date: Mon, 3 Mar 2025\nSubject: Broken order\nTo: agent@acme.test\n\nIt broke."


def test_an_agents_inline_forward_is_credited_with_the_original_subject():
    out = attribute_forwarded(fwd(BLOCK, subject="Fwd: something else"),
                              use_original_sender=True, trusted_addresses=AGENTS)
    assert (out.sender, out.sender_name, out.subject) == ("ana@customer.test", "Ana Pérez",
                                                         "Broken order")
    assert out.flags.forwarded_by == "agent@acme.test" and out.reply_to is None
    assert out.extra["forwarded_subject"] == "Fwd: something else"


def test_the_forwarders_address_may_come_from_the_parsed_from_header():
    recovered = fwd(BLOCK, sender="agent@acme.test", extra={"from_address": "Agent@Acme.test"})
    assert attribute_forwarded(recovered, use_original_sender=True,
                               trusted_addresses=AGENTS).flags.forwarded_by == "agent@acme.test"
    # the header says a stranger, the envelope an agent: still one of ours forwarded it
    odd = fwd(BLOCK, sender="agent@acme.test", extra={"from_address": "x@else.test"})
    out = attribute_forwarded(odd, use_original_sender=True, trusted_addresses=AGENTS)
    assert out.sender == "ana@customer.test" and out.flags.forwarded_by == "x@else.test"


def test_forward_as_attachment_wins_over_the_text_and_keeps_its_subject():
    m = fwd("see attached", extra={"attached_message_from": ("Bo", "bo@customer.test"),
                                   "attached_message_subject": "Invoice 7"})
    out = attribute_forwarded(m, use_original_sender=True, trusted_addresses=AGENTS)
    assert (out.sender, out.sender_name, out.subject) == ("bo@customer.test", "Bo", "Invoice 7")
    bare = fwd("see attached", subject="FW: Invoice 7",
               extra={"attached_message_from": ("Bo", "bo@customer.test")})
    out = attribute_forwarded(bare, use_original_sender=True, trusted_addresses=AGENTS)
    assert out.subject == "Invoice 7"  # no subject of its own: the forward's, prefix gone


def test_quoted_and_bold_blocks_are_read():
    quoted = "> > ---------- Forwarded message ---------\n> > **From:** \"Ana\" <ana@customer.test>\n" \
             "> > __Subject:__ Quoted one"
    assert find_forwarded_sender(quoted) == ("Ana", "ana@customer.test", "Quoted one")


def test_a_name_that_is_the_address_is_no_name_and_mailto_goes():
    block = "Begin forwarded message:\nFrom: ana@customer.test <mailto:ana@customer.test>\n"
    assert find_forwarded_sender(block) == ("", "ana@customer.test", "")
    yahoo = "----- Forwarded Message -----\n" \
            "From: Ana <ana@customer.test.> To: agent@acme.test Subject: Yahoo style Sent: today"
    assert find_forwarded_sender(yahoo) == ("Ana", "ana@customer.test", "Yahoo style")


def test_an_outlook_block_without_separator_needs_a_forward_subject_and_a_date_nearby():
    outlook = "FYI\n\nFrom: Ana <ana@customer.test>\nSent: Monday\nTo: x\nSubject: Outlook one"
    assert find_forwarded_sender(outlook, "FW: Outlook one") == ("Ana", "ana@customer.test",
                                                                 "Outlook one")
    assert find_forwarded_sender(outlook, "Outlook one") is None
    far = "FYI\n\nFrom: Ana <ana@customer.test>\n1\n2\n3\n4\nSent: Monday"
    assert find_forwarded_sender(far, "FW: x") is None  # the date must be within four lines


def test_nobody_trusted_or_switched_off_or_our_own_mail_stays_as_it_is():
    m = fwd(BLOCK, sender="eve@stranger.test")
    assert attribute_forwarded(m, use_original_sender=True, trusted_addresses=AGENTS) is m
    m = fwd(BLOCK)
    assert attribute_forwarded(m, use_original_sender=False, trusted_addresses=AGENTS) is m
    ours = fwd(BLOCK.replace("ana@customer.test", "help@acme.test"))
    assert attribute_forwarded(ours, use_original_sender=True, trusted_addresses=AGENTS) is ours
    nothing = fwd("no block here")
    assert attribute_forwarded(nothing, use_original_sender=True,
                               trusted_addresses=AGENTS) is nothing
