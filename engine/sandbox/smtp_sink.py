"""An SMTP server that keeps what it receives: where the demo's outbound mail is delivered.

It runs inside the caller's event loop (``loop.create_server`` with aiosmtpd's protocol), so
the demo needs no thread; ``on_message`` lets a simulator react to each delivered mail.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiosmtpd.smtp import SMTP, Envelope, Session


@dataclass
class Delivered:
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes


@dataclass
class SmtpSink:
    host: str = "127.0.0.1"
    port: int = 0
    on_message: Callable[[Delivered], Awaitable[None]] | None = None
    messages: list[Delivered] = field(default_factory=list)
    _server: asyncio.base_events.Server | None = None

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or envelope.content or b""
        data = raw.encode("utf-8", "surrogateescape") if isinstance(raw, str) else bytes(raw)
        item = Delivered(envelope.mail_from or "", list(envelope.rcpt_tos), data)
        self.messages.append(item)
        if self.on_message is not None:
            asyncio.ensure_future(self.on_message(item))
        return "250 2.0.0 delivered to the sandbox"

    async def start(self) -> int:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: SMTP(self, hostname="sandbox.ticketty.local", decode_data=False, loop=loop),
            host=self.host, port=self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
