"""Helpers of the chat channel's tests: a serving engine with a chat channel, and a widget
client over a real WebSocket (the same frames the browser widget sends)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect

from engine.channels.chat_settings import ChatSettings
from engine.channels.setup import build_channel
from engine.models import Channel
from tests.channels.kits import until
from tests.web.web_helpers import WebDesk, web_desk


@dataclass
class ChatDesk:
    desk: WebDesk
    channel: Channel

    @property
    def store(self) -> Any:
        return self.desk.engine.store

    @property
    def base(self) -> str:
        return f"{self.desk.url}/chat/{self.channel.id}"

    def ws_url(self, token: str | None = None, after: int = 0) -> str:
        url = self.base.replace("http://", "ws://") + f"/ws?after={after}"
        return url + (f"&token={token}" if token else "")


async def add_chat(store: Any, name: str = "Live", **settings: Any) -> Channel:
    pipelines = {p.name: [s.name for s in p.statuses] for p in await store.pipelines()}
    channel = build_channel("chat", name, {k: str(v) if not isinstance(v, str) else v
                                           for k, v in settings.items()},
                            settings_model=ChatSettings,
                            agents=await store.agents(), teams=[], pipelines=pipelines)
    return await store.add_channel(channel)


async def wait_mounted(base: str, seconds: float = 15) -> None:
    async with httpx.AsyncClient(timeout=5) as client:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if (await client.get(f"{base}/widget.js")).status_code == 200:
                return
            await asyncio.sleep(0.05)
    raise AssertionError(f"{base} was never served")


@contextlib.asynccontextmanager
async def chat_desk(db: Path, engine_settings: dict[str, Any] | None = None,
                    **settings: Any) -> AsyncIterator[ChatDesk]:
    async with web_desk(db, http_ip_rate=0, http_visitor_rate=0,
                        **(engine_settings or {})) as desk:
        channel = await add_chat(desk.engine.store, **settings)
        chat = ChatDesk(desk, channel)
        await wait_mounted(chat.base)
        yield chat


@dataclass
class Visitor:
    """A widget's socket: frames received in order, helpers to wait for them."""

    ws: ClientConnection
    frames: list[dict[str, Any]] = field(default_factory=list)
    token: str | None = None
    reader: asyncio.Task | None = None

    async def _read(self) -> None:
        with contextlib.suppress(Exception):
            async for raw in self.ws:
                frame = json.loads(raw)
                if frame.get("type") == "session":
                    self.token = frame["token"]
                self.frames.append(frame)

    def messages(self, author: str | None = None) -> list[dict[str, Any]]:
        return [f for f in self.frames if f["type"] == "message"
                and (author is None or f["author"] == author)]

    async def wait(self, cond: Callable[[], Any], seconds: float = 10, what: str = "") -> Any:
        return await until(cond, seconds, f"{what or cond}; frames: {self.frames}")

    async def say(self, cid: str, text: str) -> dict[str, Any]:
        await self.ws.send(json.dumps({"type": "message", "id": cid, "text": text}))
        return await self.wait(lambda: next((f for f in self.frames if f["type"] == "ack"
                                             and f["cid"] == cid), None), what=f"ack {cid}")

    async def send(self, **frame: Any) -> None:
        await self.ws.send(json.dumps(frame))

    async def close(self) -> None:
        await self.ws.close()
        if self.reader:
            await asyncio.gather(self.reader, return_exceptions=True)


@contextlib.asynccontextmanager
async def visitor(url: str, **headers: str) -> AsyncIterator[Visitor]:
    async with connect(url, additional_headers=headers or None) as ws:
        v = Visitor(ws)
        v.reader = asyncio.ensure_future(v._read())
        await v.wait(lambda: any(f["type"] == "config" for f in v.frames), what="config")
        try:
            yield v
        finally:
            v.reader.cancel()
            await asyncio.gather(v.reader, return_exceptions=True)
