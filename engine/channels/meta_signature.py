"""Meta's webhook checks, as pure functions (no I/O: tested and mutation-tested alone).

- :func:`signature_ok`: ``X-Hub-Signature-256: sha256=<hex>`` is HMAC-SHA256 of the **raw**
  body with the app secret, compared in constant time, before anything is parsed (Meta signs
  the bytes it sends; re-serialising parsed JSON would not match).
- :func:`handshake`: the ``GET`` verification (``hub.mode=subscribe``, ``hub.verify_token``,
  ``hub.challenge`` echoed back).
- :func:`sign`: the header Meta would send (the Graph stand-in signs its deliveries with it).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping


def sign(app_secret: str, body: bytes) -> str:
    """The ``X-Hub-Signature-256`` value Meta sends for ``body`` (the stand-in signs with it)."""
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


def signature_ok(app_secret: str, body: bytes, header: str | None) -> bool:
    """Whether ``header`` signs ``body`` with ``app_secret`` (constant-time; no secret: no)."""
    if not app_secret or not header or not header.startswith("sha256="):
        return False
    want = hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(want.encode(), header[len("sha256="):].strip().lower().encode())


def handshake(params: Mapping[str, str], verify_token: str) -> str | None:
    """The challenge to echo when Meta's verification request is right, else None (403)."""
    token = params.get("hub.verify_token", "")
    if params.get("hub.mode") != "subscribe" or not verify_token or not hmac.compare_digest(
            token.encode(), verify_token.encode()):
        return None
    return params.get("hub.challenge", "")
