"""The chat kind's contract kit: a visitor's frames, the widget hub on the memory host, and
the chat mount served by the real front door app (uvicorn) with a WebSocket client."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from engine.channels.abilities import Ability
from engine.channels.base import ChannelAdapter
from engine.channels.live_memory import event
from engine.channels.testing import MemoryChannelHost
from engine.models import IngestResult
from engine.outbox import PermanentError
from tests.channels.kits import Kit, _running, outbox_item, until
from tests.chat.widgets import VISITOR, frames_of, widget


async def _receive(kit: Kit, request: pytest.FixtureRequest, host: MemoryChannelHost) -> None:
    adapter: Any = kit.adapter(host)
    async with _running(adapter):
        await until(lambda: host.health_now.get("connected"), what="the chat to run")
        w, sent = widget()
        await adapter.open_widget(w, 0)
        await adapter.visitor_says(w, "m1", "Where is order 1?")
        ticket = host.results[0].ticket_id
        # a line another process added: the event brings it to the open widget, once
        await host.post(ticket, "answered elsewhere", "Ada Agent", "elsewhere")
        host.publish(event("message.delivery", ticket, state="sent"))
        host.publish(event("message.delivery", ticket, state="sent"))
        await until(lambda: any(f.get("text") == "answered elsewhere" for f in frames_of(sent)),
                    what="the pushed line")
        texts = [f["text"] for f in frames_of(sent) if f["type"] == "message"]
        assert texts == ["Where is order 1?", "answered elsewhere"]
        assert host.messages[0].sender_kind == "visitor"
    assert host.health_now["connected"] is False


async def _send(kit: Kit, request: pytest.FixtureRequest, host: MemoryChannelHost) -> None:
    adapter = kit.adapter(host)
    plan = adapter.prepare_reply(kit.reply_context(adapter.channel))
    assert plan.payload["to"] == VISITOR
    assert await adapter.send(outbox_item(plan.payload)) == "chat:9"
    with pytest.raises(PermanentError):
        await adapter.send(outbox_item({**plan.payload, "to": "ana@customer.test"}))


@contextlib.asynccontextmanager
async def serving(adapter: ChannelAdapter) -> AsyncIterator[str]:
    """The adapter's mount on the real front door app, on a port the system picks."""
    from engine.web.app import WebContext, build_app
    from engine.web.limits import Limits
    from engine.web.server import WebServer

    mounts = [adapter.routes()]

    async def leader() -> str:
        return "kit"

    ctx = WebContext(store=None, holder="kit", public_url="", limits=Limits(),
                     mounts=lambda: mounts, leader=leader)
    server = WebServer("127.0.0.1", 0, lambda: build_app(ctx))
    server.start()
    try:
        async with asyncio.timeout(20):
            await server.serving.wait()
        host, port = server.address
        yield f"http://{host}:{port}"
    finally:
        await server.stop()


async def _web_routes(kit: Kit, request: pytest.FixtureRequest,
                      host: MemoryChannelHost) -> None:
    from websockets.asyncio.client import connect

    adapter = kit.adapter(host)
    async with serving(adapter) as url:
        async with httpx.AsyncClient() as client:
            js = await client.get(f"{url}/chat/1/widget.js")
        assert js.status_code == 200 and b"attachShadow" in js.content
        async with connect(url.replace("http", "ws") + "/chat/1/ws") as ws:
            session = json.loads(await ws.recv())
            assert session["type"] == "session" and session["token"]
            assert json.loads(await ws.recv())["type"] == "config"
            await ws.send(json.dumps({"type": "message", "id": "w1", "text": "over the socket"}))
            while json.loads(await ws.recv())["type"] != "ack":
                pass
        assert [m.text for m in host.messages] == ["over the socket"]
        assert host.messages[0].sender == session["visitor"]


class ChatKit(Kit):
    kind = "chat"
    customer = VISITOR
    checks = {Ability.receive: _receive, Ability.send: _send, Ability.web_routes: _web_routes}

    def settings(self, **more: Any) -> dict[str, Any]:
        return {"visitor_secret": "visitor-Secret-contract", "team_name": "Acme", **more}

    def inbound(self, n: int) -> bytes:
        return json.dumps({"visitor": VISITOR, "id": f"m{n}",
                           "text": f"Where is order {n}?"}).encode()

    def malformed(self) -> bytes:
        return b"{not a chat frame"

    async def deliver(self, adapter: ChannelAdapter, raw: bytes) -> IngestResult | None:
        return await adapter.ingest_raw(raw, "contract")  # type: ignore[attr-defined]

    @contextlib.contextmanager
    def refusing(self, request: pytest.FixtureRequest) -> Iterator[dict]:
        yield {"max_message_chars": 5}  # the reply is longer: refused for good
