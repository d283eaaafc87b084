"""A local OAuth 2.0 provider standing in for Google and Microsoft (tests, demo, trials).

It speaks the documented grants ticketty's sign-in uses, over real HTTP in the caller's event
loop, so production code reaches it through httpx and the configurable ``oauth_*_url``
settings — never through a test seam:

- device authorization (RFC 8628, Microsoft's device-code flow): ``POST /devicecode`` hands out
  a device code and a user code; the user "signs in" by opening ``GET /device?user_code=…``
  (:meth:`OAuthStandIn.approve` does the same); ``POST /token`` with the device-code grant
  answers ``authorization_pending`` / ``slow_down`` / ``access_denied`` / ``expired_token``
  until then;
- authorization code with PKCE (RFC 6749 + RFC 7636, Google's loopback flow):
  ``GET /authorize`` signs the user in at once (or refuses, ``approve_browser=False``) and
  redirects to the loopback ``redirect_uri`` with ``code`` and ``state``; ``POST /token``
  checks the code, the redirect URI and the S256 verifier;
- refresh token: ``POST /token`` trades a refresh token for an access token
  (``invalid_grant`` once :meth:`OAuthStandIn.revoke` was called).

Access tokens it issued can be checked with :meth:`OAuthStandIn.access_token_valid` — what an
SMTP or IMAP server would ask the real provider. Run it alone with
``python -m engine.sandbox.oauth`` to try ``ticketty channels signin`` by hand.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from engine.sandbox.stream_server import StreamStandIn, answer, read_request


@dataclass
class _DeviceGrant:
    client_id: str
    scope: str
    user_code: str
    expires_at: float
    approved: bool | None = None  # None: the user has not answered yet
    last_poll: float = 0.0


@dataclass
class _CodeGrant:
    client_id: str
    redirect_uri: str
    challenge: str
    scope: str


@dataclass
class OAuthStandIn(StreamStandIn):
    """One provider with one registered client. ``start()`` binds; URLs are then known."""

    host: str = "127.0.0.1"
    port: int = 0
    client_id: str = "ticketty-test-client"
    client_secret: str = ""  # required at the token endpoint when set (Google-style)
    user: str = "help@acme.test"
    interval: float = 1.0  # seconds the device flow asks clients to wait between polls
    device_ttl: int = 600
    access_ttl: int = 3600
    approve_browser: bool = True  # the browser sign-in succeeds (False: the user refuses)
    rotate_refresh: bool = False  # a refresh answers a new refresh token; the old one dies
    requests: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    _devices: dict[str, _DeviceGrant] = field(default_factory=dict)
    _codes: dict[str, _CodeGrant] = field(default_factory=dict)
    _refresh: dict[str, str] = field(default_factory=dict)  # refresh token → scope
    _access: dict[str, float] = field(default_factory=dict)  # access token → expiry
    _revoked: set[str] = field(default_factory=set)
    _server: asyncio.base_events.Server | None = None

    # ------------------------------------------------------------------ addresses
    @property
    def token_url(self) -> str:
        return f"{self.base_url}/token"

    @property
    def device_url(self) -> str:
        return f"{self.base_url}/devicecode"

    @property
    def authorize_url(self) -> str:
        return f"{self.base_url}/authorize"

    @property
    def verification_url(self) -> str:
        return f"{self.base_url}/device"

    def settings(self) -> dict[str, str]:
        """The ``oauth_*`` channel settings that point a channel at this stand-in."""
        return {"oauth_client_id": self.client_id, "oauth_client_secret": self.client_secret,
                "oauth_token_url": self.token_url, "oauth_device_url": self.device_url,
                "oauth_authorize_url": self.authorize_url}

    # ------------------------------------------------------------------ the "user"
    def approve(self, user_code: str, approved: bool = True) -> None:
        """The user signs in (or refuses) on the verification page with this code."""
        for grant in self._devices.values():
            if grant.user_code == user_code:
                grant.approved = approved
                return
        raise KeyError(f"no pending sign-in with user code {user_code!r}")

    def revoke(self, refresh_token: str) -> None:
        self._revoked.add(refresh_token)

    def access_token_valid(self, token: str) -> bool:
        return self._access.get(token, 0) > time.time()

    @property
    def refresh_tokens(self) -> list[str]:
        """Refresh tokens issued so far (oldest first)."""
        return list(self._refresh)

    # ------------------------------------------------------------------ HTTP
    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            method, url, _headers, body = await read_request(reader)
            params = dict(parse_qsl(url.query))
            if method == "POST":
                params.update(parse_qsl(body.decode("utf-8", "replace")))
            self.requests.append((method, url.path, params))
            status, extra, payload = self._route(method, url.path, params)
        except (asyncio.IncompleteReadError, TimeoutError, ValueError):
            status, extra, payload = 400, {}, {"error": "invalid_request"}
        await answer(writer, _response(status, extra, payload))

    def _route(self, method: str, path: str, p: dict[str, str]
               ) -> tuple[int, dict[str, str], Any]:
        if method == "POST" and path == "/devicecode":
            return self._device_authorization(p)
        if method == "GET" and path == "/device":
            return self._verification_page(p)
        if method == "GET" and path == "/authorize":
            return self._authorize(p)
        if method == "POST" and path == "/token":
            return self._token(p)
        return 404, {}, {"error": "not_found"}

    def _device_authorization(self, p: dict[str, str]) -> tuple[int, dict[str, str], Any]:
        if p.get("client_id") != self.client_id:
            return 400, {}, {"error": "invalid_client",
                             "error_description": "unknown client_id"}
        device_code = secrets.token_urlsafe(24)
        user_code = "-".join(secrets.token_hex(2).upper() for _ in range(2))
        self._devices[device_code] = _DeviceGrant(self.client_id, p.get("scope", ""), user_code,
                                                  time.time() + self.device_ttl)
        return 200, {}, {
            "device_code": device_code, "user_code": user_code,
            "verification_uri": self.verification_url, "expires_in": self.device_ttl,
            "interval": self.interval,
            "message": f"To sign in, open {self.verification_url} and enter the code "
                       f"{user_code} to authenticate."}

    def _verification_page(self, p: dict[str, str]) -> tuple[int, dict[str, str], Any]:
        try:
            self.approve(p.get("user_code", ""), p.get("deny") is None)
        except KeyError:
            return 404, {}, "<p>That code is not known or has expired.</p>"
        return 200, {}, "<p>You are signed in. You can close this window.</p>"

    def _authorize(self, p: dict[str, str]) -> tuple[int, dict[str, str], Any]:
        redirect = p.get("redirect_uri", "")
        target = urlsplit(redirect)
        if target.scheme != "http" or target.hostname not in ("127.0.0.1", "localhost", "::1"):
            return 400, {}, "<p>redirect_uri must be a loopback address.</p>"
        if p.get("client_id") != self.client_id:
            return 400, {}, "<p>Unknown client.</p>"
        answer: dict[str, str] = {"state": p.get("state", "")}
        if p.get("response_type") != "code" or p.get("code_challenge_method") != "S256" \
                or not p.get("code_challenge"):
            answer["error"] = "invalid_request"
        elif not self.approve_browser:
            answer["error"] = "access_denied"
        else:
            code = secrets.token_urlsafe(24)
            self._codes[code] = _CodeGrant(self.client_id, redirect, p["code_challenge"],
                                           p.get("scope", ""))
            answer["code"] = code
        joiner = "&" if target.query else "?"
        return 302, {"Location": redirect + joiner + urlencode(answer)}, ""

    def _token(self, p: dict[str, str]) -> tuple[int, dict[str, str], Any]:
        if p.get("client_id") != self.client_id:
            return 401, {}, {"error": "invalid_client"}
        if self.client_secret and p.get("client_secret") != self.client_secret:
            return 401, {}, {"error": "invalid_client",
                             "error_description": "client_secret is wrong or missing"}
        grant = p.get("grant_type")
        if grant == "urn:ietf:params:oauth:grant-type:device_code":
            return self._device_token(p)
        if grant == "authorization_code":
            return self._code_token(p)
        if grant == "refresh_token":
            token = p.get("refresh_token", "")
            if token not in self._refresh or token in self._revoked:
                return 400, {}, {"error": "invalid_grant",
                                 "error_description": "the refresh token is not valid"}
            if self.rotate_refresh:  # as Microsoft does: the used token is spent
                self._revoked.add(token)
                return 200, {}, self._issue(self._refresh[token])
            return 200, {}, self._issue(self._refresh[token], refresh=None)
        return 400, {}, {"error": "unsupported_grant_type"}

    def _device_token(self, p: dict[str, str]) -> tuple[int, dict[str, str], Any]:
        grant = self._devices.get(p.get("device_code", ""))
        now = time.time()
        if grant is None:
            return 400, {}, {"error": "invalid_grant"}
        if now > grant.expires_at:
            return 400, {}, {"error": "expired_token"}
        too_soon = now - grant.last_poll < self.interval * 0.8
        grant.last_poll = now
        if grant.approved is None:
            return 400, {}, {"error": "slow_down" if too_soon else "authorization_pending"}
        del self._devices[p["device_code"]]
        if not grant.approved:
            return 400, {}, {"error": "access_denied",
                             "error_description": "the user declined to sign in"}
        return 200, {}, self._issue(grant.scope)

    def _code_token(self, p: dict[str, str]) -> tuple[int, dict[str, str], Any]:
        grant = self._codes.pop(p.get("code", ""), None)
        if grant is None:
            return 400, {}, {"error": "invalid_grant", "error_description": "unknown code"}
        if p.get("redirect_uri") != grant.redirect_uri:
            return 400, {}, {"error": "invalid_grant",
                             "error_description": "redirect_uri does not match"}
        digest = hashlib.sha256(p.get("code_verifier", "").encode("ascii")).digest()
        if base64.urlsafe_b64encode(digest).rstrip(b"=").decode() != grant.challenge:
            return 400, {}, {"error": "invalid_grant",
                             "error_description": "code_verifier does not match"}
        return 200, {}, self._issue(grant.scope)

    def _issue(self, scope: str, refresh: str | None = "new") -> dict[str, Any]:
        access = secrets.token_urlsafe(24)
        self._access[access] = time.time() + self.access_ttl
        out: dict[str, Any] = {"access_token": access, "token_type": "Bearer",
                               "expires_in": self.access_ttl, "scope": scope}
        if refresh is not None:
            token = secrets.token_urlsafe(32)
            self._refresh[token] = scope
            out["refresh_token"] = token
        return out


def _response(status: int, headers: dict[str, str], payload: Any) -> bytes:
    if isinstance(payload, str):
        body, kind = payload.encode(), "text/html; charset=utf-8"
    else:
        body, kind = json.dumps(payload).encode(), "application/json"
    reason = {200: "OK", 302: "Found", 400: "Bad Request", 401: "Unauthorized",
              404: "Not Found"}.get(status, "Error")
    lines = [f"HTTP/1.1 {status} {reason}", f"Content-Type: {kind}",
             f"Content-Length: {len(body)}", "Cache-Control: no-store", "Connection: close",
             *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


async def _main() -> None:  # pragma: no cover - a manual trial aid
    async with OAuthStandIn(port=8765) as provider:
        print(f"OAuth stand-in on {provider.base_url}; point a channel at it with:")
        for key, value in provider.settings().items():
            print(f"  --set {key}={value}")
        print("Device codes are approved by opening the verification URL with ?user_code=CODE.")
        await asyncio.Event().wait()


if __name__ == "__main__":  # pragma: no cover
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_main())
