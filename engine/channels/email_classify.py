"""What kind of mail this is: a person's, an automatic reply, list mail, a bounce, a notice.

- **Bounce**: a delivery report with a ``failed`` action, a non-RFC bounce (bounce subject from
  a mail daemon, with ``X-Failed-Recipients`` or a null Return-Path), and any other mail from
  ``MAILER-DAEMON``/``postmaster`` that is not a notice. Ingest marks the bounced message
  failed (``extra["bounced_message_id"]``) or quarantines the bounce with its raw bytes.
- **Notice**: a delivery report whose only actions are ``delayed``, ``delivered`` or
  ``relayed`` (or a daemon's delay warning without a report). Not a failure: it is automatic
  mail that joins the ticket of the message it concerns (``extra["notice_for"]``, which the
  parser turns into a threading reference) or becomes a ticket.
- **Automatic**: Auto-Submitted, X-Autoreply, Precedence, a null Return-Path, read receipts,
  out-of-office subjects. Never answered automatically, never reopens a ticket.
"""

from __future__ import annotations

import re
from email.message import Message as _Msg
from typing import Any

from engine.channels.email_body import Body
from engine.channels.email_decode import decode_header_value, normalize_msgid
from engine.models import InboundFlags

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
_NOTICE_SUBJECT_RE = re.compile(
    r"^\s*(warning:|delayed mail|delivery (?:status notification \((?:delay|success|relay)\)|"
    r"delayed|delay)|successful mail delivery|delivered:|relayed:)",
    re.I,
)
DAEMON_RE = re.compile(r"^(mailer-daemon|postmaster)@", re.I)
_HEADER_MSGID_LINE_RE = re.compile(r"^Message-ID:\s*(<[^<>\s]+>)", re.I | re.M)
_NOTICE_ACTIONS = {"delayed", "delivered", "relayed", "expanded"}


def _original_message_id(body: Body) -> str | None:
    """The Message-ID of the mail a report is about: attached message, returned headers, text."""
    for inner in body.rfc822:
        found = normalize_msgid(inner.get("Message-ID"))
        if found:
            return found
    for text in body.rfc822_headers + body.plain:
        m = _HEADER_MSGID_LINE_RE.search(text)
        if m:
            return m.group(1)
    return None


def _auto_headers(h: dict[str, str], subject: str, extra: dict[str, Any]) -> tuple[bool, bool, bool]:
    """``(automatic, list mail, null sender)`` from the headers alone."""
    auto = list_mail = False
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
    return auto, list_mail, null_sender


def _read_reports(body: Body, extra: dict[str, Any]) -> list[str]:
    """The actions of a delivery report's recipient blocks; details go into ``extra``."""
    actions = []
    for block in body.reports:
        action = (block.get("Action") or "").strip().lower()
        if not action:
            continue
        actions.append(action)
        extra.setdefault("bounce_recipients", []).append(
            (block.get("Final-Recipient") or "").partition(";")[2].strip().lower()
        )
        if status := block.get("Status"):
            extra.setdefault("bounce_status", status.strip())
        if block.get("Diagnostic-Code"):
            extra.setdefault("bounce_diagnostic", decode_header_value(block.get("Diagnostic-Code")))
    if actions:
        extra["bounce_action"] = actions[0]
    return actions


def classify(
    msg: _Msg, h: dict[str, str], body: Body, subject: str, from_addr: str
) -> tuple[InboundFlags, dict[str, Any]]:
    """Flags and details of one mail (see the module docstring). A bare ``MAILER-DAEMON``
    sender already has a domain here (the parser adds one), so ``DAEMON_RE`` sees it."""
    extra: dict[str, Any] = {}
    auto, list_mail, null_sender = _auto_headers(h, subject, extra)
    daemon = bool(DAEMON_RE.match(from_addr))
    bounce = notice = False

    report_type = (
        str(msg.get_param("report-type") or "").lower() if body.ctype == "multipart/report" else ""
    )
    if report_type == "disposition-notification":
        auto = True
        extra["read_receipt"] = True
    elif report_type == "delivery-status" or body.reports:
        auto = True
        actions = _read_reports(body, extra)
        if actions and all(a in _NOTICE_ACTIONS for a in actions):
            notice = True
        else:
            bounce = True
    elif _BOUNCE_SUBJECT_RE.match(subject) and (
        daemon or h.get("x-failed-recipients") or null_sender
    ):
        bounce = True
    elif daemon:
        notice = bool(_NOTICE_SUBJECT_RE.match(subject))
        bounce = not notice
    if bounce or notice:
        auto = True
        if h.get("x-failed-recipients") and "bounce_recipients" not in extra:
            extra["bounce_recipients"] = [
                a.strip().lower() for a in h["x-failed-recipients"].split(",") if a.strip()
            ]
        original = _original_message_id(body)
        if original:
            extra["bounced_message_id" if bounce else "notice_for"] = original
    if bounce:
        parts = [", ".join(r for r in extra.get("bounce_recipients", []) if r)]
        parts.append(extra.get("bounce_diagnostic") or extra.get("bounce_status") or "")
        detail = " — ".join(p for p in parts if p)
        extra["bounce_reason"] = f"bounced: {detail}" if detail else f"bounced: {subject}"
    if notice:
        extra["delivery_notice"] = extra.get("bounce_action") or "delayed"
    return InboundFlags(auto_reply=auto, bounce=bounce, list_mail=list_mail), extra
