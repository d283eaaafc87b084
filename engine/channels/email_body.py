"""The body of an inbound mail: the text an agent reads, and every part kept as an attachment.

Text: every inline text part, in order, HTML converted to text — a plain signature part after
an HTML message shows both. In a ``multipart/alternative`` the plain part is preferred (it is
what the sender wrote, and costs no HTML conversion) unless it is empty, a placeholder ("this
message requires an HTML viewer") or clearly not the same content as the HTML; that check
looks up a sample of words from a cheap tag strip of the HTML in the plain text, so
html2text runs only for the alternative actually shown.

Attachments: every part that is not inline text is kept — files, images, embedded messages
(``message/rfc822``), delivery reports (``message/delivery-status``), returned headers
(``text/rfc822-headers``), read receipts — and uuencoded blocks inside a text body become
attachments of their own.
"""

from __future__ import annotations

import binascii
import html as _html
import mimetypes
import re
from email import policy as _policy
from email.message import Message as _Msg

from engine.channels.email_charset import decode_bytes
from engine.channels.email_decode import decode_header_value, html_to_text
from engine.models import InboundAttachment

_COMPAT32 = _policy.compat32
_CHARSET_RE = re.compile(r'charset\s*=\s*"?([^";\s]+)', re.I)
_UU_RE = re.compile(
    r"^begin[ \t]+[0-7]{3,4}[ \t]+(?P<name>[^\r\n]+?)[ \t]*\r?\n(?P<data>.*?)^end[ \t]*(?:\r?\n|$)",
    re.M | re.S,
)
_BLANK_RUN_RE = re.compile(r"(?:\r?\n[ \t]*){3,}")
_TAG_RE = re.compile(r"<[^>]*>")
_INVISIBLE_HTML_RE = re.compile(r"<(script|style|head|title)\b.*?</\1\s*>", re.I | re.S)
_PUNCTUATION = "\"'.,;:!?()[]{}<>«»“”‘’*_-–—|/"
#: share of the sampled HTML words the plain alternative must contain to count as the same
SAME_CONTENT = 0.5
SAMPLE = 24
HTML_SCAN = 65536


class Body:
    """What walking a mail's MIME tree collects."""

    __slots__ = ("ctype", "inline", "html", "attachments", "reports", "rfc822", "rfc822_headers")

    def __init__(self) -> None:
        self.ctype = "text/plain"  # of the top-level entity
        self.inline: list[tuple[str, str]] = []  # ("plain" | "html", text), in order
        self.html: list[str] = []  # every inline HTML part (the message's html field)
        self.attachments: list[InboundAttachment] = []
        self.reports: list[_Msg] = []  # message/delivery-status blocks
        self.rfc822: list[_Msg] = []  # embedded messages (forward-as-attachment, DSN original)
        self.rfc822_headers: list[str] = []  # text/rfc822-headers parts

    @property
    def plain(self) -> list[str]:
        """The inline plain-text parts (bounce parsing looks for the original's Message-ID)."""
        return [t for kind, t in self.inline if kind == "plain"]

    def text(self) -> str:
        """The text shown to agents: every chosen inline part in order, uuencode lifted out."""
        pieces = []
        for kind, part in self.inline:
            if kind == "html":
                part = html_to_text(part)
            elif "begin " in part:
                part = self._lift_uuencoded(part)
            part = part.strip("\r\n")
            if part.strip():
                pieces.append(part)
        return "\n\n".join(pieces).replace("\r\n", "\n")

    def _lift_uuencoded(self, text: str) -> str:
        def lift(m: re.Match[str]) -> str:
            data = _uudecode(m.group("data"))
            if data is None:
                return m.group(0)
            name = m.group("name").strip().replace("/", "_").replace("\\", "_") or "uuencoded.bin"
            ctype = mimetypes.guess_type(name)[0] or "application/octet-stream"
            self.attachments.append(InboundAttachment(filename=name, content_type=ctype, data=data))
            return ""

        lifted = _UU_RE.sub(lift, text)
        return _BLANK_RUN_RE.sub("\n\n", lifted) if lifted != text else text


def _uudecode(block: str) -> bytes | None:
    out = bytearray()
    for line in block.splitlines():
        if not line or line in ("`", " "):
            continue
        try:
            out += binascii.a2b_uu(line)
        except binascii.Error:
            # some encoders pad lines wrongly; decode only the bytes the length char announces
            try:
                n = (((ord(line[0]) - 32) & 63) * 4 + 5) // 3
                out += binascii.a2b_uu(line[:n])
            except (binascii.Error, IndexError):
                return None
    return bytes(out)


def content_type(value: str | None, default: str = "text/plain") -> str:
    """``get_content_type()`` from a raw header value, without a header rescan."""
    if not value or not isinstance(value, str):
        return default
    ctype = value.split(";", 1)[0].strip().lower()
    return ctype if ctype.count("/") == 1 else "text/plain"


def headers_of(part: _Msg) -> dict[str, str]:
    """Lower-cased header name → first value, in one pass (``get`` rescans every call)."""
    h: dict[str, str] = {}
    for name, value in part.raw_items():
        h.setdefault(name.lower(), value)
    return h


def _payload_bytes(part: _Msg) -> bytes:
    """A leaf part's decoded payload as bytes (b"" when there is none)."""
    payload = part.get_payload(decode=True)
    return payload if isinstance(payload, bytes) else b""


def _part_text(part: _Msg, ctype_header: str | None = None) -> str:
    payload = _payload_bytes(part)
    if ctype_header is None:
        ctype_header = part.get("Content-Type")
    m = _CHARSET_RE.search(ctype_header) if isinstance(ctype_header, str) else None
    return decode_bytes(payload, m.group(1) if m else None)


def _filename(part: _Msg, index: int, ctype: str) -> str:
    try:
        name = part.get_filename()
    except Exception:
        name = None
    if name:
        name = decode_header_value(name)
    if not name:
        ext = mimetypes.guess_extension(ctype) or ".bin"
        name = f"part-{index}{ext}"
    return name.replace("/", "_").replace("\\", "_").strip() or f"part-{index}"


def same_content(plain: str, html: str) -> bool:
    """Whether a plain alternative says what its HTML sibling says (see the module docstring).

    A sample of up to :data:`SAMPLE` words spread over the HTML's text is looked up in the
    plain text (substring search in C, no word sets built): an empty plain part, a
    placeholder or another text finds few of them.
    """
    plain = plain.lower()
    if not plain.strip():
        return False
    html = html[:HTML_SCAN]  # bounded work for huge HTML; its start says what it is about
    words = _html.unescape(_TAG_RE.sub(" ", _INVISIBLE_HTML_RE.sub(" ", html))).lower().split()
    step = max(1, len(words) // SAMPLE)
    sample = [w for w in (w.strip(_PUNCTUATION) for w in words[::step]) if len(w) > 1]
    if not sample:
        return True  # the HTML has no text of its own: the plain part loses nothing
    need, found = SAME_CONTENT * len(sample), 0
    for word in sample:
        if word in plain:
            found += 1
            if found >= need:
                return True
    return False


def _choose(choices: list[list[tuple[str, str]]]) -> list[tuple[str, str]]:
    """The alternative to show: plain unless empty, a placeholder or different content."""
    choices = [c for c in choices if c]
    if not choices:
        return []
    plain = next((c for c in choices if all(kind == "plain" for kind, _ in c)), None)
    rich = next((c for c in reversed(choices) if any(kind == "html" for kind, _ in c)), None)
    if plain is None or rich is None:
        return plain or rich or choices[-1]
    plain_text = "\n".join(t for _, t in plain)
    html = "\n".join(t for kind, t in rich if kind == "html")
    return plain if same_content(plain_text, html) else rich


def _attach(body: Body, filename: str, ctype: str, data: bytes) -> None:
    body.attachments.append(InboundAttachment(filename=filename, content_type=ctype, data=data))


def walk(part: _Msg, body: Body, counter: list[int], ph: dict[str, str] | None = None) -> None:
    """Collect ``part`` (and its children) into ``body``."""
    if ph is None:
        ph = headers_of(part)
    default = "message/rfc822" if part.get_default_type() == "message/rfc822" else "text/plain"
    ctype = content_type(ph.get("content-type"), default)
    maintype = ctype.partition("/")[0]
    if maintype == "multipart":
        sub = part.get_payload()
        if not isinstance(sub, list):  # broken multipart (no boundary found): treat as text
            text = _part_text(part)
            if text.strip():
                body.inline.append(("plain", text))
            return
        if ctype == "multipart/alternative":
            outer, choices = body.inline, []
            for p in sub:
                if isinstance(p, _Msg):
                    body.inline = []
                    walk(p, body, counter)
                    choices.append(body.inline)
            body.inline = outer
            outer.extend(_choose(choices))
            return
        for p in sub:
            if isinstance(p, _Msg):
                walk(p, body, counter)
        return
    counter[0] += 1
    if maintype == "message":
        _walk_message(part, ctype, body, counter)
        return
    if ctype == "text/rfc822-headers":
        body.rfc822_headers.append(_part_text(part))
        _attach(body, f"headers-{counter[0]}.txt", ctype, _payload_bytes(part))
        return
    disposition_raw = ph.get("content-disposition") or ""
    if not isinstance(disposition_raw, str):
        disposition_raw = str(disposition_raw)
    disposition = disposition_raw.split(";", 1)[0].strip().lower()
    ct_raw = ph.get("content-type") or ""
    has_name = "name" in str(ct_raw).lower() and part.get_param("name")
    if not has_name and "filename" in disposition_raw.lower():
        has_name = part.get_param("filename", header="content-disposition")
    if maintype == "text" and disposition != "attachment" and not has_name:
        if ctype == "text/html":
            html = _part_text(part, ct_raw)
            body.html.append(html)
            body.inline.append(("html", html))
            return
        if ctype in ("text/plain", "text/enriched") or disposition == "inline" or not disposition:
            body.inline.append(("plain", _part_text(part, ct_raw)))
            return
    _attach(body, _filename(part, counter[0], ctype), ctype, _payload_bytes(part))


def _walk_message(part: _Msg, ctype: str, body: Body, counter: list[int]) -> None:
    """``message/*`` parts: every one is kept as an attachment, in its own wire form."""
    payload = part.get_payload()
    if ctype == "message/delivery-status":
        blocks = [p for p in payload if isinstance(p, _Msg)] if isinstance(payload, list) else []
        body.reports.extend(blocks)
        data = b"".join(b.as_bytes(policy=_COMPAT32) for b in blocks) if blocks else _raw(part)
        _attach(body, f"delivery-status-{counter[0]}.txt", ctype, data)
        return
    if ctype == "message/rfc822":
        inner = payload[0] if isinstance(payload, list) and payload else None
        if isinstance(inner, _Msg):
            body.rfc822.append(inner)
            subj = decode_header_value(inner.get("Subject")) or "message"
            safe = re.sub(r"[^\w .-]+", "_", subj)[:80].strip() or "message"
            _attach(body, f"{safe}.eml", ctype, inner.as_bytes(policy=_COMPAT32))
            return
    name = "read-receipt" if ctype == "message/disposition-notification" else "message"
    _attach(body, f"{name}-{counter[0]}.txt", ctype, _raw(part))


def _raw(part: _Msg) -> bytes:
    """The body of a ``message/*`` part as bytes, whatever shape compat32 gave it."""
    payload = part.get_payload()
    if isinstance(payload, list):
        return b"".join(p.as_bytes(policy=_COMPAT32) for p in payload if isinstance(p, _Msg))
    if isinstance(payload, str):
        return payload.encode("utf-8", "surrogateescape")
    return bytes(payload or b"")
