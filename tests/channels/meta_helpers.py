"""Helpers of the Messenger and WhatsApp tests: a serving engine with a channel pointed at the
Graph stand-in, and webhook requests signed with the tests' own few lines (Meta's documented
scheme: ``sha256=`` + hex HMAC-SHA256 of the raw body with the app secret) — never the
server's helper, so a bug in it cannot pass unnoticed."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from engine.models import Channel
from engine.sandbox.graph import GraphStandIn
from tests.channels.kits import until
from tests.web.web_helpers import WebDesk, web_desk

APP_SECRET = "app-Secret-0123456789"
VERIFY = "verify-Token-abcdef"
PAGE, PAGE_TOKEN = "1111", "page-Token-xyz"
NUMBER, WABA, WA_TOKEN = "PNID_1", "WABA_1", "wa-Token-xyz"


def signature(body: bytes, secret: str = APP_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def body_of(payload: dict[str, Any]) -> bytes:
    # Meta sends non-ASCII escaped (\u00e4); json.dumps does the same by default
    return json.dumps(payload).encode()


@dataclass
class MetaDesk:
    desk: WebDesk
    graph: GraphStandIn
    channel: Channel
    hook: str  # the webhook URL

    @property
    def store(self) -> Any:
        return self.desk.engine.store

    async def post(self, payload: dict[str, Any] | bytes, *, sign: str | None = "good",
                   headers: dict[str, str] | None = None) -> httpx.Response:
        body = payload if isinstance(payload, bytes) else body_of(payload)
        hdrs = {"Content-Type": "application/json", **(headers or {})}
        if sign == "good":
            hdrs["X-Hub-Signature-256"] = signature(body)
        elif sign is not None:
            hdrs["X-Hub-Signature-256"] = sign
        async with httpx.AsyncClient(timeout=10) as client:
            return await client.post(self.hook, content=body, headers=hdrs)

    async def tickets(self) -> list[Any]:
        return [t for t in [await self.store.ticket(i) for i in range(1, 50)]
                if t is not None and t.channel_id == self.channel.id]

    async def wait_messages(self, ticket_id: int, n: int) -> list[Any]:
        found: list[Any] = []

        async def enough() -> bool:
            found[:] = await self.store.messages(ticket_id)
            return len(found) >= n

        await until_async(enough, what=f"{n} messages on ticket {ticket_id}")
        return found


async def until_async(cond: Any, seconds: float = 15.0, what: str = "condition") -> None:
    import asyncio
    import time

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if await cond():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"timed out after {seconds:g}s waiting for {what}")


def messenger_settings(graph: GraphStandIn, **more: Any) -> dict[str, Any]:
    return {"page_id": PAGE, "page_access_token": PAGE_TOKEN, "app_secret": APP_SECRET,
            "verify_token": VERIFY, "graph_base_url": graph.base_url, **more}


def whatsapp_settings(graph: GraphStandIn, **more: Any) -> dict[str, Any]:
    return {"phone_number_id": NUMBER, "waba_id": WABA, "access_token": WA_TOKEN,
            "app_secret": APP_SECRET, "verify_token": VERIFY, "graph_base_url": graph.base_url,
            **more}


@contextlib.asynccontextmanager
async def meta_desk(db: Path, kind: str, **settings: Any) -> AsyncIterator[MetaDesk]:
    """A serving engine with one ``kind`` channel on a Graph stand-in, its webhook answering."""
    async with GraphStandIn() as graph:
        graph.add_page(PAGE, "Acme Shoes", PAGE_TOKEN)
        graph.add_number(NUMBER, "15550001111", "Acme Support", WA_TOKEN, WABA)
        async with web_desk(db, http_ip_rate=0, http_visitor_rate=0) as desk:
            values = messenger_settings(graph, **settings) if kind == "messenger" else \
                whatsapp_settings(graph, **settings)
            channel = await desk.engine.store.add_channel(
                Channel(kind=kind, name=kind.title(), settings=values))
            hook = f"{desk.url}/{kind}/{channel.id}/webhook"
            async with httpx.AsyncClient(timeout=5) as client:
                async def answering() -> bool:
                    r = await client.get(hook, params={"hub.mode": "subscribe",
                                                       "hub.verify_token": VERIFY,
                                                       "hub.challenge": "ready"})
                    return r.status_code == 200

                await until_async(answering, what="the channel's webhook")
            yield MetaDesk(desk, graph, channel, hook)


__all__ = ["APP_SECRET", "NUMBER", "PAGE", "VERIFY", "WABA", "MetaDesk", "meta_desk",
           "signature", "until", "until_async"]
