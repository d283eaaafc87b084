"""Sender addresses of inbound mail, function by function (engine/channels/email_address.py).

The whole-mail tests in test_email_parse.py reach these only through a few corpus files; here
each form of From line a real mail system writes is checked directly: the address always from
the addr-spec, the display name decoded only after parsing, and the best-effort recovery of
From lines no parser accepts (issue 17: mutation testing of the email channel's parsing).
"""

from __future__ import annotations

from email.header import Header

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.channels.email_address import clean_name, parse_address, recover_address

FAST = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _raw8bit(text: str) -> str:
    """A header as compat32 hands over raw 8-bit bytes: surrogate-escaped."""
    return text.encode("latin-1").decode("ascii", "surrogateescape")


# ----------------------------------------------------------------------------- parse_address


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, ("", "")),
        ("", ("", "")),
        ("Ann <a@x.test>", ("Ann", "a@x.test")),
        ("  Ann Lee   <ANN@X.Test>  ", ("Ann Lee", "ann@x.test")),
        ('"Doe, John" <JOHN@x.test>', ("Doe, John", "john@x.test")),
        ('"" <a@x.test>', ("", "a@x.test")),
        ("<a@x.test>", ("", "a@x.test")),
        ("  a@X.test  ", ("", "a@x.test")),
        # a name that only repeats the address is no name
        ('"a@x.test" <A@x.test>', ("", "a@x.test")),
        ("a@x.test <a@x.test>", ("", "a@x.test")),
        # the general parser: comments, lists, groups
        ("a@x.test (Ann)", ("Ann", "a@x.test")),
        ("Ann (c) <a@x.test>", ("Ann (c)", "a@x.test")),
        ("=?utf-8?q?J=C3=B6rg?= (IT) <j@x.test>", ("Jörg (IT)", "j@x.test")),
        ("j@x.test (=?utf-8?q?J=C3=B6rg?=)", ("Jörg", "j@x.test")),
        ("Ann <a@x.test>, Bob <b@x.test>", ("Ann", "a@x.test")),
        (", b@x.test", ("", "b@x.test")),
        ("undisclosed-recipients:;", ("", "")),
        ("Ann", ("", "")),
        # something the general parser accepts but that is no address
        ("Ann <a b@x.test>", ("", "")),
    ],
)
def test_parse_address_forms(value: str | None, expected: tuple[str, str]) -> None:
    assert parse_address(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        # an encoded name holding a comma must not split the header into two addresses
        ("=?iso-8859-1?Q?M=FCller,=20Anna?= <anna@example.com>", ("Müller, Anna", "anna@example.com")),
        # nor may one holding an address become the address
        ("=?UTF-8?Q?Jane_Doe_via_ceo@x.test?= <jane@acme.test>", ("Jane Doe via ceo@x.test", "jane@acme.test")),
        ("=?utf-8?q?a=40b.com?= <real@x.test>", ("a@b.com", "real@x.test")),
        # adjacent encoded words are one run: the space between them is not text
        ("=?utf-8?q?J=C3=B6?= =?utf-8?q?rg?= <j@x.test>", ("Jörg", "j@x.test")),
        # two runs with plain text between: each placeholder gets its own run back, in order
        ("=?utf-8?q?Ann?= and =?utf-8?q?Bob?= <ab@x.test>", ("Ann and Bob", "ab@x.test")),
        # CR LF and a fake header inside an encoded name become spaces
        ("=?utf-8?q?Ann=0D=0ABcc=3A_v@evil.test?= <a@x.test>", ("Ann Bcc: v@evil.test", "a@x.test")),
        # a NUL in the header cannot forge a placeholder (there is no run number 5)
        ("=?utf-8?q?Ann?= \x005\x00 <a@x.test>", ("Ann 5", "a@x.test")),
        ("=?utf-8?q?Ann?= \x000\x00 <a@x.test>", ("Ann 0", "a@x.test")),
        # an encoded word inside quotes is still decoded (as mailers mean it)
        ('"=?utf-8?q?Z=C3=B6e?=" <z@x.test>', ("Zöe", "z@x.test")),
    ],
)
def test_encoded_words_are_decoded_only_after_the_address_is_parsed(
    value: str, expected: tuple[str, str]
) -> None:
    assert parse_address(value) == expected


def test_raw_8bit_and_non_ascii_headers() -> None:
    assert parse_address(_raw8bit("Léa Dupré <lea@x.test>")) == ("Léa Dupré", "lea@x.test")
    assert parse_address("Léa Dupré <lea@x.test>") == ("Léa Dupré", "lea@x.test")
    assert parse_address("山田太郎 <taro@x.jp>") == ("山田太郎", "taro@x.jp")


def test_a_header_object_is_read_as_its_text() -> None:
    class HeaderLike:
        def __str__(self) -> str:
            return "Ann <A@x.test>"

    assert parse_address(HeaderLike()) == ("Ann", "a@x.test")
    assert parse_address(Header("Ann <a@x.test>")) == ("Ann", "a@x.test")


# ----------------------------------------------------------------------------- clean_name


@pytest.mark.parametrize(
    ("name", "runs", "expected"),
    [
        ("Ann", None, "Ann"),
        ('  "Ann Lee"  ', None, "Ann Lee"),
        ("'Ann'", None, "Ann"),
        (" ' Ann ' ", None, "Ann"),
        ("Ann  \t Lee", None, "Ann Lee"),
        ("Ann\r\nBcc: x", None, "Ann Bcc: x"),
        ("Ann\x85Lee\u2028Li\x7fX", None, "Ann Lee Li X"),
        ("Ann\x00Lee", None, "Ann Lee"),
        ("Ann  Lee", None, "Ann Lee"),
        # without runs, encoded words in the name itself are decoded
        ("=?utf-8?q?J=C3=B6rg?=", None, "Jörg"),
        ("=?utf-8?q?J=C3=B6rg?=", [], "Jörg"),
        ("=?utf-8?q?J=C3=B6rg=0D=0AX?=", None, "Jörg X"),
        # with runs, placeholders are replaced by their decoded run, in order
        ("\x000\x00 & \x001\x00", ["=?utf-8?q?Ann?=", "=?utf-8?q?B=C3=B6b?="], "Ann & Böb"),
        ("\x001\x00 & \x000\x00", ["=?utf-8?q?Ann?=", "=?utf-8?q?B=C3=B6b?="], "Böb & Ann"),
        ('"\x000\x00"', ["=?utf-8?q?=22Ann=22?="], "Ann"),
    ],
)
def test_clean_name(name: str, runs: list[str] | None, expected: str) -> None:
    assert clean_name(name, runs) == expected


# ----------------------------------------------------------------------------- recover_address


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("", None),
        ("just a name", None),
        ("a@b", None),  # no dotted domain: not an address
        ("x postmaster", None),  # the daemon name must come first
        ("Test test@example.com", ("Test", "test@example.com")),
        ("Ann, ann@x.test;", ("Ann", "ann@x.test")),
        ("(Ann) ann@x.test", ("Ann", "ann@x.test")),
        ("Ann\r\n ann@x.test", ("Ann", "ann@x.test")),
        ("Ann\x85Lee ann@x.test", ("Ann Lee", "ann@x.test")),
        ("anna @ example.com", ("", "anna@example.com")),
        ("ANNA@Example.COM", ("", "anna@example.com")),
        ("..a.@x.test", ("", "a@x.test")),
        ("XENA. @ x.test", ("", "xena@x.test")),
        ("Xena X xena @ x.test", ("Xena X", "xena@x.test")),
        # inside angle brackets: the addr-spec around the "@", the rest is the name
        ("<john doe@example.com>", ("", "doe@example.com")),
        ("Ann Lee <ann @ x.test>", ("Ann Lee", "ann@x.test")),
        ("Ann Lee <ann @ x.test> (work)", ("Ann Lee (work", "ann@x.test")),
        ("x@y.test <ann @ x.test>", ("x@y.test", "ann@x.test")),
        # angle brackets without an "@": the address is looked for in the whole line
        ("Ann <nothing> ann@x.test", ("Ann nothing", "ann@x.test")),
        ("Ann <> ann@x.test", ("Ann", "ann@x.test")),
        ("=?utf-8?q?J=C3=B6rg?= joerg @x.test", ("Jörg", "joerg@x.test")),
        ("=?utf-8?q?J=C3=B6rg?= <joerg @x.test>", ("Jörg", "joerg@x.test")),
        # daemons: by their bare name too (the caller adds a domain)
        ("Mail Delivery System <MAILER-DAEMON@mx.test>",
         ("Mail Delivery System", "mailer-daemon@mx.test")),
        ("postmaster @ mx.test", ("", "postmaster@mx.test")),
        ("mailer-daemonx@mx.test", ("", "mailer-daemonx@mx.test")),
        ("MAILER-DAEMON (Mail Delivery System)", ("Mail Delivery System", "mailer-daemon")),
        ("MAILER-DAEMON (Mail\r\nDelivery  System)", ("Mail Delivery System", "mailer-daemon")),
        ("mailer-daemon (=?utf-8?q?J=C3=B6rg?=)", ("Jörg", "mailer-daemon")),
        ("Postmaster", ("", "postmaster")),
        (' "Mailer-Daemon" <>', ("", "mailer-daemon")),
        ("<(postmaster", ("", "postmaster")),
        ("'postmaster' (a) (b)", ("a", "postmaster")),
        ("mailer-daemons", None),
    ],
)
def test_recover_address(value: str | None, expected: tuple[str, str] | None) -> None:
    assert recover_address(value) == expected


def test_recover_address_reads_raw_8bit_names() -> None:
    assert recover_address(_raw8bit("Léa lea@x.test")) == ("Léa", "lea@x.test")


# ----------------------------------------------------------------------------- properties

atom = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=10)
domain = st.builds(lambda parts, tld: ".".join([*parts, tld]),
                   st.lists(atom, min_size=1, max_size=3), st.sampled_from(["com", "test", "de"]))
address = st.builds(lambda local, dom: f"{local}@{dom}", atom, domain)
name_text = st.text(st.characters(categories=["Lu", "Ll", "Lo", "Nd", "Zs", "Po"]),
                    min_size=1, max_size=20)


@FAST
@given(name_text, address)
def test_any_encoded_name_decodes_to_its_one_line_text(name: str, addr: str) -> None:
    """Whatever an encoded display name holds (commas, "@", quotes), the address is the
    addr-spec and the name is the decoded text, on one line, without outer quotes."""
    encoded = Header(name, "utf-8").encode()
    got_name, got_addr = parse_address(f"{encoded} <{addr}>")
    assert got_addr == addr
    expected = " ".join(name.split()).strip("\"'").strip()
    assert got_name == ("" if expected.lower() == addr else expected)


@FAST
@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyz ", min_size=1, max_size=20)
       .filter(lambda s: s.strip()), address, st.sampled_from([" ", " <", "\t"]))
def test_recover_finds_the_address_after_a_plain_name(name: str, addr: str, sep: str) -> None:
    close = ">" if sep == " <" else ""
    got = recover_address(f"{name}{sep}{addr}{close}")
    assert got is not None
    assert got[1] == addr
    assert got[0] == " ".join(name.split())
