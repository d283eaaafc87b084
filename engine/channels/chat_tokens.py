"""Visitor tokens: who a browser is, signed so nobody can claim another visitor's chats.

A token is ``<visitor id>.<signature>``: the id is random (``v`` + 22 URL-safe characters),
the signature an HMAC-SHA256 of the id under the channel's ``visitor_secret`` (sealed in the
vault with the other secrets). The widget keeps the token in the browser's localStorage, so a
returning visitor sees their history and continues the same conversation. Nothing else is in
it: the conversation and the contact live in the store, keyed by the visitor id.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets

_ID = re.compile(r"v[A-Za-z0-9_-]{22}")


def new_visitor_id() -> str:
    """A fresh visitor id (128 random bits: 16 bytes are always 22 URL-safe characters)."""
    return "v" + secrets.token_urlsafe(16)


def is_visitor_id(value: str) -> bool:
    """Whether ``value`` is exactly a visitor id (all of it: ``$`` would let a newline follow)."""
    return bool(_ID.fullmatch(value or ""))


def _mac(secret: str, visitor: str) -> str:
    digest = hmac.new(secret.encode(), b"ticketty-visitor:" + visitor.encode(),
                      hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def sign(secret: str, visitor: str) -> str:
    """The token for ``visitor``."""
    return f"{visitor}.{_mac(secret, visitor)}"


def verify(secret: str, token: str | None) -> str | None:
    """The visitor id a token proves, or None (missing, malformed or forged)."""
    if not token or len(token) > 200:
        return None
    visitor, _, mac = token.partition(".")
    if not is_visitor_id(visitor) or not secret:
        return None
    return visitor if hmac.compare_digest(mac, _mac(secret, visitor)) else None
