"""Build an outgoing reply as MIME bytes — a pure function, no I/O.

Every mail we send carries our reply markers so the customer's answer threads back even when
their client drops headers: a Message-ID of ours (``<ticketty.T<ticket>.M<message>.<hash>@
<domain>>``, derived from the outbox idempotency key so a resend reuses it and the receiving
side deduplicates) and a ``[#N]`` token in the subject. Threading headers follow RFC 5322
§3.6.4. The body is multipart/alternative: the plain text and an HTML rendering of it with
every customer/agent character escaped.
"""

from __future__ import annotations

import hashlib
import html
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Protocol

from engine.channels.email_decode import normalize_msgid
from engine.channels.email_parse import SUBJECT_TOKEN_RE
from engine.channels.email_settings import EmailSettings
from engine.models import utcnow

_TOKEN_RE = re.compile(r"\{(full_name|first_name|last_name)\}")
_REPLY_PREFIX_RE = re.compile(r"^\s*(?:(?:re|aw|sv|vs|antw|r)(?:\[\d+\])?\s*:\s*)+", re.I)
_MAX_REFERENCES = 20


class _AttachmentLike(Protocol):
    filename: str
    content_type: str
    data: bytes | None


@dataclass
class ComposedEmail:
    """A ready-to-send mail: ``raw`` bytes plus what the outbox and store need to remember."""

    raw: bytes
    message_id: str
    subject: str
    from_header: str
    sender: str  # envelope MAIL FROM (the channel address)
    recipients: list[str] = field(default_factory=list)  # envelope RCPT TO


def _one_line(value: str) -> str:
    """Header text without CR/LF (customer text must never inject headers)."""
    return " ".join((value or "").split())


def split_name(full_name: str) -> tuple[str, str]:
    """``"Ana María López"`` → ``("Ana", "María López")``."""
    parts = full_name.split()
    if not parts:
        return "", ""
    return parts[0], " ".join(parts[1:])


def render_signature(template: str, agent_name: str, *, escape_html: bool = False) -> str:
    """Fill ``{full_name}``, ``{first_name}``, ``{last_name}``; other braces stay as written.

    ``escape_html``: the template is HTML, so the names are escaped before they go in.
    """
    if not template:
        return ""
    first, last = split_name(agent_name)
    values = {
        "full_name": " ".join(agent_name.split()),
        "first_name": first,
        "last_name": last,
    }
    if escape_html:
        values = {k: html.escape(v) for k, v in values.items()}
    return _TOKEN_RE.sub(lambda m: values[m.group(1)], template)


def from_display_name(settings: EmailSettings, agent_name: str | None) -> str:
    """Display name per ``from_name_mode``: ``"<agent> at <company>"`` or the company."""
    company = _one_line(settings.company_name)
    agent = _one_line(agent_name or "")
    if settings.from_name_mode == "agent_and_company" and agent:
        return f"{agent} at {company}" if company else agent
    return company or agent


def make_message_id(ticket_id: int, message_id: int, idempotency_key: str, domain: str) -> str:
    """Our deterministic Message-ID (same key → same id, so a resend is deduplicated)."""
    digest = hashlib.sha256(idempotency_key.encode("utf-8")).hexdigest()[:20]
    return f"<ticketty.T{int(ticket_id)}.M{int(message_id)}.{digest}@{domain}>"


def reply_subject(subject: str, ticket_id: int, *, is_reply: bool = True) -> str:
    """The one rule for the subject of everything we send on a ticket.

    A reply starts with ``Re: `` exactly once (any chain of ``Re:``/``AW:``/``SV:``… the
    customer's mail already had becomes that one prefix) — whether or not the mail it answers
    had a Message-ID — and carries our ``[#N]`` token once. ``is_reply=False`` (automatic
    notifications) only adds the token. The composer's preview calls this too, so it shows
    exactly what is sent.
    """
    s = _one_line(subject) or "(no subject)"
    if is_reply:
        s = "Re: " + (_REPLY_PREFIX_RE.sub("", s, count=1) or "(no subject)")
    m = SUBJECT_TOKEN_RE.search(s)
    if m is None or int(m.group(1)) != ticket_id:
        s = f"{s} [#{ticket_id}]"
    return s


def text_to_html(text: str) -> str:
    """Escape plain text into simple HTML paragraphs (line breaks kept)."""
    paras = re.split(r"\n\s*\n", (text or "").replace("\r\n", "\n").strip())
    out = []
    for p in paras:
        if p:
            out.append("<p>" + html.escape(p).replace("\n", "<br>\n") + "</p>")
    return "\n".join(out)


def thread_references(in_reply_to: str | None, references: Sequence[str]) -> list[str]:
    """References for a reply: the thread's ids then the parent, deduplicated, bounded.

    Keeps the first id (thread root) and the newest ones when the chain grows too long.
    """
    ids: list[str] = []
    for r in [*references, in_reply_to]:
        n = normalize_msgid(r)
        if n and n not in ids:
            ids.append(n)
    if len(ids) > _MAX_REFERENCES:
        ids = [ids[0], *ids[-(_MAX_REFERENCES - 1) :]]
    return ids


def compose_reply(
    settings: EmailSettings,
    *,
    to: str | Sequence[str],
    subject: str,
    text: str,
    ticket_id: int,
    message_id: int,
    idempotency_key: str,
    agent_name: str | None = None,
    in_reply_to: str | None = None,
    references: Sequence[str] = (),
    cc: Sequence[str] = (),
    attachments: Sequence[_AttachmentLike] = (),
    date: datetime | None = None,
    automatic: bool = False,
    is_reply: bool | None = None,
) -> ComposedEmail:
    """Build a reply (threading headers only when there is an ``in_reply_to`` to point at).

    ``text`` is the agent's plain text; the signature (with tokens filled) is appended to both
    the plain and the HTML alternative. ``automatic=True`` marks acknowledgements and
    notifications (``Auto-Submitted: auto-replied``, ``X-Auto-Response-Suppress``).
    The subject follows :func:`reply_subject`; ``is_reply`` defaults to ``not automatic``, so
    an agent's answer to a mail that had no Message-ID still says ``Re:``.
    """
    recipients = [to] if isinstance(to, str) else list(to)
    recipients = [_one_line(r) for r in recipients if r and r.strip()]
    if not recipients:
        raise ValueError("a reply needs at least one recipient")
    cc_list = [_one_line(c) for c in cc if c and c.strip()]

    mid = make_message_id(ticket_id, message_id, idempotency_key, settings.domain)
    refs = thread_references(in_reply_to, references)
    parent = normalize_msgid(in_reply_to)
    subj = reply_subject(subject, ticket_id, is_reply=not automatic if is_reply is None else is_reply)
    display = from_display_name(settings, agent_name)
    local, _, domain = settings.address.partition("@")
    from_addr = Address(display_name=display, username=local, domain=domain)

    sig = render_signature(settings.signature, agent_name or "").strip("\n")
    body = (text or "").replace("\r\n", "\n").rstrip()
    plain = f"{body}\n\n-- \n{sig}\n" if sig else f"{body}\n"
    html_body = text_to_html(body)
    html_sig = render_signature(settings.signature_html, agent_name or "", escape_html=True)
    if html_sig.strip():
        html_body += f'\n<div class="signature">{html_sig}</div>'
    elif sig:
        html_body += (
            '\n<div class="signature">-- <br>\n'
            + html.escape(sig).replace("\n", "<br>\n")
            + "</div>"
        )
    html_doc = (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8"></head><body>\n'
        f"{html_body}\n</body></html>\n"
    )

    msg = EmailMessage(policy=policy.SMTP)
    msg["From"] = from_addr
    msg["To"] = ", ".join(recipients)
    if cc_list:
        msg["Cc"] = ", ".join(cc_list)
    msg["Subject"] = subj
    msg["Date"] = format_datetime(date or utcnow())
    msg["Message-ID"] = mid
    if parent:
        msg["In-Reply-To"] = parent
    if refs:
        msg["References"] = " ".join(refs)
    if automatic:
        msg["Auto-Submitted"] = "auto-replied"
        msg["X-Auto-Response-Suppress"] = "OOF, AutoReply"
    msg["X-Ticketty-Ticket"] = str(int(ticket_id))
    msg.set_content(plain, subtype="plain", charset="utf-8", cte="quoted-printable")
    msg.add_alternative(html_doc, subtype="html", charset="utf-8", cte="quoted-printable")
    for att in attachments:
        if att.data is None:
            continue
        maintype, _, subtype = (att.content_type or "application/octet-stream").partition("/")
        msg.add_attachment(
            att.data,
            maintype=maintype or "application",
            subtype=subtype or "octet-stream",
            filename=_one_line(att.filename) or "attachment",
        )
    return ComposedEmail(
        raw=msg.as_bytes(),
        message_id=mid,
        subject=subj,
        from_header=str(msg["From"]),
        sender=settings.address,
        recipients=recipients + cc_list,
    )
