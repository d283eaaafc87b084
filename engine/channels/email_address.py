"""Sender addresses of inbound mail: the address always comes from the addr-spec.

RFC 2047 encoded words in a display name may decode to anything — commas, colons, ``@``, a
CR LF followed by a fake header. Decoding them *before* the address is parsed let a name
become the address (``=?UTF-8?Q?Jane_Doe_via_ceo@x.test?= <jane@acme.test>``) or break the
parse (``=?iso-8859-1?Q?M=FCller,=20Anna?= <anna@example.com>``). So the header is parsed
with every run of encoded words *shielded* behind an opaque placeholder atom; only the display
name is decoded afterwards, and control characters in it become spaces.

That keeps the common case on two regular expressions (no ``policy.default`` header objects,
which cost ~20× the compat32 parse). :func:`recover_address` is the best-effort fallback for
From lines real mail systems get wrong (``Test test@example.com``, ``MAILER-DAEMON (Mail
Delivery System)``, spaces in the local part); its result is marked unverified by the parser.
"""

from __future__ import annotations

import email.utils
import re
from typing import Any

from engine.channels.email_decode import ENCODED_RUN_RE, decode_bytes, decode_header_value

_PLACEHOLDER_RE = re.compile(r"\x00(\d+)\x00")
_EMAIL_RE = re.compile(r"^[^@\s<>\"(),;:\x00]+@[^@\s<>\"(),;:\x00]+$")
# the two everyday address forms, parsed without the (slow) general RFC 5322 parser
_SIMPLE_ADDR_RE = re.compile(
    r'^\s*(?:"([^"\\]*)"|([^"<>,;:@()\\]*?))\s*<([^<>@\s",;:()]+@[^<>@\s",;:()]+)>\s*$'
    r'|^\s*([^<>@\s",;:()]+@[^<>@\s",;:()]+)\s*$'
)
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
_CONTROL_BUT_NUL_RE = re.compile(r"[\x01-\x1f\x7f-\x9f\u2028\u2029]+")  # keeps placeholders
_WS_RE = re.compile(r"\s+")
# best-effort recovery: an addr-spec-looking token (a dotted domain), spaces around "@" allowed
_LOOSE_ADDR_RE = re.compile(
    r"([A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+)\s*@\s*([A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+)"
)
_ANGLE_RE = re.compile(r"<([^<>]*)>")
_DAEMON_NAME_RE = re.compile(r"^[\s\"'<(]*(mailer-daemon|postmaster)\b", re.I)


def _text(value: Any) -> str:
    """A header value as text with its structure intact: raw 8-bit bytes decoded, encoded
    words left as they are (they are shielded, not decoded, before parsing)."""
    text = str(value)  # a str is itself; a compat32 Header is its text
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:  # surrogate-escaped raw 8-bit bytes (compat32)
            text = decode_bytes(text.encode("utf-8", "surrogateescape"), None)
    return text


def _shield(text: str) -> tuple[str, list[str]]:
    """Replace each run of encoded words by a placeholder atom; return the runs."""
    runs: list[str] = []
    if "=?" not in text:
        return text, runs

    def put(m: re.Match[str]) -> str:
        runs.append(m.group(0))
        return f"\x00{len(runs) - 1}\x00"

    return ENCODED_RUN_RE.sub(put, text.replace("\x00", "")), runs


def clean_name(name: str, runs: list[str] | None = None) -> str:
    """A display name: placeholders decoded, controls (CR LF …) and quotes gone, one line."""
    if runs:
        name = _PLACEHOLDER_RE.sub(lambda m: decode_header_value(runs[int(m.group(1))]), name)
    elif "=?" in name:
        name = decode_header_value(name)
    if not name.isprintable() or "  " in name:  # the common name needs neither pass
        name = _WS_RE.sub(" ", _CONTROL_RE.sub(" ", name))
    return name.strip().strip("\"'").strip()


def _finish(name: str, addr: str, runs: list[str]) -> tuple[str, str]:
    addr = addr.strip().lower()
    if not _EMAIL_RE.match(addr):
        return "", ""
    name = clean_name(name, runs)
    if name.lower() == addr:
        name = ""
    return name, addr


def parse_address(value: Any) -> tuple[str, str]:
    """``(display name, lower-cased address)`` of the first address in a header, or ``("", "")``.

    The address is only ever taken from the addr-spec: encoded words cannot contribute to it.
    """
    if value is None:
        return "", ""
    shielded, runs = _shield(_text(value))
    m = _SIMPLE_ADDR_RE.match(shielded)
    if m:
        if m.group(4):
            return _finish("", m.group(4), runs)
        return _finish(m.group(1) if m.group(1) is not None else m.group(2), m.group(3), runs)
    for name, addr in email.utils.getaddresses([shielded]):
        if addr:
            return _finish(name, addr, runs)
    return "", ""


def recover_address(value: Any) -> tuple[str, str] | None:
    """Best effort for a From line no parser accepts: ``(name, address)``.

    ``Test test@example.com`` → ``("Test", "test@example.com")``; an address with spaces
    (``<john doe@example.com>``, ``anna @ example.com``) → the addr-spec around the ``@``;
    ``MAILER-DAEMON (Mail Delivery System)`` → ``("Mail Delivery System", "mailer-daemon")``:
    the caller adds a domain. ``None`` when no address can be found at all.
    """
    if value is None:
        return None
    shielded, runs = _shield(_text(value))
    text = _CONTROL_BUT_NUL_RE.sub(" ", shielded)
    angle = _ANGLE_RE.search(text)
    in_angle = angle is not None and "@" in angle.group(1)
    m = _LOOSE_ADDR_RE.search(angle.group(1) if angle is not None and in_angle else text)
    if m is not None:
        addr = f"{m.group(1).strip('.')}@{m.group(2)}".lower()
        if angle is not None and in_angle:
            rest = text[: angle.start()] + " " + text[angle.end():]
        else:
            rest = text[: m.start()] + " " + text[m.end():]
        name = clean_name(rest.replace("<", " ").replace(">", " ").strip(" ,;:()"), runs)
        return name, addr
    daemon = _DAEMON_NAME_RE.match(text)
    if daemon is not None:
        comment = re.search(r"\(([^()]*)\)", text)
        name = clean_name(comment.group(1), runs) if comment else ""
        return name, daemon.group(1).lower()
    return None
