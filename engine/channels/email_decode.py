"""Header decoding for inbound mail: RFC 2047 headers, Message-IDs, HTML → text.

Helpers :mod:`engine.channels.email_parse` builds on (and :mod:`engine.channels.email_compose`
uses for Message-IDs). Everything a customer wrote is treated as data: any charset is decoded
with a safe fallback chain (:mod:`engine.channels.email_charset`, whose ``decode_bytes`` is
re-exported here) and nothing here raises on malformed input. Message-IDs are kept in their
angle-bracket form (``<local@domain>``). Addresses are parsed in
:mod:`engine.channels.email_address`.
"""

from __future__ import annotations

import re
from email.header import decode_header
from typing import Any

from engine.channels.email_charset import decode_bytes

_MSGID_RE = re.compile(r"<[^<>\s]+>")
_WS_RE = re.compile(r"\s+")
_ENCODED_WORD = r"=\?[^?\s]+\?[bBqQ]\?[^?\s]*\?="
#: a run of encoded words (RFC 2047: the white space between adjacent ones is not text)
ENCODED_RUN_RE = re.compile(rf"{_ENCODED_WORD}(?:\s+{_ENCODED_WORD})*")

__all__ = ["decode_bytes", "decode_header_value", "html_to_text", "normalize_msgid",
           "parse_msgid_list"]


def decode_header_value(value: Any) -> str:
    """Decode a header value (RFC 2047 encoded words, raw 8-bit) to one unfolded line."""
    if value is None:
        return ""
    if isinstance(value, str) and not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:  # surrogate-escaped raw 8-bit bytes: decode them properly
            value = decode_bytes(value.encode("utf-8", "surrogateescape"), None)
        if "=?" in value:  # decode_header would escape the text around them (``\\u5c71``)
            value = ENCODED_RUN_RE.sub(lambda m: _decode_words(m.group(0)), value)
        return _WS_RE.sub(" ", value).strip()
    if isinstance(value, str) and "=?" not in value:
        if "\x1b" in value:  # raw ISO-2022-JP in a header, as old Japanese mailers write
            value = decode_bytes(value.encode("ascii"), None)
        return _WS_RE.sub(" ", value).strip()
    return _WS_RE.sub(" ", _decode_words(value)).strip()


def _decode_words(value: Any) -> str:
    """ASCII header text with encoded words (or a ``Header``) → text; as it is if malformed."""
    try:
        parts = decode_header(value)
    except Exception:  # a malformed encoded word: keep the text as it is
        return str(value)
    return "".join(data if isinstance(data, str) else decode_bytes(data, cs) for data, cs in parts)


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

