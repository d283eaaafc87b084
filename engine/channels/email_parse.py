"""Raw RFC 822 bytes → :class:`~engine.models.InboundMessage`.

The hot path uses the standard library parser with ``policy=compat32`` (about 20× faster than
``policy.default``: no header objects are built) and decodes only the few headers a ticket
needs. Everything a customer wrote is treated as data: any charset is decoded with a safe
fallback chain, HTML is turned into readable text only when there is no plain-text part.

Message-IDs are kept in their angle-bracket form (``<local@domain>``) everywhere: ``key``,
``in_reply_to``, ``references`` and ``extra["bounced_message_id"]``, the same form
:mod:`engine.channels.email_compose` returns for the mails we send.

Charset, header, address and Message-ID decoding lives in :mod:`engine.channels.email_decode`.
Forwarded-mail attribution lives in :mod:`engine.channels.email_forward`; it is re-exported
here so callers need one import.
"""

from __future__ import annotations

import email
import email.utils
import hashlib
import mimetypes
import re
from datetime import UTC, datetime, timedelta
from email import policy as _policy
from email.message import Message as _Msg
from typing import Any

from engine.channels.email_decode import (
    decode_bytes,
    decode_header_value,
    html_to_text,
    normalize_msgid,
    parse_address,
    parse_msgid_list,
)
from engine.models import InboundAttachment, InboundFlags, InboundMessage, utcnow

_COMPAT32 = _policy.compat32

#: Our own Message-IDs: ``<ticketty.T<ticket>.M<message>.<random>@<domain>>``.
OUR_MSGID_RE = re.compile(r"<ticketty\.T(\d+)\.M(\d+)\.[^@<>\s]+@[^<>\s]+>")
#: Ticket token we put in every subject: ``[#123]``.
SUBJECT_TOKEN_RE = re.compile(r"\[#(\d{1,12})\]")
_CHARSET_RE = re.compile(r'charset\s*=\s*"?([^";\s]+)', re.I)
_AUTO_SUBJECT_RE = re.compile(
    r"^\s*(automatic reply|auto(?:matic)?[- ]?(?:reply|response)|out of (?:the )?office|"
    r"abwesenheitsnotiz|r[ée]ponse automatique)\b",
    re.I,
)
_BOUNCE_SUBJECT_RE = re.compile(
    r"^\s*(undeliver(?:able|ed)|delivery status notification \(failure\)|"
    r"mail delivery (?:failed|failure)|returned mail|failure notice|delivery failure)",
    re.I,
)
_DAEMON_RE = re.compile(r"^(mailer-daemon|postmaster)@", re.I)
_HEADER_MSGID_LINE_RE = re.compile(r"^Message-ID:\s*(<[^<>\s]+>)", re.I | re.M)


class EmailParseError(ValueError):
    """A mail that cannot become a ticket message; ``reason`` says why (shown to admins)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason




# --------------------------------------------------------------------------- body walking


class _Body:
    __slots__ = ("ctype", "plain", "html", "attachments", "reports", "rfc822", "rfc822_headers")

    def __init__(self) -> None:
        self.ctype = "text/plain"  # of the top-level entity
        self.plain: list[str] = []
        self.html: list[str] = []
        self.attachments: list[InboundAttachment] = []
        self.reports: list[_Msg] = []  # message/delivery-status blocks
        self.rfc822: list[_Msg] = []  # embedded messages (forward-as-attachment, DSN original)
        self.rfc822_headers: list[str] = []  # text/rfc822-headers parts


def _ctype(value: str | None, default: str = "text/plain") -> str:
    """``get_content_type()`` from a raw header value, without a header rescan."""
    if not value or not isinstance(value, str):
        return default
    ctype = value.split(";", 1)[0].strip().lower()
    return ctype if ctype.count("/") == 1 else "text/plain"


def _headers(part: _Msg) -> dict[str, str]:
    h: dict[str, str] = {}
    for name, value in part.raw_items():
        h.setdefault(name.lower(), value)
    return h


def _part_text(part: _Msg, content_type: str | None = None) -> str:
    payload = part.get_payload(decode=True)
    if payload is None:
        payload = b""
    if content_type is None:
        content_type = part.get("Content-Type")
    m = _CHARSET_RE.search(content_type) if isinstance(content_type, str) else None
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


def _walk(part: _Msg, body: _Body, counter: list[int], ph: dict[str, str] | None = None) -> None:
    if ph is None:
        ph = _headers(part)
    default = "message/rfc822" if part.get_default_type() == "message/rfc822" else "text/plain"
    ctype = _ctype(ph.get("content-type"), default)
    maintype = ctype.partition("/")[0]
    if maintype == "multipart":
        sub = part.get_payload()
        if not isinstance(sub, list):  # broken multipart (no boundary found): treat as text
            text = _part_text(part)
            if text.strip():
                body.plain.append(text)
            return
        for p in sub:
            if isinstance(p, _Msg):
                _walk(p, body, counter)
        return
    if ctype == "message/disposition-notification":  # read receipt: no content worth keeping
        return
    counter[0] += 1
    if ctype == "message/delivery-status":
        payload = part.get_payload()
        if isinstance(payload, list):
            body.reports.extend(p for p in payload if isinstance(p, _Msg))
        return
    if ctype == "message/rfc822":
        payload = part.get_payload()
        inner = payload[0] if isinstance(payload, list) and payload else None
        if isinstance(inner, _Msg):
            body.rfc822.append(inner)
            subj = decode_header_value(inner.get("Subject")) or "message"
            safe = re.sub(r"[^\w .-]+", "_", subj)[:80].strip() or "message"
            body.attachments.append(
                InboundAttachment(
                    filename=f"{safe}.eml",
                    content_type="message/rfc822",
                    data=inner.as_bytes(policy=_COMPAT32),
                )
            )
        return
    if ctype == "text/rfc822-headers":
        body.rfc822_headers.append(_part_text(part))
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
            body.html.append(_part_text(part, ct_raw))
            return
        if ctype in ("text/plain", "text/enriched") or disposition == "inline" or not disposition:
            body.plain.append(_part_text(part, ct_raw))
            return
    data = part.get_payload(decode=True)
    if data is None:
        data = b""
    body.attachments.append(
        InboundAttachment(
            filename=_filename(part, counter[0], ctype), content_type=ctype, data=data
        )
    )


# --------------------------------------------------------------------------- classification


def _classify(
    msg: _Msg, h: dict[str, str], body: _Body, subject: str, from_addr: str
) -> tuple[InboundFlags, dict]:
    extra: dict[str, Any] = {}
    auto = False
    bounce = False
    list_mail = False

    auto_submitted = (h.get("auto-submitted") or "").strip().lower()
    if auto_submitted and not auto_submitted.startswith("no"):
        auto = True
        extra["auto_submitted"] = auto_submitted
    if "x-autoreply" in h or "x-autorespond" in h:
        auto = True
    precedence = (h.get("precedence") or "").strip().lower()
    if precedence in ("bulk", "junk", "list"):
        list_mail = True
    elif precedence == "auto_reply":
        auto = True
    if any(key.startswith("list-") for key in h):
        list_mail = True
    return_path = h.get("return-path")
    null_sender = return_path is not None and return_path.strip() in ("<>", "")
    if null_sender:
        auto = True
        extra["null_return_path"] = True
    suppress = h.get("x-auto-response-suppress")
    if suppress:  # a request not to auto-answer, not proof the mail is automated
        extra["auto_response_suppress"] = suppress.strip()
    if _AUTO_SUBJECT_RE.match(subject):
        auto = True

    ctype = body.ctype
    report_type = (
        (msg.get_param("report-type") or "").lower() if ctype == "multipart/report" else ""
    )
    if report_type == "disposition-notification":
        auto = True
        extra["read_receipt"] = True
    elif report_type == "delivery-status" or body.reports:
        auto = True
        actions = []
        for block in body.reports:
            action = (block.get("Action") or "").strip().lower()
            if not action:
                continue
            actions.append(action)
            extra.setdefault("bounce_recipients", []).append(
                (block.get("Final-Recipient") or "").partition(";")[2].strip().lower()
            )
            if block.get("Status"):
                extra.setdefault("bounce_status", block.get("Status").strip())
            if block.get("Diagnostic-Code"):
                extra.setdefault(
                    "bounce_diagnostic", decode_header_value(block.get("Diagnostic-Code"))
                )
        if actions:
            extra["bounce_action"] = actions[0]
        # delayed / delivered / relayed reports are notices, not failures
        bounce = not actions or "failed" in actions
    elif _BOUNCE_SUBJECT_RE.match(subject) and (
        _DAEMON_RE.match(from_addr) or h.get("x-failed-recipients") or null_sender
    ):
        auto = True
        bounce = True
        if h.get("x-failed-recipients"):
            extra["bounce_recipients"] = [
                a.strip().lower() for a in h["x-failed-recipients"].split(",") if a.strip()
            ]
    if bounce:
        parts = [", ".join(r for r in extra.get("bounce_recipients", []) if r)]
        parts.append(extra.get("bounce_diagnostic") or extra.get("bounce_status") or "")
        detail = " — ".join(p for p in parts if p)
        extra["bounce_reason"] = f"bounced: {detail}" if detail else f"bounced: {subject}"
        bounced = None
        for inner in body.rfc822:
            bounced = normalize_msgid(inner.get("Message-ID"))
            if bounced:
                break
        if not bounced:
            for text in body.rfc822_headers + body.plain:
                m = _HEADER_MSGID_LINE_RE.search(text)
                if m:
                    bounced = m.group(1)
                    break
        if bounced:
            extra["bounced_message_id"] = bounced
    elif _DAEMON_RE.match(from_addr):
        auto = True
    return InboundFlags(auto_reply=auto, bounce=bounce, list_mail=list_mail), extra


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

    Sender = the first valid Reply-To address, else From (else Sender). ``ticket_hint`` comes
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
    h: dict[str, str] = {}
    for name, value in msg.raw_items():  # one pass; msg.get() rescans every header each call
        h.setdefault(name.lower(), value)
    if not h:
        raise EmailParseError("no header section (the first line is not a header)")

    from_name, from_addr = parse_address(h.get("from"))
    if not from_addr:
        from_name, from_addr = parse_address(h.get("sender"))
    reply_name, reply_addr = parse_address(h.get("reply-to"))
    if not from_addr and not reply_addr:
        shown = decode_header_value(h.get("from"))[:200]
        raise EmailParseError(f"no valid sender address (From: {shown!r})")
    if reply_addr:
        sender, sender_name = (
            reply_addr,
            reply_name or (from_name if reply_addr == from_addr else ""),
        )
    else:
        sender, sender_name = from_addr, from_name

    subject = decode_header_value(h.get("subject"))
    message_id = normalize_msgid(h.get("message-id"))
    in_reply_to = normalize_msgid(h.get("in-reply-to"))
    references = parse_msgid_list(h.get("references"))

    body = _Body()
    body.ctype = _ctype(h.get("content-type"))
    _walk(msg, body, [0], h)
    text = "\n\n".join(t.strip("\r\n") for t in body.plain if t.strip())
    html = "\n".join(body.html) if body.html else None
    if not text and html:
        text = html_to_text(html)
    text = text.replace("\r\n", "\n")

    flags, extra = _classify(msg, h, body, subject, from_addr)
    if reply_addr and from_addr and reply_addr != from_addr:
        extra["from_address"] = from_addr
        extra["from_name"] = from_name
    elif from_addr:
        extra["from_address"] = from_addr
    if body.rfc822:
        inner_name, inner_addr = parse_address(body.rfc822[0].get("From"))
        if inner_addr:
            extra["attached_message_from"] = [inner_name, inner_addr]
            extra["attached_message_subject"] = decode_header_value(body.rfc822[0].get("Subject"))
    if not message_id:
        extra["missing_message_id"] = True

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
        sender=sender,
        sender_name=sender_name,
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
    )


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
