"""Property-based tests (hypothesis) of the mail parsing that sees the widest input: addresses,
encoded headers and charset decoding (issue 17). Each property holds for every input; the
example-based tests in test_email_parse.py pin the tricky cases found in real mail."""

from __future__ import annotations

import email.utils
from email.header import Header

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from engine.channels.email_address import parse_address, recover_address
from engine.channels.email_charset import decode_bytes
from engine.channels.email_decode import decode_header_value

FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

atom = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_", min_size=1, max_size=12) \
    .filter(lambda s: not s.startswith("-") and not s.endswith("-"))
local_part = st.builds(lambda parts: ".".join(parts), st.lists(atom, min_size=1, max_size=3))
domain = st.builds(lambda parts, tld: ".".join([*parts, tld]),
                   st.lists(atom, min_size=1, max_size=3), st.sampled_from(["com", "test", "de"]))
address = st.builds(lambda local, dom: f"{local}@{dom}", local_part, domain)
letters = st.characters(categories=["Lu", "Ll", "Lo", "Nd"])
words = st.lists(st.text(alphabet=letters, min_size=1, max_size=10), min_size=1, max_size=4)
display_name = st.builds(" ".join, words)


@FAST
@given(st.text())
@example("")
@example("<>")
@example("=?utf-8?q?a=40b.com?= <real@x.test>")
def test_parse_address_never_raises_and_gives_an_address_or_nothing(value):
    name, addr = parse_address(value)
    assert isinstance(name, str) and isinstance(addr, str)
    assert addr == "" or ("@" in addr and addr == addr.lower() and addr.strip() == addr)
    assert "\n" not in name and "\r" not in name


@FAST
@given(display_name, address, st.booleans())
def test_a_formatted_address_parses_back_to_its_name_and_address(name, addr, upper):
    shown = addr.upper() if upper else addr
    header = email.utils.formataddr((name, shown), charset="utf-8")
    assert parse_address(header) == (name, addr.lower())


@FAST
@given(st.text(alphabet=letters, min_size=1, max_size=12), address)
def test_an_encoded_word_never_becomes_the_address(name, addr):
    spoof = Header(f"{name} <ceo@bank.test>", "utf-8").encode()
    assert parse_address(f"{spoof} <{addr}>")[1] == addr


@FAST
@given(st.text(), st.none() | st.just("example.test"))
def test_recover_address_never_raises(value, _):
    got = recover_address(value)
    assert got is None or "@" in got[1] or got[1] in ("mailer-daemon", "postmaster")


@FAST
@given(display_name)
def test_encoded_header_words_decode_back(text):
    encoded = Header(text, "utf-8").encode()
    assert decode_header_value(encoded) == text


@FAST
@given(st.binary(max_size=300), st.none() | st.sampled_from(
    ["utf-8", "iso-8859-1", "windows-1252", "shift_jis", "iso-2022-jp", "gb2312", "koi8-r",
     "us-ascii", "utf-16", "x-unknown", "unicode-1-1-utf-7", "", "latin1\""]))
def test_decoding_any_bytes_under_any_label_never_raises(data, charset):
    assert isinstance(decode_bytes(data, charset), str)


@FAST
@example("¥", "euc-jp")
@example("a¥é", "euc-jp")
@example("¢", "shift_jis")
@given(st.text(st.characters(exclude_categories=["Cc", "Cs"]), max_size=200), st.sampled_from(
    ["utf-8", "iso-8859-1", "iso-8859-15", "windows-1252", "shift_jis", "euc-jp", "koi8-r",
     "gb18030", "big5", "utf-16"]))
def test_text_encoded_in_its_declared_charset_decodes_back(text, charset):
    try:
        data = text.encode(charset)
    except UnicodeEncodeError:
        return  # not representable in that charset: nothing to round-trip
    if data.decode("cp932" if charset == "shift_jis" else charset, "replace") != text:
        # no round trip in the codec itself: ¥ ‾ written as JIS-Roman 0x5C 0x7E (EUC-JP,
        # Shift_JIS), and ¢ £ ¬ ‖ − 〜 once Shift_JIS is read as Windows-31J (cp932)
        return
    # (no control characters: C1 controls are not text, so ISO-8859-1 is read as
    # windows-1252, as browsers do; ESC is left to the ISO-2022 detection)
    assert decode_bytes(data, charset) == text
