"""Raw RFC 822 bytes → :class:`~engine.models.InboundMessage`.

A pure function of the bytes (it can run in a worker thread or process). The hot path uses
the standard library parser with ``policy=compat32`` (about 20× faster than
``policy.default``: no header objects are built) and decodes only the few headers a ticket
needs. Everything a customer wrote is treated as data.

The pieces: charsets (:mod:`~engine.channels.email_charset`), headers and Message-IDs
(:mod:`~engine.channels.email_decode`), sender addresses (:mod:`~engine.channels.email_address`),
the body's text and attachments (:mod:`~engine.channels.email_body`), bounces, notices and
automatic mail (:mod:`~engine.channels.email_classify`). Forwarded-mail attribution lives in
:mod:`~engine.channels.email_forward`; it is re-exported here so callers need one import.

The sender is the From address (else Sender); Reply-To, when it differs, travels as
``reply_to`` — which of the two is the customer is the channel's ``customer_address``
setting, applied by ingest. A From line no parser accepts is recovered best-effort
(``extra["sender_unverified"]``); only a mail with no address at all is refused.

Message-IDs are kept in their angle-bracket form (``<local@domain>``) everywhere: ``key``,
``in_reply_to``, ``references`` and ``extra["bounced_message_id"]``, the same form
:mod:`engine.channels.email_compose` returns for the mails we send.
"""

from __future__ import annotations

import email
import email.errors
import email.utils
import hashlib
import re
from datetime import UTC, datetime, timedelta
from email import policy as _policy

from engine.channels.email_address import parse_address, recover_address
from engine.channels.email_body import Body, content_type, headers_of, walk
from engine.channels.email_classify import classify
from engine.channels.email_decode import decode_header_value, normalize_msgid, parse_msgid_list
from engine.models import InboundMessage, utcnow

_COMPAT32 = _policy.compat32

#: Our own Message-IDs: ``<ticketty.T<ticket>.M<message>.<random>@<domain>>``.
OUR_MSGID_RE = re.compile(r"<ticketty\.T(\d+)\.M(\d+)\.[^@<>\s]+@[^<>\s]+>")
#: Ticket token we put in every subject: ``[#123]``.
SUBJECT_TOKEN_RE = re.compile(r"\[#(\d{1,12})\]")
_HEADER_LINE_RE = re.compile(rb"^[!-9;-~]+[ \t]*:")
_TRAILING_WS = frozenset(b" \t\r\n")


class EmailParseError(ValueError):
    """A mail that cannot become a ticket message; ``reason`` says why (shown to admins)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason




def _received_at(value: str | None) -> datetime:
    if value:
        try:
            dt = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError, OverflowError):
            dt = None
        if dt is not None:
            if dt.tzinfo is None:
                dt = dt.replace(tzinfo=UTC)
            now = utcnow()
            if dt.year >= 1980 and dt <= now + timedelta(days=1):
                return dt.astimezone(UTC)
    return utcnow()


# --------------------------------------------------------------------------- entry point


def message_key(raw: bytes, message_id: str | None) -> str:
    """Idempotency key: the Message-ID, else a stable ``sha256:<hex>`` of the raw bytes."""
    return message_id or "sha256:" + hashlib.sha256(raw).hexdigest()


def parse_email(
    raw: bytes,
    *,
    channel_id: int | None = None,
    max_bytes: int | None = None,
) -> InboundMessage:
    """Parse one mail. Raises :class:`EmailParseError` when it cannot become a message.

    Sender = From (else Sender, else recovered best-effort, else Reply-To); ``reply_to`` = a
    different Reply-To address. ``ticket_hint`` comes
    from one of our Message-IDs in In-Reply-To/References (``extra["ticket_hint_source"] ==
    "message_id"``), else from a ``[#N]`` subject token (``"subject"``) — the latter is only a
    hint: ingest must check that the sender takes part in that ticket.
    """
    if not isinstance(raw, bytes | bytearray | memoryview):
        raise EmailParseError(f"expected bytes, got {type(raw).__name__}")
    raw = bytes(raw)
    if not raw.strip():
        raise EmailParseError("empty message")
    if max_bytes is not None and len(raw) > max_bytes:
        raise EmailParseError(f"message is {len(raw)} bytes, over the {max_bytes}-byte limit")
    try:
        return _parse(raw, channel_id)
    except EmailParseError:
        raise
    except Exception as exc:  # never let a parser bug stop a batch: quarantine it instead
        raise EmailParseError(f"unexpected parser failure: {type(exc).__name__}: {exc}") from exc


def _parse(raw: bytes, channel_id: int | None) -> InboundMessage:
    msg = email.message_from_bytes(raw, policy=_COMPAT32)
    if msg.defects and any(isinstance(d, email.errors.MissingHeaderBodySeparatorDefect)
                           for d in msg.defects):
        repaired = _repair_headers(raw)
        if repaired is not None:
            msg = email.message_from_bytes(repaired, policy=_COMPAT32)
    h = headers_of(msg)  # one pass; msg.get() rescans every header each call
    if not h:
        raise EmailParseError("no header section (the first line is not a header)")

    extra: dict = {"content_digest": content_digest(raw, h.get("from"))}
    reply_name, reply_addr = parse_address(h.get("reply-to"))
    sender = _sender(h, extra)
    if sender is None:
        if not reply_addr:
            shown = decode_header_value(h.get("from"))[:200]
            raise EmailParseError(f"no sender address at all (From: {shown!r})")
        sender = reply_name, reply_addr
    from_name, from_addr = sender
    reply_to = reply_addr if reply_addr and reply_addr != from_addr else None

    subject = decode_header_value(h.get("subject"))
    message_id = normalize_msgid(h.get("message-id"))
    in_reply_to = normalize_msgid(h.get("in-reply-to"))
    references = parse_msgid_list(h.get("references"))

    body = Body()
    body.ctype = content_type(h.get("content-type"))
    walk(msg, body, [0], h)
    text = body.text()
    html = "\n".join(body.html) if body.html else None

    flags, found = classify(msg, h, body, subject, from_addr)
    extra.update(found)
    extra["from_address"] = from_addr
    if reply_to:
        extra["from_name"] = from_name
        extra["reply_to_name"] = reply_name
    if body.rfc822:
        inner_name, inner_addr = parse_address(body.rfc822[0].get("From"))
        if inner_addr:
            extra["attached_message_from"] = [inner_name, inner_addr]
            extra["attached_message_subject"] = decode_header_value(body.rfc822[0].get("Subject"))
    if not message_id:
        extra["missing_message_id"] = True
    if in_reply_to is None and extra.get("notice_for"):
        in_reply_to = extra["notice_for"]  # a delivery notice joins the ticket it concerns

    ticket_hint = None
    for mid in ([in_reply_to] if in_reply_to else []) + references[::-1]:
        m = OUR_MSGID_RE.fullmatch(mid)
        if m:
            ticket_hint = int(m.group(1))
            extra["ticket_hint_source"] = "message_id"
            extra["our_message_id"] = mid
            break
    token = SUBJECT_TOKEN_RE.search(subject)
    if token:
        extra["subject_ticket"] = int(token.group(1))
        if ticket_hint is None:
            ticket_hint = int(token.group(1))
            extra["ticket_hint_source"] = "subject"

    return InboundMessage(
        channel_id=channel_id,
        key=message_key(raw, message_id),
        sender_kind="email",
        sender=from_addr,
        sender_name=from_name,
        reply_to=reply_to,
        subject=subject,
        text=text,
        html=html,
        attachments=body.attachments,
        in_reply_to=in_reply_to,
        references=references,
        ticket_hint=ticket_hint,
        received_at=_received_at(h.get("date")),
        flags=flags,
        extra=extra,
        raw=raw if flags.bounce else None,  # a bounce nobody can place is quarantined whole
    )


def content_digest(raw: bytes, from_value: str | None) -> str:
    """What a mail says, independent of its route and of this parser's version: the From line
    and the body bytes, trailing white space dropped. A re-delivery — IMAP, forwarding, an
    mbox — has the same digest; another mail reusing a Message-ID does not.

    Line ends are compared as CR LF (the wire form): a body without any CR (an mbox) is
    converted; the usual CR LF body is hashed in place, without a copy.
    """
    start, end = _header_end(raw)[1], len(raw)
    while end > start and raw[end - 1] in _TRAILING_WS:
        end -= 1
    h = hashlib.sha256(" ".join(str(from_value or "").split()).lower()
                       .encode("utf-8", "surrogateescape"))
    h.update(b"\x00")
    if raw.find(b"\r", start, end) == -1:
        h.update(raw[start:end].replace(b"\n", b"\r\n"))
    else:
        h.update(memoryview(raw)[start:end])
    return h.hexdigest()[:32]


def _header_end(raw: bytes) -> tuple[int, int]:
    """Where the header section ends and where the body starts (``len(raw)`` twice if no
    blank line). ``bytes.find`` rather than a regex: this runs for every mail."""
    crlf = raw.find(b"\r\n\r\n")
    lf = raw.find(b"\n\n", 0, len(raw) if crlf == -1 else crlf)
    if lf != -1:
        return lf, lf + 2
    if crlf != -1:
        return crlf, crlf + 4
    return len(raw), len(raw)


def _sender(h: dict[str, str], extra: dict) -> tuple[str, str] | None:
    """``(name, address)`` from From, else Sender; recovered best-effort (and marked
    unverified) when neither parses; ``None`` when there is no address at all."""
    for header in ("from", "sender"):
        name, addr = parse_address(h.get(header))
        if addr:
            return name, addr
    for header in ("from", "sender"):
        found = recover_address(h.get(header))
        if found is not None:
            name, addr = found
            if "@" not in addr:  # a bare MAILER-DAEMON
                addr = f"{addr}@{_domain_hint(h)}"
            extra["sender_unverified"] = True
            return name, addr
    return None


def _domain_hint(h: dict[str, str]) -> str:
    """A domain for a bare ``MAILER-DAEMON`` sender: its Message-ID's, else ``invalid``."""
    mid = normalize_msgid(h.get("message-id")) or ""
    domain = mid.strip("<>").rpartition("@")[2].lower()
    return domain if re.fullmatch(r"[a-z0-9.-]+\.[a-z0-9-]+", domain) else "invalid"


def _repair_headers(raw: bytes) -> bytes | None:
    """Indent header lines that continue the previous one without indentation.

    Some mailers fold a long header (``From: "Very Long\\nName" <a@b>``) without the leading
    white space; compat32 then ends the header section there and the rest of the headers land
    in the body. Only when real header lines follow the broken one — otherwise the sender just
    left out the blank line before the body, and nothing is changed (``None``).
    """
    start, _ = _header_end(raw)
    head, rest = raw[:start], raw[start:]
    lines = head.split(b"\n")
    broken = [i for i, line in enumerate(lines)
              if i and line.strip() and line[:1] not in (b" ", b"\t")
              and not _HEADER_LINE_RE.match(line)]
    if not broken or not any(_HEADER_LINE_RE.match(line) for line in lines[broken[0] + 1:]):
        return None
    for i in broken:
        lines[i] = b" " + lines[i]
    return b"\n".join(lines) + rest


from engine.channels.email_forward import attribute_forwarded, find_forwarded_sender  # noqa: E402

__all__ = [
    "EmailParseError",
    "OUR_MSGID_RE",
    "SUBJECT_TOKEN_RE",
    "attribute_forwarded",
    "find_forwarded_sender",
    "message_key",
    "parse_email",
]
