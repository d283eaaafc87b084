"""Charset and header decoding for inbound mail: bytes → text, RFC 2047 headers, addresses.

Helpers :mod:`engine.channels.email_parse` builds on (and :mod:`engine.channels.email_compose`
uses for Message-IDs). Everything a customer wrote is treated as data: any charset is decoded
with a safe fallback chain and nothing here raises on malformed input. Message-IDs are kept in
their angle-bracket form (``<local@domain>``).
"""

from __future__ import annotations

import codecs
import email.utils
import re
from email.header import decode_header
from typing import Any

_MSGID_RE = re.compile(r"<[^<>\s]+>")
_EMAIL_RE = re.compile(r"^[^@\s<>\"(),;:]+@[^@\s<>\"(),;:]+$")
_WS_RE = re.compile(r"\s+")
# the two everyday address forms, parsed without the (slow) general RFC 5322 parser
_SIMPLE_ADDR_RE = re.compile(
    r'^\s*(?:"([^"\\]*)"|([^"<>,;:@()\\]*?))\s*<([^<>@\s",;:()]+@[^<>@\s",;:()]+)>\s*$'
    r'|^\s*([^<>@\s",;:()]+@[^<>@\s",;:()]+)\s*$'
)

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
    "iso-8859-8-i": "iso-8859-8",
    "x-mac-roman": "mac_roman",
    "unicode-1-1-utf-7": "utf-7",
    "x-sjis": "shift_jis",
    "windows-874": "cp874",
}
_UNKNOWN_CHARSETS = {"", "unknown-8bit", "x-unknown", "unknown", "default", "charset", "8bit"}


def _codec(charset: str | None) -> str | None:
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
    """Decode ``data`` labelled ``charset``; never raises.

    The declared charset is tried strictly, then UTF-8, then windows-1252 with replacement
    (so a wrong or unknown label still yields readable text).
    """
    codec = _codec(charset)
    if codec is not None:
        try:
            return data.decode(codec)
        except (UnicodeDecodeError, LookupError):
            pass
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    if codec is not None and codec not in ("utf-8", "cp1252"):
        # a real multi-byte charset with a few bad bytes: keep the rest readable
        return data.decode(codec, errors="replace")
    return data.decode("cp1252", errors="replace")  # mislabelled 8-bit text is usually this


def decode_header_value(value: Any) -> str:
    """Decode a header value (RFC 2047 encoded words, raw 8-bit) to one unfolded line."""
    if value is None:
        return ""
    if isinstance(value, str) and "=?" not in value:
        if value.isascii():
            return _WS_RE.sub(" ", value).strip()
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:  # surrogate-escaped raw 8-bit bytes: decode them properly
            value = decode_bytes(value.encode("utf-8", "surrogateescape"), None)
        return _WS_RE.sub(" ", value).strip()
    try:
        parts = decode_header(value)
    except Exception:  # a malformed encoded word: keep the text as it is
        return _WS_RE.sub(" ", str(value)).strip()
    out = []
    for data, cs in parts:
        out.append(data if isinstance(data, str) else decode_bytes(data, cs))
    return _WS_RE.sub(" ", "".join(out)).strip()


def normalize_msgid(value: str | None) -> str | None:
    """The first ``<id>`` in a header value (adding brackets to a bare id), or ``None``."""
    if not value:
        return None
    m = _MSGID_RE.search(value)
    if m:
        return m.group(0)
    bare = value.strip().split()
    if bare and "@" in bare[0]:
        return f"<{bare[0].strip('<>')}>"
    return None


def parse_msgid_list(value: str | None) -> list[str]:
    """All ``<id>``s in a References-style header, in order, duplicates dropped."""
    if not value:
        return []
    ids = _MSGID_RE.findall(value)
    if not ids:
        ids = [f"<{t.strip('<>')}>" for t in value.split() if "@" in t]
    seen: set[str] = set()
    out = []
    for i in ids:
        if i not in seen:
            seen.add(i)
            out.append(i)
    return out


def parse_address(value: Any) -> tuple[str, str]:
    """``(display name, lower-cased address)`` of the first address in a header, or ``("", "")``."""
    if value is None:
        return "", ""
    raw = value if isinstance(value, str) and value.isascii() else decode_header_value(value)
    m = _SIMPLE_ADDR_RE.match(raw)
    if m:
        if m.group(4):
            name, addr = "", m.group(4)
        else:
            name, addr = (m.group(1) if m.group(1) is not None else m.group(2)), m.group(3)
    else:
        name, addr = email.utils.parseaddr(raw)
    addr = addr.strip().lower()
    if not _EMAIL_RE.match(addr):
        return "", ""
    name = decode_header_value(name).strip().strip('"').strip()
    if name.lower() == addr:
        name = ""
    return name, addr


def html_to_text(html: str) -> str:
    """Readable plain text from an HTML body (links kept, images dropped, no hard wrapping)."""
    import html2text  # imported lazily: only HTML-only mails pay for it

    h = html2text.HTML2Text()
    h.body_width = 0
    h.ignore_images = True
    h.ignore_emphasis = True
    h.unicode_snob = True
    h.single_line_break = False
    try:
        text = h.handle(html)
    except Exception:  # html2text on pathological input: strip tags crudely
        text = re.sub(r"<[^>]+>", " ", html)
    return re.sub(r"\n{3,}", "\n\n", text).strip()

