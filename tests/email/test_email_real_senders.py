"""Mail as real senders write it (issue 9, items 10–14 and 16): parsing the corpus fixtures.

Every fixture here is a shape that broke the parser: encoded-word names with commas, colons,
``@`` and CR LF; From lines that no RFC accepts; bodies whose text was lost; charsets that lie;
attachments that were dropped or left encoded. The end-to-end paths (IMAP, the forwarding
listener, imports) are in ``tests/email/test_mail_identity.py``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.channels.email_parse import EmailParseError, parse_email

CORPUS = Path(__file__).parent.parent / "corpus" / "email"


def load(name: str):
    return parse_email((CORPUS / name).read_bytes(), channel_id=3)


# ------------------------------------------------------------------ 10: encoded-word names


@pytest.mark.parametrize(
    ("name", "sender", "sender_name"),
    [
        ("name_comma_latin1.eml", "anna@example.com", "Müller, Anna"),
        ("name_with_at.eml", "jane@acme.test", "Jane Doe via ceo@x.test"),
        ("name_crlf.eml", "eve@customer.test", "Eve Bcc: boss@evil.test"),
        ("name_colon_quoted.eml", "team@partner.test", "Support: Team <ceo@x.test>, Sales"),
    ],
)
def test_the_address_comes_from_the_addr_spec_never_from_an_encoded_name(
    name: str, sender: str, sender_name: str
) -> None:
    m = load(name)
    assert (m.sender, m.sender_name) == (sender, sender_name)
    assert "\r" not in m.sender_name and "\n" not in m.sender_name
    assert "sender_unverified" not in m.extra


def test_encoded_reply_to_name_cannot_smuggle_an_address() -> None:
    m = load("name_colon_quoted.eml")
    assert m.reply_to == "zoe@partner.test"
    assert m.extra["reply_to_name"] == "Zoë: Quinn, <zoe@evil.test>"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("=?utf-8?q?a=3A_b=2C_c?= <abc@example.com>", ("a: b, c", "abc@example.com")),
        ("=?utf-8?q?x=40y.test?= =?utf-8?q?_z?= <real@example.com>", ("x@y.test z", "real@example.com")),
        ("=?utf-8?b?" + "TGluZTENCkxpbmUy" + "?= <two@example.com>", ("Line1 Line2", "two@example.com")),
        ("=?utf-8?q?only@encoded.test?=", ("", "")),  # an encoded word is never an address
        ("Foo <=?utf-8?q?a?=@x.test>", ("", "")),
        ('"Doe, J." <j@example.com>, other@example.com', ("Doe, J.", "j@example.com")),
    ],
)
def test_parse_address_shields_encoded_words(header: str, expected: tuple[str, str]) -> None:
    from engine.channels.email_address import parse_address

    assert parse_address(header) == expected


# ------------------------------------------------------------------ 11: malformed From lines


@pytest.mark.parametrize(
    ("name", "sender", "sender_name"),
    [
        ("from_bare_words.eml", "test@example.com", "Test"),
        ("from_space_local.eml", "meier@example.de", "Hans Meier"),
    ],
)
def test_malformed_from_is_recovered_and_marked_unverified(
    name: str, sender: str, sender_name: str
) -> None:
    m = load(name)
    assert (m.sender, m.sender_name) == (sender, sender_name)
    assert m.extra["sender_unverified"] is True
    assert not m.flags.bounce


def test_header_continued_without_indentation_keeps_every_header() -> None:
    m = load("from_unindented.eml")
    assert (m.sender, m.sender_name) == ("anna.schmidt@example.com", "Anna Maria Schmidt")
    assert m.key == "<n11c@example.com>"  # the headers after the broken line are headers
    assert m.text == "The body."
    assert "sender_unverified" not in m.extra


def test_mailer_daemon_without_an_address_is_a_bounce() -> None:
    m = load("from_daemon_noaddr.eml")
    assert m.flags.bounce and m.flags.auto_reply
    assert m.sender == "mailer-daemon@mx.legacy.test"
    assert m.extra["bounced_message_id"] == "<ticketty.T61.M5.cafe@acme.test>"
    assert m.raw == (CORPUS / "from_daemon_noaddr.eml").read_bytes()


def test_postmaster_mail_without_a_bounce_subject_is_still_a_bounce() -> None:
    raw = (b"From: postmaster@mx.example.test\r\nTo: support@acme.test\r\nSubject: Your mail\r\n"
           b"Message-ID: <pm-1@mx.example.test>\r\n\r\nCould not deliver.\r\n")
    assert parse_email(raw).flags.bounce


def test_delivery_report_that_only_relayed_is_a_notice_threaded_to_its_message() -> None:
    m = load("dsn_relayed.eml")
    assert m.flags.auto_reply and not m.flags.bounce
    assert m.extra["delivery_notice"] == "relayed"
    assert m.in_reply_to == "<ticketty.T62.M9.beef@acme.test>"
    assert m.ticket_hint == 62 and m.raw is None


def test_no_address_at_all_is_still_refused() -> None:
    raw = b"From: Nobody Known\r\nTo: support@acme.test\r\nSubject: x\r\n\r\nbody\r\n"
    with pytest.raises(EmailParseError, match="no sender address"):
        parse_email(raw)


# ------------------------------------------------------------------ 12: body text


def test_mixed_shows_every_inline_part_in_order_with_html_converted() -> None:
    m = load("body_mixed_html_sig.eml")
    assert m.text == "The brakes squeal after the repair.\n\n-- \nRita Rossi, Milano"
    assert m.html and "<b>brakes</b>" in m.html


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("body_alt_placeholder.eml",
         "My invoice 4471 shows the wrong VAT number, please correct it to DE123456789."),
        ("body_alt_empty.eml", "The parcel arrived damaged, photos attached later."),
        ("body_alt_different.eml",
         "I was charged twice for order 8812 and need a refund of the second charge.\n\n"
         "Sent from my phone"),
    ],
)
def test_alternative_shows_the_html_when_the_plain_part_is_not_the_content(
    name: str, expected: str
) -> None:
    assert load(name).text == expected


def test_alternative_keeps_the_plain_part_when_it_says_the_same() -> None:
    m = load("body_alt_same.eml")
    assert m.text == "The login page shows error 503 since this morning.\nThanks, Ruth"


# ------------------------------------------------------------------ 13: charsets that lie


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("charset_iso2022jp_holds_sjis.eml", "ご注文の商品がまだ届いていません。確認をお願いします。"),
        ("charset_unlabelled_sjis.eml", "ご注文の商品がまだ届いていません。確認をお願いします。"),
        ("charset_unlabelled_gbk.eml", "我的订单还没有到，请帮我查一下物流信息。谢谢！"),
        ("charset_unlabelled_latin1.eml",
         "Grüße aus Köln. Die Bestellung ist leider beschädigt angekommen, bitte um Ersatz."),
        ("charset_raw_iso2022jp.eml", "ご注文の商品がまだ届いていません。確認をお願いします。"),
    ],
)
def test_charsets_are_detected_when_the_label_lies_or_is_missing(name: str, expected: str) -> None:
    m = load(name)
    assert m.text == expected
    assert "\ufffd" not in m.text and "\x1b" not in m.text


def test_raw_8bit_header_without_label_is_detected() -> None:
    assert load("charset_unlabelled_latin1.eml").sender_name == "Jürgen"


# ------------------------------------------------------------------ 14: attachments


def test_uuencoded_block_becomes_an_attachment() -> None:
    m = load("uuencoded.eml")
    assert m.text == "Here is the log.\n\nThanks, Uma"
    (att,) = m.attachments
    assert (att.filename, att.content_type) == ("crash.bin", "application/octet-stream")
    assert att.data == bytes(range(256)) * 3


def test_delivery_reports_and_attached_messages_are_kept() -> None:
    m = load("dsn_unmatched_full.eml")
    kinds = {a.content_type: a for a in m.attachments}
    assert set(kinds) == {"message/delivery-status", "message/rfc822"}
    assert b"Action: failed" in kinds["message/delivery-status"].data
    assert b"quote.pdf" in kinds["message/rfc822"].data
    relayed = load("dsn_relayed.eml")
    assert {a.content_type for a in relayed.attachments} == {
        "message/delivery-status", "text/rfc822-headers"}


def test_read_receipt_report_is_kept() -> None:
    m = load("read_receipt.eml")
    assert any(a.content_type == "message/disposition-notification" for a in m.attachments)


# ------------------------------------------------------------------ 16: From vs Reply-To


def test_from_is_the_sender_reply_to_travels_along() -> None:
    m = load("reply_to.eml")
    assert (m.sender, m.sender_name) == ("noreply@forms.example", "Web Forms")
    assert m.reply_to == "zoe@customer.test"
    same = parse_email(b"From: a@example.com\r\nReply-To: A@Example.com\r\nSubject: x\r\n\r\nb\r\n")
    assert same.reply_to is None  # Reply-To equal to From adds nothing


# ------------------------------------------------------------------ 8: what a mail says


def test_content_digest_ignores_the_route_but_not_the_sender_or_body() -> None:
    crlf = (CORPUS / "latin1.eml").read_bytes()
    lf = crlf.replace(b"\r\n", b"\n")
    relayed = b"Received: from mx by mx2; Tue, 4 Mar 2025 10:00:00 +0000\r\nReturn-Path: <x@y>\r\n" + crlf
    digests = {parse_email(raw).extra["content_digest"] for raw in (crlf, lf, relayed)}
    assert len(digests) == 1  # IMAP, an mbox and a forwarding hop: one mail
    other_body = crlf.replace("München".encode("latin-1"), b"Berlin")
    other_sender = crlf.replace(b"Juergen@Example.DE", b"mallory@example.net")
    assert parse_email(other_body).extra["content_digest"] not in digests
    assert parse_email(other_sender).extra["content_digest"] not in digests
