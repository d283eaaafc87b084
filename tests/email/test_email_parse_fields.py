"""parse_email field by field: each InboundMessage field and ``extra`` key ingest relies on,
from small hand-built mails (engine/channels/email_parse.py; issue 17's mutation testing).

test_email_parse.py checks whole real-world mails from the corpus; these pin the rules: which
header is the sender, when Reply-To travels, the exact refusals, the threading hint, the date
bounds, the content digest ingest deduplicates with, and the repair of badly folded headers.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest

from engine.channels.email_parse import EmailParseError, content_digest, message_key, parse_email


def mail(*headers: str, body: str = "body\r\n") -> bytes:
    return ("\r\n".join(headers) + "\r\n\r\n" + body).encode("utf-8")


def reason(raw: object, **kw: object) -> str:
    with pytest.raises(EmailParseError) as exc:
        parse_email(raw, **kw)  # type: ignore[arg-type]
    assert str(exc.value) == exc.value.reason
    return exc.value.reason


# ----------------------------------------------------------------------------- refusals


def test_refusals_say_exactly_why() -> None:
    assert reason("From: a@x.test\r\n\r\nhi") == "expected bytes, got str"
    assert reason(None) == "expected bytes, got NoneType"
    assert reason(b"") == "empty message"
    assert reason(b" \r\n\t\r\n") == "empty message"
    assert reason(b"just text\r\n") == "no header section (the first line is not a header)"
    assert reason(mail("Subject: x")) == "no sender address at all (From: '')"
    assert reason(mail("From: nobody here")) == "no sender address at all (From: 'nobody here')"
    long_from = "From: " + "n" * 300
    assert reason(mail(long_from)) == f"no sender address at all (From: {'n' * 200!r})"


def test_the_size_limit_is_inclusive() -> None:
    raw = mail("From: a@x.test")
    assert parse_email(raw, max_bytes=len(raw)).sender == "a@x.test"
    assert parse_email(raw, max_bytes=None).sender == "a@x.test"
    assert reason(raw, max_bytes=len(raw) - 1) == (
        f"message is {len(raw)} bytes, over the {len(raw) - 1}-byte limit")


def test_bytes_like_input_is_the_same_mail() -> None:
    raw = mail("From: a@x.test", "Message-ID: <m1@x.test>")
    a = parse_email(raw, channel_id=3)
    for same in (bytearray(raw), memoryview(raw)):
        b = parse_email(same, channel_id=3)
        assert (b.key, b.sender, b.extra["content_digest"]) == (a.key, a.sender, a.extra["content_digest"])


def test_an_unexpected_failure_becomes_a_parse_error() -> None:
    got = reason(mail("From: a@x.test"), channel_id="not a number")
    assert got.startswith("unexpected parser failure: ValidationError: ")


# ----------------------------------------------------------------------------- sender


def test_from_is_the_sender() -> None:
    m = parse_email(mail("From: Ann Lee <ANN@x.test>", "Sender: s@x.test", "Reply-To: ann@x.test"),
                    channel_id=9)
    assert (m.channel_id, m.sender_kind, m.sender, m.sender_name) == (9, "email", "ann@x.test", "Ann Lee")
    assert m.reply_to is None  # the same address, any case, is no Reply-To
    assert m.extra["from_address"] == "ann@x.test"
    assert "from_name" not in m.extra and "reply_to_name" not in m.extra
    assert "sender_unverified" not in m.extra


def test_a_different_reply_to_travels_with_both_names() -> None:
    m = parse_email(mail("From: Forms <noreply@forms.test>", "Reply-To: Zoe Q <zoe@x.test>"))
    assert (m.sender, m.sender_name, m.reply_to) == ("noreply@forms.test", "Forms", "zoe@x.test")
    assert (m.extra["from_name"], m.extra["reply_to_name"]) == ("Forms", "Zoe Q")


def test_without_from_the_sender_header_then_reply_to() -> None:
    m = parse_email(mail("Sender: Sal <sal@x.test>", "Reply-To: r@x.test"))
    assert (m.sender, m.sender_name, m.reply_to) == ("sal@x.test", "Sal", "r@x.test")
    # an unparseable From loses to a parseable Sender before any recovery is tried
    m = parse_email(mail("From: Test test@example.com", "Sender: sal@x.test"))
    assert (m.sender, "sender_unverified" in m.extra) == ("sal@x.test", False)
    m = parse_email(mail("Reply-To: Zoe <zoe@x.test>", "Subject: Mail delivery failed?"))
    assert (m.sender, m.sender_name, m.reply_to) == ("zoe@x.test", "Zoe", None)
    assert "from_name" not in m.extra and "sender_unverified" not in m.extra
    assert not m.flags.bounce and not m.flags.auto_reply


def test_a_from_line_no_parser_accepts_is_recovered_and_marked() -> None:
    m = parse_email(mail("From: Test test@example.com"))
    assert (m.sender, m.sender_name, m.extra["sender_unverified"]) == ("test@example.com", "Test", True)
    m = parse_email(mail("Sender: Test test@example.com"))
    assert (m.sender, m.extra["sender_unverified"]) == ("test@example.com", True)
    m = parse_email(mail("From: nobody", "Sender: Sam sam @ x.test"))
    assert (m.sender, m.sender_name) == ("sam@x.test", "Sam")


@pytest.mark.parametrize(
    ("message_id", "sender"),
    [
        ("<x.1@MX.Example.com>", "mailer-daemon@mx.example.com"),
        ("x.1@mx.example.com", "mailer-daemon@mx.example.com"),
        ("<x.1@localhost>", "mailer-daemon@invalid"),
        ("<x.1@mx.example.com_>", "mailer-daemon@invalid"),
        ("<x.1@mx.example.com.>", "mailer-daemon@invalid"),
        ("<x.1@mx!x.com>", "mailer-daemon@invalid"),
        ("<x.1@mx.example-1.com>", "mailer-daemon@mx.example-1.com"),
        ("<x.1@y@mx.example.com>", "mailer-daemon@mx.example.com"),  # the last "@"
        ("<x.1@mx.exampleX>", "mailer-daemon@mx.examplex"),
        (None, "mailer-daemon@invalid"),
    ],
)
def test_a_bare_daemon_sender_gets_its_message_ids_domain(message_id: str | None, sender: str) -> None:
    headers = ["From: MAILER-DAEMON (Mail Delivery System)", "Subject: Undelivered Mail"]
    if message_id:
        headers.append(f"Message-ID: {message_id}")
    m = parse_email(mail(*headers))
    assert (m.sender, m.sender_name, m.extra["sender_unverified"]) == (sender, "Mail Delivery System", True)
    assert m.flags.bounce  # a daemon recovered without a domain still counts as a daemon


# ----------------------------------------------------------------------------- threading


def test_ids_subject_and_body() -> None:
    m = parse_email(mail(
        "From: a@x.test", "Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=  aus\r\n  M\xfcnchen",
        "Message-ID: junk <m2@x.test> <m3@x.test>", "In-Reply-To: m1@x.test",
        "References: <m0@x.test> <m1@x.test> <m0@x.test>", body="Hello\r\n"))
    assert m.subject == "Grüße aus München"
    assert (m.key, m.in_reply_to, m.references) == (
        "<m2@x.test>", "<m1@x.test>", ["<m0@x.test>", "<m1@x.test>"])
    assert (m.text, m.html, m.attachments) == ("Hello", None, [])
    assert "missing_message_id" not in m.extra
    assert m.ticket_hint is None and "ticket_hint_source" not in m.extra
    assert "subject_ticket" not in m.extra and "our_message_id" not in m.extra


OURS_1 = "<ticketty.T11.M1.ab@acme.test>"
OURS_2 = "<ticketty.T22.M2.cd@acme.test>"


@pytest.mark.parametrize(
    ("in_reply_to", "references", "hint", "ours"),
    [
        (OURS_1, f"{OURS_2} <c@x.test>", 11, OURS_1),  # the parent first
        ("<c@x.test>", f"{OURS_1} {OURS_2} <d@x.test>", 22, OURS_2),  # then the newest reference
        (None, f"{OURS_2} {OURS_1}", 11, OURS_1),
        (None, "<re.ticketty.T33.M3.ef@acme.test> <c@x.test>", None, None),  # the whole id only
        (None, "<ticketty.T33.M.ef@acme.test>", None, None),
    ],
)
def test_our_message_id_in_the_thread_is_the_ticket_hint(
    in_reply_to: str | None, references: str, hint: int | None, ours: str | None
) -> None:
    headers = ["From: a@x.test", "Subject: Re: help [#99]", f"References: {references}"]
    if in_reply_to:
        headers.append(f"In-Reply-To: {in_reply_to}")
    m = parse_email(mail(*headers))
    assert m.extra["subject_ticket"] == 99
    if hint is None:
        assert (m.ticket_hint, m.extra["ticket_hint_source"]) == (99, "subject")
        assert "our_message_id" not in m.extra
    else:
        assert (m.ticket_hint, m.extra["ticket_hint_source"], m.extra["our_message_id"]) == (
            hint, "message_id", ours)


def test_the_subject_token_is_the_first_one() -> None:
    m = parse_email(mail("From: a@x.test", "Subject: [#5] about [#6] and [#1234567890123]"))
    assert (m.ticket_hint, m.extra["subject_ticket"], m.extra["ticket_hint_source"]) == (5, 5, "subject")


def test_a_delivery_notice_joins_the_ticket_of_the_mail_it_concerns() -> None:
    ours = "<ticketty.T7.M70.aa@acme.test>"
    notice = mail("From: MAILER-DAEMON@mx.test", "Subject: Delivery Status Notification (Delay)",
                  "Message-ID: <n1@mx.test>",
                  body=f"Still trying.\r\n\r\nMessage-ID: {ours}\r\n")
    m = parse_email(notice)
    assert (m.in_reply_to, m.ticket_hint, m.extra["notice_for"]) == (ours, 7, ours)
    assert m.flags.auto_reply and not m.flags.bounce and m.raw is None
    # an In-Reply-To of its own is kept
    m = parse_email(mail("From: MAILER-DAEMON@mx.test", "In-Reply-To: <p@x.test>",
                         "Subject: Delivery Status Notification (Delay)",
                         body=f"Message-ID: {ours}\r\n"))
    assert (m.in_reply_to, m.ticket_hint) == ("<p@x.test>", None)


def test_only_a_bounce_carries_its_raw_bytes() -> None:
    bounce = mail("From: MAILER-DAEMON@mx.test", "Subject: Undelivered Mail Returned to Sender")
    assert parse_email(bounce).raw == bounce and parse_email(bounce).flags.bounce
    assert parse_email(mail("From: a@x.test")).raw is None


def test_an_attached_message_names_its_sender_and_subject() -> None:
    inner = "From: =?utf-8?q?Ev=C3=A9?= <EVE@c.test>\r\nSubject: =?utf-8?q?Pl=C3=A4ne?=\r\n\r\nhi\r\n"
    raw = mail("From: agent@acme.test", "MIME-Version: 1.0",
               'Content-Type: multipart/mixed; boundary="b"',
               body=f"--b\r\nContent-Type: text/plain\r\n\r\nsee\r\n--b\r\n"
                    f"Content-Type: message/rfc822\r\n\r\n{inner}--b--\r\n")
    m = parse_email(raw)
    assert m.extra["attached_message_from"] == ["Evé", "eve@c.test"]
    assert m.extra["attached_message_subject"] == "Pläne"
    no_from = raw.replace(b"From: =?utf-8?q?Ev=C3=A9?= <EVE@c.test>\r\n", b"")
    assert "attached_message_from" not in parse_email(no_from).extra
    assert "attached_message_subject" not in parse_email(no_from).extra


def test_html_alternatives_are_joined() -> None:
    raw = mail("From: a@x.test", "MIME-Version: 1.0", 'Content-Type: multipart/mixed; boundary="b"',
               body="--b\r\nContent-Type: text/html\r\n\r\n<p>one</p>\r\n--b\r\n"
                    "Content-Type: text/html\r\n\r\n<p>two</p>\r\n--b--\r\n")
    assert parse_email(raw).html == "<p>one</p>\n<p>two</p>"


# ----------------------------------------------------------------------------- keys and dates


def test_message_key() -> None:
    assert message_key(b"raw", "<m@x.test>") == "<m@x.test>"
    assert message_key(b"raw", None) == "sha256:" + hashlib.sha256(b"raw").hexdigest()
    assert message_key(b"raw", "") == "sha256:" + hashlib.sha256(b"raw").hexdigest()


def _date(dt: datetime) -> str:
    return dt.strftime("%a, %d %b %Y %H:%M:%S %z")


def _received(date: str | None) -> tuple[datetime, datetime, datetime]:
    before = datetime.now(UTC)
    m = parse_email(mail("From: a@x.test", *([f"Date: {date}"] if date else [])))
    return before, m.received_at, datetime.now(UTC)


@pytest.mark.parametrize(
    ("date", "expected"),
    [
        ("Tue, 04 Mar 2025 10:00:00 +0100", datetime(2025, 3, 4, 9, 0, tzinfo=UTC)),
        ("Tue, 04 Mar 2025 10:00:00 -0000", datetime(2025, 3, 4, 10, 0, tzinfo=UTC)),  # naive
        ("Tue, 01 Jan 1980 00:00:00 +0000", datetime(1980, 1, 1, tzinfo=UTC)),
    ],
)
def test_the_date_header_is_kept_in_utc(date: str, expected: datetime) -> None:
    got = _received(date)[1]
    assert got == expected and got.utcoffset() == timedelta(0)


def test_the_date_is_utc_whatever_the_machines_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        got = _received("Tue, 04 Mar 2025 10:00:00 +0100")[1]
    finally:
        monkeypatch.undo()
        time.tzset()
    assert got == datetime(2025, 3, 4, 9, 0, tzinfo=UTC) and got.utcoffset() == timedelta(0)


def test_a_date_just_ahead_of_the_clock_is_kept() -> None:
    ahead = (datetime.now(UTC) + timedelta(hours=23)).replace(microsecond=0)
    assert _received(_date(ahead))[1] == ahead


@pytest.mark.parametrize(
    "date",
    [None, "", "yesterday", "Mon, 31 Dec 1979 23:59:59 +0000", "Tue, 04 Mar 2025 99:00:00 +0000",
     "Tue, 04 Mar 99999 10:00:00 +0000", "Tue, 04 Mar 2025 10:00:00 +9999999999999999999999",
     "Fri, 01 Jan 2100 00:00:00 +0000"],
)
def test_a_missing_bad_old_or_future_date_is_now(date: str | None) -> None:
    before, got, after = _received(date)
    assert before <= got <= after and got.tzinfo is not None


def test_a_date_more_than_a_day_ahead_is_now() -> None:
    before, got, after = _received(_date(datetime.now(UTC) + timedelta(hours=25)))
    assert before <= got <= after


# ----------------------------------------------------------------------------- content digest


def _digest(from_norm: str, body_crlf: bytes) -> str:
    return hashlib.sha256(from_norm.encode() + b"\x00" + body_crlf).hexdigest()[:32]


def test_the_content_digest_is_the_from_line_and_the_body() -> None:
    """The digest ingest deduplicates re-deliveries with: stable across versions, so exact."""
    raw = b"From: Ann  Lee\r\n <ANN@x.test>\r\nSubject: a\r\n\r\nline 1\r\nline 2 \r\n\r\n \t"
    expected = _digest("ann lee <ann@x.test>", b"line 1\r\nline 2")
    assert parse_email(raw).extra["content_digest"] == expected
    assert content_digest(raw, "Ann  Lee\r\n <ANN@x.test>") == expected
    # an mbox copy (LF only) and another route (other headers) say the same
    mbox = b"From: ann lee <ann@x.test>\nReceived: by mx\nSubject: b\n\nline 1\nline 2\n\n"
    assert parse_email(mbox).extra["content_digest"] == expected
    # a CR anywhere in the body: hashed as it is
    assert content_digest(b"A: b\n\nx\ny\rz\n", "f") == _digest("f", b"x\ny\rz")
    assert content_digest(b"A: b\n\nbody", None) == _digest("", b"body")
    assert content_digest(b"A: b\r\n", "F") == _digest("f", b"")  # no body at all
    assert content_digest(b"A: b\r\n\r\n", "F") == _digest("f", b"")
    assert content_digest(b"\r\n\r\n \n", "F") == _digest("f", b"")  # white space only
    assert content_digest(b"", None) == _digest("", b"")
    # a CR only in the trailing white space is no CR of the body
    assert content_digest(b"A: b\n\nx\ny\r\n", "f") == _digest("f", b"x\r\ny")


def test_the_body_starts_at_the_first_blank_line_of_either_kind() -> None:
    assert content_digest(b"A: b\n\nbody\r\n\r\nmore", "f") == _digest("f", b"body\r\n\r\nmore")
    assert content_digest(b"A: b\r\n\r\nbody\n\nmore", "f") == _digest("f", b"body\r\n\r\nmore")
    assert content_digest(b"A: b\r\nC: d\r\n\r\nx", "f") == _digest("f", b"x")
    assert content_digest(b"\n\nbody", "f") == _digest("f", b"body\r\n"[:4])  # no headers


def test_the_digest_tells_other_mail_apart() -> None:
    a = mail("From: a@x.test", "Message-ID: <same@x.test>", body="one")
    assert parse_email(a).extra["content_digest"] != parse_email(a.replace(b"one", b"two")).extra["content_digest"]
    assert parse_email(a).extra["content_digest"] != parse_email(a.replace(b"a@x", b"b@x")).extra["content_digest"]


# ----------------------------------------------------------------------------- folded headers


def test_a_header_folded_without_indentation_is_repaired() -> None:
    m = parse_email(b'From: "Very Long\nName" <a@x.test>\nSubject: hi\n\nbody')
    assert (m.sender, m.sender_name, m.subject, m.text) == ("a@x.test", "Very Long Name", "hi", "body")
    m = parse_email(b"Subject: one\ntwo\nthree\nFrom: a@x.test\n\nbody")
    assert (m.subject, m.sender, m.text) == ("one two three", "a@x.test", "body")
    m = parse_email(b"From: a@x.test\r\nSubject: one\r\n two\r\nthree\r\nTo: b@x.test\r\n\r\nbody")
    assert (m.subject, m.text) == ("one two three", "body")


def test_a_missing_blank_line_before_the_body_is_left_alone() -> None:
    m = parse_email(b"From: a@x.test\nSubject: hi\nthis is body text\nmore text\n")
    assert (m.subject, m.text) == ("hi", "this is body text\nmore text")
    m = parse_email(b"From: a@x.test\nSubject: hi\nthis is body text\n\nX-A: b\n")
    assert (m.subject, m.text) == ("hi", "this is body text\n\nX-A: b")


def test_a_header_mixing_8bit_text_and_encoded_words_decodes_both() -> None:
    """Raw UTF-8 beside an encoded word came out as ``M\\udcc3\\udcbcnchen`` text, and Unicode
    beside one as ``\\u5c71\\u7530``: decode_header escapes the text around encoded words."""
    from engine.channels.email_decode import decode_header_value

    assert decode_header_value("山田 =?utf-8?q?Taro?=") == "山田 Taro"
    raw8 = b"M\xc3\xbcnchen =?utf-8?q?a?=  =?utf-8?q?b?= c".decode("ascii", "surrogateescape")
    assert decode_header_value(raw8) == "München ab c"
    assert decode_header_value("Müller =?utf-8?q?broken") == "Müller =?utf-8?q?broken"
    m = parse_email("From: a@x.test\r\nSubject: Grüße =?utf-8?q?aus?= München\r\n\r\nx".encode())
    assert m.subject == "Grüße aus München"
