"""OAuth2 access tokens for XOAUTH2 (Gmail / Office 365), shared by IMAP and SMTP.

Signing in (:mod:`engine.channels.email_signin`) grants a refresh token. It is exchanged at
the provider's token endpoint (configurable, so tests and on-premise identity providers can
point elsewhere) for a short-lived access token, cached
until shortly before it expires. A refresh failure raises :class:`OAuthError` with
``needs_reauth=True`` when the grant itself was refused — the channel must then be marked as
needing re-authorisation; it must not stop other channels.
"""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import Awaitable, Callable

from pydantic import SecretStr

from engine.channels.email_settings import EmailSettings
from engine.httpclient import httpx
from engine.vault import reveal

#: what a mailbox sign-in asks for: reading over IMAP and sending over SMTP, offline
SCOPES = {
    "gmail": "https://mail.google.com/",
    "office365": "https://outlook.office.com/IMAP.AccessAsUser.All "
    "https://outlook.office.com/SMTP.Send offline_access",
}


class OAuthError(Exception):
    """A token could not be obtained. ``needs_reauth``: the refresh token was rejected."""

    def __init__(self, reason: str, *, needs_reauth: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.needs_reauth = needs_reauth


def xoauth2_string(user: str, token: str) -> str:
    """The base64 SASL XOAUTH2 initial response (identical for Google and Microsoft)."""
    return base64.b64encode(f"user={user}\x01auth=Bearer {token}\x01\x01".encode()).decode("ascii")


class OAuthTokenProvider:
    """Caches and refreshes an access token; ``await provider()`` returns a valid one."""

    def __init__(self, settings: EmailSettings, *, timeout: float = 20.0,
                 on_rotate: Callable[[str], Awaitable[None]] | None = None) -> None:
        """``on_rotate(new_refresh_token)``: keep a refresh token the provider rotated (the
        old one may stop working at once, as Microsoft's do), so a restart still signs in."""
        self.settings = settings
        self.timeout = timeout
        self.on_rotate = on_rotate
        self._token: str | None = None
        self._expires_at = 0.0
        self._lock = asyncio.Lock()

    def invalidate(self) -> None:
        """Forget the cached token (after the server rejected it) so the next call refreshes."""
        self._token = None
        self._expires_at = 0.0

    async def __call__(self) -> str:
        async with self._lock:
            if self._token and time.monotonic() < self._expires_at - 60:
                return self._token
            await self._refresh()
            assert self._token is not None
            return self._token

    async def _refresh(self) -> None:
        s = self.settings
        url = s.token_url
        if not url:
            raise OAuthError("no OAuth token URL configured", needs_reauth=True)
        if not s.oauth_refresh_token:
            raise OAuthError("not signed in yet: sign in from the channel's edit screen or "
                             "with `ticketty channels signin NAME`", needs_reauth=True)
        data = {
            "grant_type": "refresh_token",
            "refresh_token": reveal(s.oauth_refresh_token),
            "client_id": s.oauth_client_id,
        }
        if s.oauth_client_secret:
            data["client_secret"] = reveal(s.oauth_client_secret)
        if s.oauth_provider == "office365":  # Microsoft wants the scopes on refresh
            data["scope"] = SCOPES["office365"]
        try:
            async with httpx.AsyncClient(timeout=self.timeout) as client:
                resp = await client.post(url, data=data)
        except httpx.HTTPError as exc:
            raise OAuthError(f"OAuth token endpoint unreachable ({url}): {exc}") from exc
        try:
            payload = resp.json()
        except ValueError:
            payload = {}
        if resp.status_code >= 400 or "access_token" not in payload:
            err = payload.get("error", "") if isinstance(payload, dict) else ""
            desc = payload.get("error_description", "") if isinstance(payload, dict) else ""
            reauth = err in (
                "invalid_grant",
                "invalid_client",
                "unauthorized_client",
            ) or resp.status_code in (400, 401)
            raise OAuthError(
                f"OAuth token refresh failed (HTTP {resp.status_code} {err} {desc})".strip(),
                needs_reauth=reauth,
            )
        self._token = str(payload["access_token"])
        self._expires_at = time.monotonic() + float(payload.get("expires_in", 3600))
        rotated = str(payload.get("refresh_token") or "")
        if rotated and rotated != reveal(s.oauth_refresh_token):  # the provider rotated it
            s.oauth_refresh_token = SecretStr(rotated)
            if self.on_rotate is not None:
                await self.on_rotate(rotated)
