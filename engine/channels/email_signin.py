"""Signing in to a Gmail or Microsoft 365 mailbox: how a channel gets its refresh token.

XOAUTH2 (:mod:`engine.channels.email_oauth`) needs a refresh token for the mailbox; signing in
once grants it. Two flows, both over httpx to the channel's configurable endpoints
(``oauth_device_url``, ``oauth_authorize_url``, ``oauth_token_url``; empty = the provider's):

- **device code** (RFC 8628) — Microsoft: :func:`request_device_code` gives a short code and a
  web address; the admin opens the address on any device and types the code, while
  :func:`poll_device_code` asks the token endpoint until the sign-in is done, refused or expired;
- **browser with a loopback redirect** (authorization code + PKCE, RFC 7636 and RFC 8252) —
  Google: :class:`BrowserSignIn` listens on ``127.0.0.1`` on a free port, gives the address to
  open, and takes the code from the browser's redirect; over SSH the browser cannot reach that
  port, so the admin pastes the address the browser ended on (:meth:`BrowserSignIn.paste`).

Each returns :class:`Tokens`; the caller stores ``refresh_token`` as the channel's secret
``oauth_refresh_token`` setting. Failures raise :class:`SignInError` with a one-line reason.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from engine.channels.email_oauth import SCOPES
from engine.channels.email_settings import EmailSettings
from engine.httpclient import httpx
from engine.vault import reveal

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
#: provider → how it signs in
METHODS = {"office365": "device", "gmail": "browser"}
PROVIDER_NAMES = {"office365": "Microsoft", "gmail": "Google"}
SIGNED_IN_PAGE = ("<!doctype html><meta charset=utf-8><title>ticketty</title>"
                  "<p>Signed in. You can close this tab and go back to ticketty.</p>")


class SignInError(Exception):
    """Signing in failed; ``reason`` says why in one line."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class Tokens:
    refresh_token: str
    access_token: str
    expires_in: float
    scope: str = ""


@dataclass
class DeviceCode:
    """What the admin is shown: open ``verification_uri``, type ``user_code``."""

    device_code: str
    user_code: str
    verification_uri: str
    expires_in: float
    interval: float
    message: str = ""


def method_for(settings: EmailSettings) -> str:
    """``"device"`` or ``"browser"``; a provider without a device endpoint uses the browser."""
    if not settings.oauth_provider:
        raise SignInError("choose whether to sign in with Google or Microsoft first")
    return "device" if settings.device_url and \
        METHODS.get(settings.oauth_provider) == "device" else "browser"


def _need(settings: EmailSettings) -> None:
    if not settings.oauth_client_id:
        raise SignInError("enter the client ID of your registered app first")


async def _post(url: str, data: dict[str, str], io_timeout: float) -> tuple[int, dict[str, Any]]:
    try:
        async with httpx.AsyncClient(timeout=io_timeout) as client:
            resp = await client.post(url, data=data, headers={"Accept": "application/json"})
    except httpx.HTTPError as exc:
        raise SignInError(f"cannot reach {url}: {exc or type(exc).__name__}") from exc
    try:
        payload = resp.json()
    except ValueError:
        payload = None
    if not isinstance(payload, dict):
        raise SignInError(f"{url} answered HTTP {resp.status_code} without a JSON body")
    return resp.status_code, payload


def _refused(payload: dict[str, Any], status: int) -> str:
    err = str(payload.get("error") or f"HTTP {status}")
    desc = str(payload.get("error_description") or "").split("\n")[0].strip()
    return f"{err}: {desc}" if desc else err


def _tokens(payload: dict[str, Any]) -> Tokens:
    if not payload.get("refresh_token"):
        raise SignInError("signed in, but no refresh token was granted (the app must be "
                          "allowed offline access)")
    return Tokens(str(payload["refresh_token"]), str(payload.get("access_token", "")),
                  float(payload.get("expires_in", 3600)), str(payload.get("scope", "")))


def _client(settings: EmailSettings) -> dict[str, str]:
    data = {"client_id": settings.oauth_client_id}
    if settings.oauth_client_secret:
        data["client_secret"] = reveal(settings.oauth_client_secret)
    return data


# ---------------------------------------------------------------------------- device code
async def request_device_code(settings: EmailSettings, *, io_timeout: float = 20.0
                              ) -> DeviceCode:
    """Ask for a device code (the first half of the device-code flow)."""
    _need(settings)
    url = settings.device_url
    if not url:
        raise SignInError(f"no device-code endpoint for {settings.oauth_provider!r}")
    status, p = await _post(url, {"client_id": settings.oauth_client_id,
                                  "scope": SCOPES[settings.oauth_provider]}, io_timeout)
    if status >= 400 or "device_code" not in p:
        raise SignInError(f"the sign-in service refused to start: {_refused(p, status)}")
    return DeviceCode(str(p["device_code"]), str(p["user_code"]),
                      str(p.get("verification_uri") or p.get("verification_url") or ""),
                      float(p.get("expires_in", 900)), float(p.get("interval", 5)),
                      str(p.get("message", "")))


async def poll_device_code(settings: EmailSettings, code: DeviceCode, *,
                           sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
                           io_timeout: float = 20.0) -> Tokens:
    """Ask the token endpoint every ``interval`` until the admin signed in (or refused)."""
    interval = max(code.interval, 0.05)
    deadline = time.monotonic() + code.expires_in
    data = {**_client(settings), "grant_type": DEVICE_GRANT, "device_code": code.device_code}
    while True:
        await sleep(interval)
        if time.monotonic() > deadline:
            raise SignInError("the sign-in code expired before it was used; start again")
        status, p = await _post(settings.token_url, data, io_timeout)
        if status < 400 and p.get("access_token"):
            return _tokens(p)
        error = p.get("error")
        if error == "authorization_pending":
            continue
        if error == "slow_down":  # RFC 8628 §3.5: wait five seconds longer from now on
            interval += 5
            continue
        if error == "access_denied":
            raise SignInError("the sign-in was declined")
        if error == "expired_token":
            raise SignInError("the sign-in code expired before it was used; start again")
        raise SignInError(f"the sign-in failed: {_refused(p, status)}")


# ------------------------------------------------------------------------------- browser
class BrowserSignIn:
    """Authorization code + PKCE, the browser coming back to a loopback listener.

    ``url = await s.start()`` → show ``url``; ``tokens = await s.wait()``; over SSH call
    ``s.paste(address_the_browser_ended_on)`` while ``wait()`` runs. ``close()`` (or ``async
    with``) stops the listener.
    """

    def __init__(self, settings: EmailSettings, *, host: str = "127.0.0.1", port: int = 0,
                 io_timeout: float = 20.0) -> None:
        self.settings = settings
        self.host = host
        self.port = port
        self.io_timeout = io_timeout
        self.verifier = secrets.token_urlsafe(48)  # 64 characters, RFC 7636 §4.1
        self.state = secrets.token_urlsafe(16)
        self.url = ""
        self.redirect_uri = ""
        self._server: asyncio.base_events.Server | None = None
        self._answer: asyncio.Future[dict[str, str]] | None = None

    @property
    def challenge(self) -> str:
        digest = hashlib.sha256(self.verifier.encode("ascii")).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")

    async def start(self) -> str:
        """Listen on the loopback address; returns the address to open in a browser."""
        s = self.settings
        _need(s)
        if not s.authorize_url:
            raise SignInError(f"no sign-in page for {s.oauth_provider!r}")
        self._answer = asyncio.get_running_loop().create_future()
        try:
            self._server = await asyncio.start_server(self._serve, self.host, self.port)
        except OSError as exc:
            raise SignInError(f"cannot listen on {self.host} for the browser: "
                              f"{exc.strerror or exc}") from exc
        self.port = self._server.sockets[0].getsockname()[1]
        self.redirect_uri = f"http://{self.host}:{self.port}/"
        query = {"client_id": s.oauth_client_id, "redirect_uri": self.redirect_uri,
                 "response_type": "code", "scope": SCOPES[s.oauth_provider],
                 "code_challenge": self.challenge, "code_challenge_method": "S256",
                 "state": self.state, "access_type": "offline", "prompt": "consent"}
        if s.address:
            query["login_hint"] = s.address
        joiner = "&" if urlsplit(s.authorize_url).query else "?"
        self.url = s.authorize_url + joiner + urlencode(query)
        return self.url

    def paste(self, address: str) -> None:
        """The address the browser ended on (``http://127.0.0.1:…/?code=…``): use its code.

        Raises :class:`SignInError` when it is not this sign-in's answer.
        """
        text = address.strip()
        query = urlsplit(text).query if "://" in text else text.lstrip("?")
        params = dict(parse_qsl(query))
        if "code" not in params and "error" not in params:
            raise SignInError("that address holds no sign-in answer: paste the whole address "
                              "from the browser's address bar (it contains code=…)")
        self._deliver(params)

    def _deliver(self, params: dict[str, str]) -> None:
        if params.get("state") != self.state:
            raise SignInError("that answer belongs to another sign-in (its state differs); "
                              "use the address from this sign-in")
        if self._answer is not None and not self._answer.done():
            self._answer.set_result(params)

    async def wait(self) -> Tokens:
        """Until the browser (or a pasted address) brings the answer; then trade the code."""
        if self._answer is None:
            raise SignInError("the sign-in was not started")
        params = await self._answer
        if "error" in params:
            desc = params.get("error_description", "")
            reason = "the sign-in was declined" if params["error"] == "access_denied" \
                else f"the sign-in failed: {params['error']}"
            raise SignInError(f"{reason}{': ' + desc if desc else ''}")
        data = {**_client(self.settings), "grant_type": "authorization_code",
                "code": params["code"], "redirect_uri": self.redirect_uri,
                "code_verifier": self.verifier}
        status, p = await _post(self.settings.token_url, data, self.io_timeout)
        if status >= 400 or not p.get("access_token"):
            raise SignInError(f"the sign-in failed: {_refused(p, status)}")
        return _tokens(p)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        status, body = 404, "<p>Not found.</p>"
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
            target = head.split(b" ", 2)[1].decode("latin-1")
            params = dict(parse_qsl(urlsplit(target).query))
            if "code" in params or "error" in params:
                try:
                    self._deliver(params)
                    status, body = 200, SIGNED_IN_PAGE if "code" in params else \
                        "<p>The sign-in was not completed. Go back to ticketty.</p>"
                except SignInError as exc:
                    status, body = 400, f"<p>{exc.reason}</p>"
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError,
                IndexError):
            status, body = 400, "<p>Bad request.</p>"
        data = body.encode()
        writer.write(f"HTTP/1.1 {status} {'OK' if status == 200 else 'Error'}\r\n"
                     f"Content-Type: text/html; charset=utf-8\r\nContent-Length: {len(data)}"
                     "\r\nConnection: close\r\n\r\n".encode("latin-1") + data)
        with contextlib.suppress(Exception):
            await writer.drain()
            writer.close()
            await writer.wait_closed()

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        if self._answer is not None and not self._answer.done():
            self._answer.cancel()

    async def __aenter__(self) -> BrowserSignIn:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
