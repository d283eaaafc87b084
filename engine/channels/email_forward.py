"""Forwarded mail: credit it to the original sender when an agent forwarded it in.

Inline forwarding is not standardised; we recognise the separator lines and header blocks of
Gmail, Outlook (classic ``-----Original Message-----``, Live/365 underscores, 2013 and new
Outlook without a separator), Apple Mail, Thunderbird and Yahoo (patterns after
crisp-oss/email-forward-parser), plus forward-as-attachment (``message/rfc822``). The extracted
``From:`` is unauthenticated text, so :func:`attribute_forwarded` only re-attributes a mail
whose forwarder is trusted (an agent or the channel's own address).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from engine.models import InboundMessage

_SEPARATOR_RE = re.compile(
    r"^(?:-{3,}\s*(?:forwarded message|original message|weitergeleitete nachricht|"
    r"message transf[ée]r[ée]|mensaje reenviado|messaggio inoltrato|ursprüngliche nachricht|"
    r"message d'origine)\s*-{3,}"
    r"|_{20,}"
    r"|begin forwarded message:?"
    r"|anfang der weitergeleiteten nachricht:?"
    r"|d[ée]but du message r[ée]exp[ée]di[ée]\s*:?)$",
    re.I,
)
_FROM_RE = re.compile(r"^(?:from|von|de|da|van|fr[åa]n|fra|od|от)\s*:\s*(.+)$", re.I)
_DATE_RE = re.compile(r"^(?:sent|date|gesendet|datum|envoy[ée]|enviado|data|inviato)\s*:", re.I)
_SUBJECT_RE = re.compile(r"^(?:subject|betreff|objet|asunto|oggetto|assunto)\s*:\s*(.*)$", re.I)
_FWD_PREFIX_RE = re.compile(r"^\s*(?:(?:fwd?|fw|wg|tr|rv|vs|enc|doorst|i)\s*:\s*)+", re.I)
_ADDR_RE = re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]+@[\w-]+(?:\.[\w-]+)+")
# Yahoo runs the fields together on one line: cut the From value at the next label.
_NEXT_LABEL_RE = re.compile(r"(?:\bTo|\bSent|\bDate|\bSubject|\bCc)\s*:", re.I)
_SCAN_LINES = 14


def _clean(line: str) -> str:
    """A line without quoting (``> >``) and html2text emphasis (``**``)."""
    line = line.strip()
    while line.startswith(">"):
        line = line[1:].lstrip()
    return line.replace("**", "").replace("__", "").strip()


def _parse_from(value: str) -> tuple[str, str] | None:
    cut = _NEXT_LABEL_RE.search(value)
    m = _ADDR_RE.search(value)
    if m is None:
        return None
    if cut and cut.start() > m.end():
        value = value[: cut.start()]
    addr = m.group(0).lower().strip(".")
    name = value[: m.start()]
    name = re.sub(r"(?i)mailto:", "", name)
    name = name.strip().rstrip("<[(").strip().strip("\"'").strip()
    if name.lower() == addr:
        name = ""
    return name, addr


def strip_forward_prefix(subject: str) -> str:
    """``"Fwd: FW: Order 12"`` → ``"Order 12"``."""
    return _FWD_PREFIX_RE.sub("", subject).strip()


def find_forwarded_sender(text: str, subject: str = "") -> tuple[str, str, str] | None:
    """``(name, address, original subject)`` from the first forwarded block in ``text``.

    Returns ``None`` when no block is recognised. Separator-less Outlook blocks (``From:``
    followed closely by ``Sent:``/``Date:``) are only trusted when ``subject`` is a forward
    (``Fwd:``, ``FW:``, ``WG:`` …).
    """
    if not text:
        return None
    lines = text.splitlines()
    is_fwd_subject = bool(_FWD_PREFIX_RE.match(subject or ""))
    for i, raw in enumerate(lines):
        line = _clean(raw)
        if not line:
            continue
        start = None
        if _SEPARATOR_RE.match(line):
            start = i + 1
        elif is_fwd_subject and _FROM_RE.match(line):
            window = [_clean(x) for x in lines[i + 1 : i + 5]]
            if any(_DATE_RE.match(w) for w in window) or _DATE_RE.search(line):
                start = i
        if start is None:
            continue
        found = _scan_block(lines[start : start + _SCAN_LINES])
        if found:
            return found
    return None


def _scan_block(block: list[str]) -> tuple[str, str, str] | None:
    sender: tuple[str, str] | None = None
    orig_subject = ""
    for raw in block:
        line = _clean(raw)
        if not line:
            continue
        if sender is None:
            m = _FROM_RE.match(line)
            if m:
                sender = _parse_from(m.group(1))
                # Yahoo: "Subject:" may sit on the same line
                sm = re.search(r"(?i)\bsubject\s*:\s*(.*)$", m.group(1))
                if sm and not orig_subject:
                    orig_subject = _NEXT_LABEL_RE.split(sm.group(1))[0].strip()
                continue
        if not orig_subject:
            sm = _SUBJECT_RE.match(line)
            if sm:
                orig_subject = sm.group(1).strip()
    if sender is None:
        return None
    return sender[0], sender[1], orig_subject


def attribute_forwarded(
    msg: InboundMessage,
    *,
    use_original_sender: bool,
    trusted_addresses: Iterable[str],
) -> InboundMessage:
    """Credit a forwarded mail to its original sender, or return ``msg`` unchanged.

    Applies only when ``use_original_sender`` is on and the mail came from a trusted address
    (agents + the channel's own address(es)). The returned copy has ``sender``/``sender_name``
    of the original, the original subject (or the forward prefix stripped) and
    ``flags.forwarded_by`` = the forwarder's address, and no ``reply_to``.
    Forward-as-attachment is preferred over inline blocks since its headers are parsed, not
    guessed.
    """
    if not use_original_sender:
        return msg
    trusted = {a.strip().lower() for a in trusted_addresses if a}
    forwarder = str(msg.extra.get("from_address") or msg.sender).lower()
    if forwarder not in trusted and msg.sender.lower() not in trusted:
        return msg
    found: tuple[str, str, str] | None = None
    attached = msg.extra.get("attached_message_from")
    if attached and attached[1]:
        found = (attached[0], attached[1], msg.extra.get("attached_message_subject", ""))
    if found is None:
        found = find_forwarded_sender(msg.text, msg.subject)
    if found is None:
        return msg
    name, addr, orig_subject = found
    if addr in trusted:  # an agent forwarding our own mail: nothing to re-attribute
        return msg
    flags = msg.flags.model_copy(update={"forwarded_by": forwarder})
    extra = dict(msg.extra)
    extra["forwarded_subject"] = msg.subject
    return msg.model_copy(
        update={
            "sender": addr,
            "sender_name": name,
            "reply_to": None,  # the forwarder's Reply-To is not the original sender's
            "subject": orig_subject or strip_forward_prefix(msg.subject) or msg.subject,
            "flags": flags,
            "extra": extra,
        }
    )
