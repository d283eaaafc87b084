"""Header values, Message-IDs and HTML bodies as text (engine/channels/email_decode.py; issue 17).
Whole mails reach these through test_email_parse.py; here each rule is checked directly."""

from __future__ import annotations

from email.header import Header

from engine.channels.email_decode import (
    decode_header_value,
    html_to_text,
    normalize_msgid,
    parse_msgid_list,
)


def test_header_values() -> None:
    assert decode_header_value(None) == ""
    assert decode_header_value("  a \r\n\tb  ") == "a b"
    assert decode_header_value(Header("Grüße aus München", "utf-8")) == "Grüße aus München"
    # the encoded word's own charset, not a guess (short windows-1251 reads as windows-1252)
    assert decode_header_value("=?windows-1251?q?=CF=F0=E8?=") == "При"
    assert decode_header_value("=?iso-8859-2?q?=BB=BE?=") == "ťž"
    # a malformed encoded word the stdlib refuses: the text as written
    assert decode_header_value("=?utf-8?b?a?=") == "=?utf-8?b?a?="
    # raw ISO-2022-JP in a header, as old Japanese mailers write
    assert decode_header_value("\x1b$B$3$s$K$A$O\x1b(B") == "こんにちは"
    assert decode_header_value("\x1b$B$3$s$K$A$O\x1b(B =?utf-8?q?!?=") == "こんにちは !"


def test_message_ids() -> None:
    assert normalize_msgid(None) is None and normalize_msgid("") is None
    assert normalize_msgid("   ") is None
    assert normalize_msgid("no-at-sign") is None
    assert normalize_msgid("junk <a@x.test> <b@x.test>") == "<a@x.test>"
    assert normalize_msgid(" a@x.test trailing") == "<a@x.test>"
    assert normalize_msgid("<abc@x.test") == "<abc@x.test>"  # unclosed
    assert normalize_msgid("X1@x.test>") == "<X1@x.test>"


def test_reference_lists() -> None:
    assert parse_msgid_list(None) == [] and parse_msgid_list("") == []
    assert parse_msgid_list("<a@x> <b@y> <a@x>") == ["<a@x>", "<b@y>"]
    assert parse_msgid_list("<a@x>,<b@y>") == ["<a@x>", "<b@y>"]
    # no bracketed id at all: the bare tokens with an "@", brackets trimmed
    assert parse_msgid_list("a@x junk b@y a@x") == ["<a@x>", "<b@y>"]
    assert parse_msgid_list("<a@x X@y>") == ["<a@x>", "<X@y>"]
    assert parse_msgid_list("no ids here") == []


def test_html_as_text() -> None:
    text = html_to_text('<p>Hi <b>there</b> <img src="x.png" alt="logo"></p>'
                        "<p>&eacute;t&eacute; &mdash; <a href='https://s.test/t'>link</a></p>"
                        "<p>" + "word " * 40 + "</p>")
    assert text.startswith("Hi there\n\nété — [link](https://s.test/t)\n\nword word")
    assert "logo" not in text and "x.png" not in text  # images dropped
    assert "\n" not in text.split("\n\n")[2]  # no hard wrapping
    gaps = html_to_text("<p>a</p><br><br><br><br><p>b</p>")
    assert gaps.startswith("a\n\n") and gaps.endswith("\n\nb") and "\n\n\n" not in gaps
