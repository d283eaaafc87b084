"""The limits every route of the front door sits behind (one pure ASGI middleware).

- **Client address**: the TCP peer, unless the peer is a trusted proxy (``[engine]
  trusted_proxies``): then ``X-Forwarded-For`` is read from the right, skipping trusted hops,
  and the first address that is not one of ours is the client; ``X-Forwarded-Proto`` sets the
  scheme. From anyone else both headers are ignored (a visitor cannot choose their address).
  The scope carries the result, so routes and rate limits see the real client.
- **Body size**: a ``Content-Length`` over the limit is refused with 413 before the app runs;
  a body without one (chunked) is counted as it streams in and refused the moment it passes
  the limit — never buffered whole first. A mount may set its own limit (file uploads).
- **Per-address rate**: a token bucket per client address — an IPv6 client's /64 — (429
  with ``Retry-After``);
  ``/healthz`` is exempt so monitors never lock a site out. Per-visitor limits are route
  dependencies (:func:`engine.web.app.visitor_limit`).
- **Timeout**: a request that takes longer than ``http_timeout`` is answered 408 (the body was
  still arriving) or 503 (the app was slow); a WebSocket is long-lived and has none.
- Every response says ``X-Content-Type-Options: nosniff``: what a visitor sent and we echo in
  a JSON error is never sniffed into markup by a browser.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from engine.web.mounts import MountProvider
from engine.web.ratelimit import RateLimiter, retry_after

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

EXEMPT = ("/healthz",)


class BodyTooLarge(HTTPException):
    """Raised from ``receive`` when a streamed body passes its limit (FastAPI re-raises an
    ``HTTPException`` met while reading a body, so the route answers 413)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is larger than {limit:,} bytes")


@dataclass
class Limits:
    """The front door's limits, from ``[engine]`` (see ``engine.config.EngineConfig``)."""

    max_body: int = 1_048_576
    timeout: float = 30.0
    ip: RateLimiter = field(default_factory=lambda: RateLimiter(600, 100))
    visitor: RateLimiter = field(default_factory=lambda: RateLimiter(120, 30))
    trusted: tuple[Network, ...] = ()

    @classmethod
    def from_config(cls, cfg: Any) -> Limits:
        return cls(max_body=cfg.http_max_body, timeout=cfg.http_timeout,
                   ip=RateLimiter(cfg.http_ip_rate, cfg.http_ip_burst),
                   visitor=RateLimiter(cfg.http_visitor_rate, cfg.http_visitor_burst),
                   trusted=networks(cfg.trusted_proxies))


def networks(items: Iterable[str]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(item, strict=False) for item in items)


def _address(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    value = value.strip()
    if value.startswith("[") and "]" in value:  # [v6]:port
        value = value[1:value.index("]")]
    elif value.count(":") == 1:  # v4:port
        value = value.split(":", 1)[0]
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        return None


def _trusted(addr: ipaddress.IPv4Address | ipaddress.IPv6Address | None,
             trusted: tuple[Network, ...]) -> bool:
    if addr is None:
        return False
    mapped = getattr(addr, "ipv4_mapped", None)  # ::ffff:127.0.0.1 on a dual-stack socket
    return any(addr in net or (mapped is not None and mapped in net) for net in trusted)


def client_of(peer: str | None, headers: list[tuple[bytes, bytes]],
              trusted: tuple[Network, ...]) -> tuple[str | None, str | None]:
    """``(client address, forwarded scheme or None)`` of a request from ``peer``."""
    if not trusted or not _trusted(_address(peer or ""), trusted):
        return peer, None
    hops: list[str] = []
    proto = None
    for name, value in headers:
        if name == b"x-forwarded-for":
            hops.extend(h.strip() for h in value.decode("latin-1").split(",") if h.strip())
        elif name == b"x-forwarded-proto" and proto is None:
            proto = value.decode("latin-1").split(",")[0].strip().lower()
    client = peer
    for hop in reversed(hops):
        addr = _address(hop)
        if addr is None:
            break  # garbage: the last trusted hop is the best we know
        client = str(addr)
        if not _trusted(addr, trusted):
            break
    return client, proto if proto in ("http", "https") else None


def address_key(address: str | None) -> str:
    """The rate-limit key of a client address: the address itself, or for IPv6 its /64 (one
    subscriber gets a whole /64 and could otherwise rotate through it)."""
    if not address or ":" not in address:
        return f"ip:{address or '-'}"
    try:
        net = ipaddress.ip_network(f"{address}/64", strict=False)
    except ValueError:
        return f"ip:{address}"
    return f"ip:{net}"


async def send_json(send: Send, status: int, data: dict[str, Any],
                    headers: dict[str, str] | None = None) -> None:
    """A small JSON response, straight on the ASGI channel."""
    body = json.dumps(data, ensure_ascii=False).encode()
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
           (b"x-content-type-options", b"nosniff")]
    raw += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


class LimitsMiddleware:
    """Applies :class:`Limits` to every request (see the module docstring)."""

    def __init__(self, app: ASGIApp, limits: Limits, mounts: MountProvider | None = None):
        self.app = app
        self.limits = limits
        self.mounts = mounts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        limits = self.limits
        scope["ticketty.limits"] = limits  # for the routes' visitor limits
        if limits.trusted:
            peer = scope.get("client")
            client, proto = client_of(peer[0] if peer else None, scope.get("headers", []),
                                      limits.trusted)
            if client != (peer[0] if peer else None):
                scope["client"] = (client, 0)
            if proto:
                scope["scheme"] = proto if kind == "http" else {"http": "ws", "https": "wss"}[proto]
        if limits.ip.enabled and scope["path"] not in EXEMPT:
            client = scope.get("client")
            wait = limits.ip.hit(address_key(client[0] if client else None))
            if wait:
                if kind == "websocket":
                    await send({"type": "websocket.close", "code": 1013})
                    return
                await send_json(send, 429, {"error": "too many requests from this address; "
                                            f"try again in {retry_after(wait)} s"},
                                {"Retry-After": retry_after(wait)})
                return
        if kind == "websocket":
            await self.app(scope, receive, send)
            return
        await self._http(scope, receive, send)

    def _max_body(self, path: str) -> int:
        if self.mounts is not None:
            for mount in self.mounts():
                if mount.max_body is not None and mount.covers(path):
                    return mount.max_body
        return self.limits.max_body

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        limit = self._max_body(scope["path"])
        length = None
        chunked = False
        for name, value in scope.get("headers", []):
            if name == b"transfer-encoding":
                chunked = b"chunked" in value.lower()
            elif name == b"content-length":
                try:
                    length = int(value)
                except ValueError:
                    await send_json(send, 400, {"error": "Content-Length: not a number"})
                    return
        if length is not None and length > limit:
            await send_json(send, 413, {"error": f"the request body is larger than {limit:,}"
                                                 " bytes"}, {"Connection": "close"})
            return
        state = {"received": 0, "done": False, "started": False}

        async def limited_receive() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                state["received"] += len(message.get("body", b""))
                if not message.get("more_body", False):
                    state["done"] = True
                if state["received"] > limit:
                    raise BodyTooLarge(limit)
            return message

        async def marked_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                state["started"] = True
                headers = list(message.get("headers", []))
                if not any(k.lower() == b"x-content-type-options" for k, _ in headers):
                    headers.append((b"x-content-type-options", b"nosniff"))
                message = {**message, "headers": headers}
            await send(message)

        try:
            async with asyncio.timeout(self.limits.timeout):
                await self.app(scope, limited_receive, marked_send)
        except BodyTooLarge as exc:
            if state["started"]:
                raise
            await send_json(send, 413, {"error": exc.detail}, {"Connection": "close"})
        except TimeoutError:
            if state["started"]:
                raise
            if not state["done"] and ((length or 0) > 0 or chunked):
                await send_json(send, 408, {"error": "the request body took longer than"
                                            f" {self.limits.timeout:g} s to arrive"},
                                {"Connection": "close"})
            else:
                await send_json(send, 503, {"error": "the request took longer than"
                                            f" {self.limits.timeout:g} s; try again"},
                                {"Retry-After": "1"})
