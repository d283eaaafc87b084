"""Bytes of a mail part or header → text, whatever its charset label claims.

Labels lie: ISO-2022-JP parts that hold Shift_JIS, "utf-8" parts that hold Latin-1, 8-bit
text with no label at all, raw ISO-2022-JP escape sequences in a part labelled us-ascii.
:func:`decode_bytes` never raises and avoids replacement characters:

1. pure ASCII is ASCII (unless it carries ISO-2022 escapes, then it is ISO-2022-JP);
2. the declared charset, strictly (the common case: one ``bytes.decode``);
3. UTF-8, strictly (the most common mislabelling);
4. the other encodings of the declared charset's language family (ISO-2022-JP → Shift_JIS /
   EUC-JP, GB2312 → GB18030/Big5, KOI8-R → windows-1251 …), strictly;
5. detection with ``charset-normalizer`` over the encodings mail really uses, ties broken by
   how common each encoding is in mail (short samples give several equally "clean" answers);
6. windows-1252 with replacement, as a last resort.

Steps 3–6 run only for text that failed to decode, so the hot path pays nothing for them.
"""

from __future__ import annotations

import codecs
from functools import lru_cache

# Charsets that are commonly mislabelled or spelt in ways Python does not know.
_CHARSET_ALIASES = {
    "iso-8859-1": "cp1252",  # WHATWG: latin-1 labels are decoded as windows-1252
    "latin1": "cp1252",
    "latin-1": "cp1252",
    "us-ascii": "cp1252",
    "ascii": "cp1252",
    "ansi_x3.4-1968": "cp1252",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "ks_c_5601-1987": "cp949",
    "euc-kr": "cp949",
    "shift_jis": "cp932",  # Microsoft's superset: what Windows mailers actually send
    "shift-jis": "cp932",
    "sjis": "cp932",
    "x-sjis": "cp932",
    "iso-8859-8-i": "iso-8859-8",
    "x-mac-roman": "mac_roman",
    "unicode-1-1-utf-7": "utf-7",
    "windows-874": "cp874",
}
_UNKNOWN_CHARSETS = {"", "unknown-8bit", "x-unknown", "unknown", "default", "charset", "8bit"}

# Language families: when a part fails to decode with its label, its siblings are the
# likeliest truth (a Japanese mailer mislabels Japanese, not Cyrillic).
_FAMILIES: dict[str, tuple[str, ...]] = {
    "ja": ("cp932", "euc_jp", "iso2022_jp"),
    "zh": ("gb18030", "big5"),
    "ko": ("cp949",),
    "ru": ("cp1251", "koi8_r", "iso8859_5"),
}
_OTHER_MEMBERS = {
    "ja": ("shift_jis", "shift_jis_2004", "shift_jisx0213", "euc_jis_2004", "iso2022_jp_1",
           "iso2022_jp_2", "iso2022_jp_3", "iso2022_jp_ext"),
    "zh": ("gb2312", "gbk", "hz", "big5hkscs"),
    "ko": ("euc_kr", "johab", "iso2022_kr"),
    "ru": ("koi8_u", "mac_cyrillic", "cp866"),
}
#: codec name (as :func:`codecs.lookup` spells it) → language family
_FAMILY_OF = {codecs.lookup(c).name: fam for fam, members in _FAMILIES.items() for c in members}
_FAMILY_OF.update({codecs.lookup(c).name: fam for fam, members in _OTHER_MEMBERS.items()
                   for c in members})
#: codec name → the other members of its family to try, in order (``None``: no family)
_SIBLINGS: dict[str | None, tuple[str, ...]] = {
    codec: tuple(m for m in _FAMILIES[fam] if codecs.lookup(m).name != codec)
    for codec, fam in _FAMILY_OF.items()
}

#: Encodings detection may answer with, most common in mail first (the tie-break order).
_DETECTABLE = (
    "utf_8", "cp1252", "cp1250", "cp1251", "koi8_r", "gb18030", "cp932", "euc_jp", "big5",
    "cp949", "iso8859_15", "iso8859_2", "cp1257", "iso8859_7", "cp1253", "cp1254", "cp1256",
    "cp1255", "iso8859_5", "cp874",
)
_RANK = {codecs.lookup(codec).name: i for i, codec in enumerate(_DETECTABLE)}
_ISO2022_ESCAPES = (b"\x1b$B", b"\x1b$@", b"\x1b(J", b"\x1b$(D")
#: 7-bit encodings whose ASCII-only bytes do not mean ASCII text
_ASCII_UNSAFE = frozenset(codecs.lookup(c).name for c in (
    "utf-7", "hz", "utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le", "utf-32-be",
    "iso2022_jp", "iso2022_jp_1", "iso2022_jp_2", "iso2022_jp_3", "iso2022_jp_ext",
    "iso2022_kr"))


@lru_cache(maxsize=256)
def codec_for(charset: str | None) -> str | None:
    """A Python codec name for a MIME charset label, or ``None`` when unknown."""
    if not charset:
        return None
    label = charset.strip().strip("\"'").lower()
    if label in _UNKNOWN_CHARSETS:
        return None
    label = _CHARSET_ALIASES.get(label, label)
    try:
        return codecs.lookup(label).name
    except LookupError:
        return None


def decode_bytes(data: bytes, charset: str | None) -> str:
    """Decode ``data`` labelled ``charset`` (see the module docstring); never raises."""
    codec = codec_for(charset)
    if data.isascii() and codec not in _ASCII_UNSAFE:
        if b"\x1b" in data and any(e in data for e in _ISO2022_ESCAPES):
            try:  # raw ISO-2022-JP escapes in a part labelled us-ascii (or not at all)
                return data.decode("iso2022_jp")
            except UnicodeDecodeError:
                pass
        return data.decode("ascii")
    if codec is not None:
        try:
            return data.decode(codec)
        except (UnicodeDecodeError, LookupError):
            pass
    if codec != "utf-8":
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            pass
    return _recover(data, codec)


def _recover(data: bytes, codec: str | None) -> str:
    """Text that failed to decode with its label and as UTF-8: family, detection, cp1252."""
    for sibling in _SIBLINGS.get(codec, ()):
        try:
            return data.decode(sibling)
        except UnicodeDecodeError:
            pass
    detected = detect_charset(data)
    if detected is not None:
        return data.decode(detected, errors="replace")
    if codec is not None and codec not in ("utf-8", "cp1252"):
        # a real multi-byte charset with a few bad bytes: keep the rest readable
        return data.decode(codec, errors="replace")
    return data.decode("cp1252", errors="replace")  # mislabelled 8-bit text is usually this


def detect_charset(data: bytes) -> str | None:
    """The likeliest codec for ``data`` by ``charset-normalizer``, or ``None``.

    Its best guess on a short sample is often one of several decodings it scores as equally
    clean (Latin-1 text as windows-1250, Shift_JIS as CP949, KOI8-R as windows-1255); among the
    candidates within a small margin of the cleanest we take the most coherent, then the one
    most common in mail (:data:`_DETECTABLE` order).
    """
    from charset_normalizer import from_bytes  # lazily: only undecodable text pays for it

    japanese = _japanese(data)
    if japanese is not None:
        return japanese
    try:
        results = list(from_bytes(data[:65536], cp_isolation=list(_DETECTABLE)))
    except Exception:  # the detector must never stop a mail from being read
        return None
    if not results:
        return None
    cleanest = min(r.chaos for r in results)
    close = [r for r in results if r.chaos <= cleanest + 0.1]
    best = min(close, key=lambda r: (-round(r.coherence, 1), _RANK.get(_name(r.encoding), 99)))
    return best.encoding


def _japanese(data: bytes) -> str | None:
    """Shift_JIS or EUC-JP when the decoded text is clearly Japanese (kana).

    Kana (U+3040–U+30FF) run through every Japanese sentence and almost never come out of
    another encoding read by mistake, while statistical detection on a short Japanese sample
    often answers GB18030 or CP949.
    """
    for codec in ("cp932", "euc_jp"):
        try:
            text = data.decode(codec)
        except UnicodeDecodeError:
            continue
        wide = [ch for ch in text if ord(ch) > 0x2FFF]
        kana = sum(1 for ch in wide if 0x3040 <= ord(ch) <= 0x30FF)
        if wide and kana >= max(1, len(wide) // 5):
            return codec
    return None


def _name(encoding: str) -> str:
    try:
        return codecs.lookup(encoding).name
    except LookupError:
        return encoding
