"""Building outgoing replies: headers, threading, signature, escaping."""

from __future__ import annotations

import email
from email import policy

import pytest

from engine.channels.email_compose import (
    compose_reply,
    from_display_name,
    make_message_id,
    render_signature,
    reply_subject,
    thread_references,
)
from engine.channels.email_parse import parse_email
from engine.channels.email_settings import EmailSettings


def settings(**kw: object) -> EmailSettings:
    base = {
        "address": "support@acme.test",
        "imap_host": "imap.acme.test",
        "company_name": "Acme",
        "signature": "Best,\n{full_name} ({first_name} / {last_name})\n{unknown} stays",
    }
    base.update(kw)
    return EmailSettings(**base)


def compose(**kw: object):
    args = {
        "to": "ana@customer.test",
        "subject": "Broken order",
        "text": "Hi Ana,\n\nwe <b>fixed</b> it & more.",
        "ticket_id": 12,
        "message_id": 34,
        "idempotency_key": "outbox-1",
        "agent_name": "José García López",
        "in_reply_to": "<c2@customer.test>",
        "references": ["<c1@customer.test>"],
    }
    args.update(kw)
    s = args.pop("settings", settings())
    return compose_reply(s, **args)


def test_render_signature() -> None:
    assert (
        render_signature("{full_name}|{first_name}|{last_name}", "Ana María López")
        == "Ana María López|Ana|María López"
    )
    assert render_signature("{first_name}{last_name}", "Cher") == "Cher"
    assert render_signature("{x} {full_name}", "A B") == "{x} A B"
    assert render_signature("", "A") == ""


def test_from_name_modes() -> None:
    assert from_display_name(settings(), "Ana Li") == "Ana Li at Acme"
    assert from_display_name(settings(from_name_mode="company"), "Ana Li") == "Acme"
    assert from_display_name(settings(), None) == "Acme"


def test_message_id_is_deterministic_and_ours() -> None:
    a = make_message_id(12, 34, "k", "acme.test")
    assert a == make_message_id(12, 34, "k", "acme.test")
    assert a != make_message_id(12, 34, "k2", "acme.test")
    assert a.startswith("<ticketty.T12.M34.") and a.endswith("@acme.test>")
    assert compose().message_id == compose().message_id  # a resend reuses the id


def test_headers_and_threading_roundtrip() -> None:
    c = compose()
    msg = email.message_from_bytes(c.raw, policy=policy.default)
    assert msg["From"].addresses[0].display_name == "José García López at Acme"
    assert msg["From"].addresses[0].addr_spec == "support@acme.test"
    assert msg["Subject"] == "Re: Broken order [#12]"
    assert msg["In-Reply-To"] == "<c2@customer.test>"
    assert msg["References"] == "<c1@customer.test> <c2@customer.test>"
    assert msg["Message-ID"] == c.message_id
    assert msg.get_content_type() == "multipart/alternative"
    plain = msg.get_body(("plain",)).get_content().replace("\r\n", "\n")
    html = msg.get_body(("html",)).get_content()
    assert "we <b>fixed</b> it & more." in plain
    assert "\n-- \nBest,\nJosé García López (José / García López)\n{unknown} stays" in plain
    assert "&lt;b&gt;fixed&lt;/b&gt; it &amp; more." in html and "<b>" not in html
    assert "José García López (José / García López)" in html
    assert c.recipients == ["ana@customer.test"] and c.sender == "support@acme.test"
    # our own parser recognises the reply marker
    back = parse_email(c.raw)
    assert back.key == c.message_id
    assert back.in_reply_to == "<c2@customer.test>"


def test_customer_text_cannot_inject_headers() -> None:
    c = compose(subject="Hi\r\nBcc: victim@evil.test", agent_name="Eve\r\nX-Evil: 1")
    msg = email.message_from_bytes(c.raw, policy=policy.default)
    assert msg["Bcc"] is None and msg["X-Evil"] is None
    assert "victim@evil.test" in msg["Subject"]


def test_reply_to_a_mail_without_message_id_still_says_re() -> None:
    c = compose(in_reply_to=None, references=[])
    msg = email.message_from_bytes(c.raw, policy=policy.default)
    assert msg["In-Reply-To"] is None and msg["References"] is None
    assert msg["Subject"] == "Re: Broken order [#12]"
    assert c.subject == reply_subject("Broken order", 12)


def test_notifications_are_not_replies() -> None:
    c = compose(in_reply_to=None, references=[], automatic=True, subject="New ticket")
    assert email.message_from_bytes(c.raw, policy=policy.default)["Subject"] == "New ticket [#12]"


def test_subject_re_once_and_token_once() -> None:
    assert reply_subject("Re: Help [#12]", 12) == "Re: Help [#12]"
    assert reply_subject("AW: Help", 12) == "Re: Help [#12]"
    assert reply_subject("RE: Re:  aw: Help", 12) == "Re: Help [#12]"
    assert reply_subject("Re[2]: Help", 12) == "Re: Help [#12]"
    assert reply_subject("Reply needed", 12) == "Re: Reply needed [#12]"
    assert reply_subject("Re:", 12) == "Re: (no subject) [#12]"
    assert reply_subject("Help [#99]", 12, is_reply=False) == "Help [#99] [#12]"


def test_references_bounded_and_deduplicated() -> None:
    refs = [f"<r{i}@x>" for i in range(40)]
    out = thread_references("<r39@x>", refs)
    assert len(out) == 20 and out[0] == "<r0@x>" and out[-1] == "<r39@x>"
    assert thread_references("p@x", ["<a@x>", "<a@x>"]) == ["<a@x>", "<p@x>"]


def test_automatic_mail_is_marked() -> None:
    msg = email.message_from_bytes(compose(automatic=True).raw, policy=policy.default)
    assert msg["Auto-Submitted"] == "auto-replied"
    assert "OOF" in msg["X-Auto-Response-Suppress"]


def test_attachments_and_no_recipient() -> None:
    class Att:
        filename = "log.txt"
        content_type = "text/plain"
        data = b"line\n"

    msg = email.message_from_bytes(compose(attachments=[Att()]).raw, policy=policy.default)
    att = next(msg.iter_attachments())
    assert att.get_filename() == "log.txt" and att.get_content() == "line\n"
    with pytest.raises(ValueError):
        compose(to=[])


def test_html_signature_used_in_html_part_with_escaped_names():
    import email as email_lib
    from email.policy import compat32

    from engine.channels.email_compose import compose_reply
    from engine.channels.email_settings import EmailSettings

    settings = EmailSettings(address="help@acme.test", mode="forwarding", company_name="Acme",
                             signature="{full_name}\nAcme",
                             signature_html="<b>{full_name}</b> — <i>Acme</i>")
    out = compose_reply(settings, to="c@example.com", subject="Hi", text="Hello", ticket_id=1,
                        message_id=2, idempotency_key="k", agent_name="Ann <script>")
    msg = email_lib.message_from_bytes(out.raw, policy=compat32)
    parts = {p.get_content_type(): p.get_payload(decode=True).decode() for p in msg.walk()
             if not p.is_multipart()}
    assert "<b>Ann &lt;script&gt;</b> — <i>Acme</i>" in parts["text/html"]
    assert "Ann <script>\nAcme" in parts["text/plain"].replace("\r\n", "\n")


def test_without_a_company_name_the_sender_is_the_agent_alone() -> None:
    """The default company_name is empty: never "Ana at " (issue 17, item 5)."""
    assert EmailSettings(address="support@acme.test", mode="forwarding").company_name == ""
    bare = settings(company_name="")
    assert from_display_name(bare, "Ana Li") == "Ana Li"
    assert from_display_name(settings(company_name="  "), "Ana Li") == "Ana Li"
    assert from_display_name(bare, None) == ""
    assert from_display_name(settings(company_name="", from_name_mode="company"), "Ana") == "Ana"
    msg = email.message_from_bytes(compose(settings=bare, agent_name="Ana Li").raw,
                                   policy=policy.default)
    assert msg["From"].addresses[0].display_name == "Ana Li"
    assert " at" not in str(msg["From"])


def test_a_whole_message_header_by_header_and_part_by_part() -> None:
    """Every header and part of one composed mail, exactly (mutation survivors, issue 17)."""
    from dataclasses import dataclass
    from datetime import UTC, datetime

    @dataclass
    class Att:
        filename: str
        content_type: str
        data: bytes | None

    c = compose(
        to=["ana@customer.test", " ", "bo@customer.test"], cc=["cc@customer.test", ""],
        text="First para\r\nline two\n\n\n  Second <p>", automatic=True,
        date=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        attachments=[Att("a\nb.pdf", "application/pdf", b"%PDF"), Att("", "", b"raw"),
                     Att("skip.txt", "text/plain", None)])
    assert c.recipients == ["ana@customer.test", "bo@customer.test", "cc@customer.test"]
    assert c.sender == "support@acme.test" and c.from_header == str(
        email.message_from_bytes(c.raw, policy=policy.default)["From"])
    msg = email.message_from_bytes(c.raw, policy=policy.default)
    assert msg["To"] == "ana@customer.test, bo@customer.test"
    assert msg["Cc"] == "cc@customer.test"
    assert msg["Date"] == "Fri, 02 Jan 2026 03:04:05 +0000"
    assert msg["Message-ID"] == c.message_id
    assert msg["Auto-Submitted"] == "auto-replied"
    assert msg["X-Auto-Response-Suppress"] == "OOF, AutoReply"
    assert msg["X-Ticketty-Ticket"] == "12"
    assert msg["Subject"] == c.subject == "Broken order [#12]"  # automatic: no "Re:"
    parts = list(msg.iter_parts())
    body, files = parts[0], parts[1:]
    plain = body.get_body(("plain",))
    html_part = body.get_body(("html",))
    # both alternatives quoted-printable: the mail is 7-bit clean for servers without 8BITMIME
    assert plain["Content-Transfer-Encoding"] == "quoted-printable"
    assert html_part["Content-Transfer-Encoding"] == "quoted-printable"
    assert c.raw.isascii()
    assert plain.get_content_charset() == "utf-8" and html_part.get_content_charset() == "utf-8"
    assert plain.get_content().replace("\r\n", "\n") == (
        "First para\nline two\n\n\n  Second <p>\n\n-- \nBest,\n"
        "José García López (José / García López)\n{unknown} stays\n")
    page = html_part.get_content().replace("\r\n", "\n")
    assert page.startswith('<!DOCTYPE html>\n<html><head><meta charset="utf-8"></head><body>\n')
    assert "<p>First para<br>\nline two</p>\n<p>  Second &lt;p&gt;</p>" in page
    assert ('<div class="signature">-- <br>\nBest,<br>\n'
            "José García López (José / García López)<br>\n{unknown} stays</div>") in page
    assert page.endswith("\n</body></html>\n")
    assert [(f.get_content_type(), f.get_filename(), f.get_content()) for f in files] == [
        ("application/pdf", "a b.pdf", b"%PDF"),
        ("application/octet-stream", "attachment", b"raw")]


def test_no_recipient_is_an_error_and_a_plain_reply_has_no_automatic_headers() -> None:
    with pytest.raises(ValueError, match="^a reply needs at least one recipient$"):
        compose(to=[" ", ""])
    msg = email.message_from_bytes(compose(cc=[]).raw, policy=policy.default)
    assert msg["Auto-Submitted"] is None and msg["X-Auto-Response-Suppress"] is None
    assert msg["Cc"] is None


def test_every_cc_is_in_the_cc_header_and_the_envelope() -> None:
    c = compose(to=("ana@customer.test",), cc=["bo@customer.test", " cy@customer.test\r\n", "", "  "])
    msg = email.message_from_bytes(c.raw, policy=policy.default)
    assert msg["Cc"] == "bo@customer.test, cy@customer.test"
    assert [a.addr_spec for a in msg["Cc"].addresses] == ["bo@customer.test", "cy@customer.test"]
    assert c.recipients == ["ana@customer.test", "bo@customer.test", "cy@customer.test"]
    # no blind copy and no Reply-To ever leave with a reply: answers come back to the channel
    assert msg["Bcc"] is None and msg["Reply-To"] is None


def test_a_reply_reads_back_through_our_own_parser() -> None:
    """What the customer's side (and our own ingest, for a mail we sent to ourselves) reads."""
    c = compose(references=["<c0@customer.test>", "c1@customer.test"])
    back = parse_email(c.raw)
    assert (back.sender, back.sender_name) == ("support@acme.test", "José García López at Acme")
    assert (back.key, back.subject) == (c.message_id, "Re: Broken order [#12]")
    assert back.in_reply_to == "<c2@customer.test>"
    assert back.references == ["<c0@customer.test>", "<c1@customer.test>", "<c2@customer.test>"]
    assert (back.ticket_hint, back.extra["ticket_hint_source"]) == (12, "subject")
    assert back.text == ("Hi Ana,\n\nwe <b>fixed</b> it & more.\n\n-- \nBest,\n"
                         "José García López (José / García López)\n{unknown} stays")
    assert back.html is not None and "<p>Hi Ana,</p>" in back.html
    assert back.reply_to is None and not back.flags.auto_reply
    auto = parse_email(compose(automatic=True, settings=settings(company_name="")).raw)
    assert auto.flags.auto_reply and auto.sender_name == "José García López"
    assert auto.extra["auto_submitted"] == "auto-replied"


def test_the_from_display_name_in_company_mode_and_without_an_agent() -> None:
    for s, agent, shown in [
        (settings(from_name_mode="company"), "Ana Li", "Acme"),
        (settings(company_name=" Acme\r\n Corp "), "Ana\tLi", "Ana Li at Acme Corp"),
        (settings(), "", "Acme"),
        (settings(company_name=""), None, ""),
    ]:
        c = compose(settings=s, agent_name=agent)
        msg = email.message_from_bytes(c.raw, policy=policy.default)
        assert msg["From"].addresses[0].display_name == shown
        assert msg["From"].addresses[0].addr_spec == "support@acme.test"
        assert c.from_header == (f"{shown} <support@acme.test>" if shown else "support@acme.test")


def test_pieces_of_the_reply_at_their_edges() -> None:
    """Empty names, empty subjects, exactly twenty references: the edges of each helper."""
    import hashlib

    from engine.channels.email_compose import split_name, text_to_html

    assert split_name("  ") == ("", "")
    assert render_signature("[{first_name}|{last_name}|{full_name}]", " ") == "[||]"
    # the Message-ID a resend after an upgrade must still reuse: exactly this
    digest = hashlib.sha256(b"outbox-1").hexdigest()[:20]
    assert make_message_id(12, 34, "outbox-1", "acme.test") == f"<ticketty.T12.M34.{digest}@acme.test>"
    assert compose().message_id == f"<ticketty.T12.M34.{digest}@acme.test>"
    assert reply_subject("", 12, is_reply=False) == "(no subject) [#12]"
    assert reply_subject(" \r\n ", 12) == "Re: (no subject) [#12]"
    assert text_to_html("") == ""
    assert text_to_html("a\r\nb\r\n\r\n c <d>") == "<p>a<br>\nb</p>\n<p> c &lt;d&gt;</p>"
    refs = [f"<r{i}@x>" for i in range(19)]
    assert thread_references("<r19@x>", refs) == [*refs, "<r19@x>"]  # twenty: all kept
    assert thread_references(None, ["", "<a@x>"]) == ["<a@x>"]


def _plain_and_html(c) -> tuple[str, str]:
    msg = email.message_from_bytes(c.raw, policy=policy.default)
    plain = msg.get_body(("plain",)).get_content().replace("\r\n", "\n")
    return plain, msg.get_body(("html",)).get_content().replace("\r\n", "\n")


def test_the_body_and_signature_exactly() -> None:
    plain, html = _plain_and_html(compose(text="  Hi\r\n\r\n", settings=settings(signature="")))
    assert plain == "  Hi\n"  # no signature: no "-- " line; leading spaces kept
    assert 'class="signature"' not in html
    plain, html = _plain_and_html(compose(text="", settings=settings(signature="\n  Xena, Acme X\n\n")))
    assert plain == "\n\n-- \n  Xena, Acme X\n"
    assert "<p>" not in html and "<body>\n\n<div" in html
    plain, html = _plain_and_html(compose(
        agent_name=None, settings=settings(signature="Best,\n{full_name}.",
                                           signature_html="<b>{full_name}</b>.")))
    assert plain.endswith("\n-- \nBest,\n.\n")
    assert "<p>Hi Ana,</p>" in html and '<div class="signature"><b></b>.</div>' in html


def test_who_says_re_and_the_wire_form() -> None:
    assert compose(is_reply=False).subject == "Broken order [#12]"
    assert compose(automatic=True, is_reply=True).subject == "Re: Broken order [#12]"
    raw = compose().raw
    assert raw.count(b"\n") == raw.count(b"\r\n")  # SMTP: every line ends in CR LF


def test_attachment_types_are_completed_and_empty_ones_skipped() -> None:
    from dataclasses import dataclass

    @dataclass
    class Att:
        filename: str
        content_type: str
        data: bytes | None

    c = compose(attachments=[Att("gone.txt", "text/plain", None), Att("a.pdf", "/pdf", b"%PDF"),
                             Att("b", "image/", b"GIF8")])
    msg = email.message_from_bytes(c.raw, policy=policy.default)
    assert [(f.get_content_type(), f.get_filename()) for f in msg.iter_attachments()] == [
        ("application/pdf", "a.pdf"), ("image/octet-stream", "b")]
