"""The forms channel's guards: a signed fill token, the honeypot, per-address rate limits.

The page carries a hidden ``_token``: a random nonce and the time the page was made, signed
with the channel's key (HMAC-SHA256; the key is made once and kept in the channel's state).
A submission must bring a token this channel signed, at least ``min_fill_seconds`` old and
at most a day — bots that post without loading the page, or fill it in a blink, are refused.
The nonce is the submission's idempotency key: the same page sent twice (a double click, a
refresh) is one ticket. The honeypot is an input people never see (:data:`HONEYPOT`); a bot
filling every input fills it too.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass

HONEYPOT = "_website"
TOKEN = "_token"
PAGE = "_page"
MAX_AGE = 86400.0


@dataclass(frozen=True)
class FillToken:
    nonce: str
    issued_at: float


def _mac(key: bytes, body: str) -> str:
    digest = hmac.new(key, body.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:18]).decode()


def issue(key: bytes, now: float, nonce: str | None = None) -> str:
    """A token for a page made at ``now`` (``nonce``: keep the one of a page shown again)."""
    body = f"{nonce or secrets.token_urlsafe(12)}.{now:.3f}"
    return f"{body}.{_mac(key, body)}"


def verify(key: bytes, token: str) -> FillToken | None:
    """The token's nonce and time if this key signed it, else None."""
    parts = (token or "").split(".")
    if len(parts) != 4:
        return None
    body = ".".join(parts[:3])
    if not hmac.compare_digest(_mac(key, body), parts[3]):
        return None
    try:
        return FillToken(parts[0], float(f"{parts[1]}.{parts[2]}"))
    except ValueError:
        return None


def new_key() -> str:
    return secrets.token_urlsafe(32)
