"""Charset labels and the fallback chain of decode_bytes, step by step
(engine/channels/email_charset.py; issue 17). The hypothesis properties in test_email_props.py
check that any bytes under any label decode without raising and that text round-trips; these
check which step answers: the label's codec, UTF-8, the label's language family, detection,
and the last resorts."""

from __future__ import annotations

import pytest

from engine.channels.email_charset import _japanese, _name, codec_for, decode_bytes, detect_charset


@pytest.mark.parametrize(
    ("label", "codec"),
    [
        (None, None), ("", None), ("  ", None), ("nope", None), ("x-no-such", None),
        ("utf-8", "utf-8"), (' "UTF-8" ', "utf-8"), ("'utf8'", "utf-8"), ("\tKOI8-R ", "koi8-r"),
        ("iso-8859-1", "cp1252"), ("latin1", "cp1252"), ("latin-1", "cp1252"),
        ("us-ascii", "cp1252"), ("ascii", "cp1252"), ("ANSI_X3.4-1968", "cp1252"),
        ("gb2312", "gb18030"), ("GBK", "gb18030"), ("x-gbk", "gb18030"),
        ("ks_c_5601-1987", "cp949"), ("euc-kr", "cp949"),
        ("Shift_JIS", "cp932"), ("shift-jis", "cp932"), ("sjis", "cp932"), ("x-sjis", "cp932"),
        ("iso-8859-8-i", "iso8859-8"), ("x-mac-roman", "mac-roman"),
        ("unicode-1-1-utf-7", "utf-7"), ("windows-874", "cp874"), ("iso-2022-jp", "iso2022_jp"),
        # labels that say "I do not know"
        ("unknown-8bit", None), ("x-unknown", None), ("unknown", None), ("default", None),
        ("charset", None), ("8bit", None), ('"8BIT"', None),
    ],
)
def test_codec_for_a_label(label: str | None, codec: str | None) -> None:
    assert codec_for(label) == codec


def test_ascii_is_ascii_unless_the_label_or_escapes_say_otherwise() -> None:
    assert decode_bytes(b"plain text", "koi8-r") == "plain text"
    assert decode_bytes(b"+AGEAYgBj-", "us-ascii") == "+AGEAYgBj-"
    # a 7-bit encoding whose ASCII bytes are not ASCII text
    assert decode_bytes(b"+AGEAYgBj-", "utf-7") == "abc"
    assert decode_bytes(b"+AGEAYgBj-", "unicode-1-1-utf-7") == "abc"
    jis = "日本語のテキスト".encode("iso2022_jp")
    assert jis.isascii()
    for label in ("us-ascii", None, "iso-2022-jp"):
        assert decode_bytes(jis, label) == "日本語のテキスト"
    # ESC without an ISO-2022-JP escape, or one that does not decode: left as it is
    assert decode_bytes(b"a\x1bb", None) == "a\x1bb"
    assert decode_bytes(b"\x1b$B!", None) == "\x1b$B!"


def test_the_label_then_utf8() -> None:
    assert decode_bytes("Grüße €".encode("iso-8859-15"), "iso-8859-15") == "Grüße €"
    assert decode_bytes("Grüße".encode("cp1252"), "windows-1252") == "Grüße"
    # UTF-8 labelled windows-1252, with a byte windows-1252 does not have (0x81)
    assert decode_bytes("Á".encode(), "windows-1252") == "Á"
    # UTF-8 Cyrillic labelled windows-1251 (И is D0 98; 0x98 is no windows-1251): UTF-8, before
    # the label's family, where KOI8-R would read anything
    assert decode_bytes("Иван".encode(), "windows-1251") == "Иван"
    # a label Python knows but that is no text encoding (LookupError on decode)
    assert decode_bytes("café".encode(), "base64") == "café"
    assert decode_bytes("café".encode(), "rot13") == "café"
    assert decode_bytes("café".encode(), None) == "café"


def test_the_labels_language_family_before_detection() -> None:
    """Kanji without kana, Shift_JIS labelled ISO-2022-JP: the family answers (detection alone
    would read these bytes as GB18030)."""
    kanji = "東京都港区".encode("cp932")
    assert detect_charset(kanji) == "gb18030"
    assert decode_bytes(kanji, "iso-2022-jp") == "東京都港区"
    assert decode_bytes("東京都港区".encode("euc_jp"), "iso-2022-jp") == "東京都港区"
    assert decode_bytes("Привет".encode("cp1251"), "iso-8859-5") != "Привет"  # the label wins


def test_detection_without_a_usable_label() -> None:
    text = "Привет, как дела? Всё хорошо."
    for label in (None, "x-unknown", "utf-8"):
        assert decode_bytes(text.encode("cp1251"), label) == text
    assert decode_bytes(b"caf\xe9 cr\xe8me br\xfbl\xe9e", None) == "café crème brûlée"
    kana = "ひらがなとカタカナのテキスト"
    assert decode_bytes(kana.encode("euc_jp"), None) == kana
    assert decode_bytes(kana.encode("cp932"), "utf-8") == kana


def test_japanese_needs_kana_in_a_fifth_of_the_wide_characters() -> None:
    assert _japanese("ひらがなとカタカナ".encode("euc_jp")) == "euc_jp"
    assert _japanese("ひらがなとカタカナ".encode("cp932")) == "cp932"
    assert _japanese("東京都港区の".encode("cp932")) == "cp932"  # 1 kana of 6
    assert _japanese("東京都港区東京都港区の".encode("cp932")) is None  # 1 of 11
    assert _japanese("東京都港区東京都港区のの".encode("cp932")) == "cp932"  # 2 of 12
    assert _japanese("abc".encode("cp932")) is None  # nothing wide
    assert _japanese("ÀÁÂÃ".encode("utf-16")) is None  # decodes to no kana
    assert _japanese(b"\xff\xff") is None  # neither decodes


def test_detect_charset_names() -> None:
    assert detect_charset("ひらがな".encode("euc_jp")) == "euc_jp"
    assert _name("UTF8") == "utf-8" and _name("nope") == "nope"


def test_only_a_japanese_designation_switches_to_iso_2022_jp() -> None:
    # ESC ( B designates ASCII: no Japanese in it, the text stays as written
    assert decode_bytes(b"x\x1b(By", None) == "x\x1b(By"
    assert decode_bytes(b"x\x1b(By", "us-ascii") == "x\x1b(By"


def test_utf8_before_the_labels_family() -> None:
    """UTF-8 Japanese labelled ISO-2022-JP: UTF-8 answers, not Shift_JIS mojibake."""
    assert decode_bytes("日本語のテキスト".encode(), "iso-2022-jp") == "日本語のテキスト"


def test_short_kana_is_japanese_not_gb18030() -> None:
    for text in ("はい", "テスト"):
        assert decode_bytes(text.encode("cp932"), None) == text
    assert _japanese(("あ" + "\u3000" * 9).encode("cp932")) is None  # ideographic spaces count
    # EUC-JP that is no Shift_JIS at all (一 is B0 EC): the second codec is still tried
    assert _japanese("一つのテスト".encode("euc_jp")) == "euc_jp"


@pytest.mark.parametrize(
    ("text", "charset"),
    [
        ("Příliš žluťoučký kůň úpěl ďábelské ódy", "iso8859_2"),  # not windows-1250
        ("Įlinkdama fechtuotojo špaga sublykčiojusi pragręžė", "cp1257"),
        ("Καλημέρα σας", "cp1253"),  # not windows-1251
        ("Съешь же ещё этих мягких французских булок, да выпей чаю", "koi8_r"),
        ("Съешь же ещё этих мягких французских булок, да выпей чаю", "cp1251"),
    ],
)
def test_detection_prefers_the_most_coherent_of_the_cleanest(text: str, charset: str) -> None:
    assert decode_bytes(text.encode(charset), None) == text


def test_nothing_detected_the_label_or_windows_1252_with_replacements() -> None:
    noise = bytes(range(0x80, 0x100))
    assert detect_charset(noise) is None
    assert decode_bytes(noise, "euc-kr") == noise.decode("cp949", errors="replace")
    assert decode_bytes(noise, None) == noise.decode("cp1252", errors="replace")
    assert decode_bytes(noise, "utf-8") == noise.decode("cp1252", errors="replace")
    assert decode_bytes(noise, "windows-1252") == noise.decode("cp1252", errors="replace")


def test_bad_bytes_past_the_detection_sample_never_raise() -> None:
    """Detection reads the first 64 KiB; a byte after it that the detected charset lacks
    becomes a replacement character instead of an exception."""
    text = "Привет, как дела? Всё хорошо, спасибо. " * 1700
    data = text.encode("cp1251")
    assert len(data) > 65536
    got = decode_bytes(data + b"\x98 end", None)
    assert got == text + "\ufffd end"
