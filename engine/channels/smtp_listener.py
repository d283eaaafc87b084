"""Forwarding listener: an SMTP server for mail that cannot be read over IMAP.

Runs in the engine's own event loop (``loop.create_server`` with aiosmtpd's ``SMTP``
protocol, not the threaded ``Controller``). It accepts RCPT only for the channel's addresses
(plus-addressed variants like ``support+t12@`` included) and answers 550 to anything else,
refuses mail over the size limit (552, announced in EHLO ``SIZE``), and hands the raw bytes to
an async callback. If the callback fails the client gets a 451 so the forwarding MTA retries
later instead of the mail being lost.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

log = logging.getLogger(__name__)

#: ``async def on_message(raw, mail_from, rcpt_tos)``
MessageCallback = Callable[[bytes, str, list[str]], Awaitable[Any]]


def _base_address(addr: str) -> str:
    """``Support+t12@Example.com`` → ``support@example.com``."""
    local, _, domain = addr.strip().strip("<>").lower().rpartition("@")
    return f"{local.split('+', 1)[0]}@{domain}" if local else addr.lower()


class _Handler:
    def __init__(self, listener: ForwardingListener) -> None:
        self.listener = listener

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        if _base_address(address) not in self.listener.addresses:
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or envelope.content or b""
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        if len(raw) > self.listener.max_message_bytes:
            return "552 5.3.4 Message too big"
        mail_from = envelope.mail_from or ""
        if not raw[:12].lower().startswith(b"return-path:"):
            # we are the final delivery agent: record the envelope sender (a null one marks bounces)
            raw = f"Return-Path: <{mail_from.strip('<>')}>\r\n".encode() + raw
        try:
            await self.listener.on_message(raw, mail_from, list(envelope.rcpt_tos))
        except Exception:
            log.exception("forwarding listener: callback failed")
            return "451 4.3.0 Temporary failure, please retry"
        self.listener.accepted += 1
        return "250 2.0.0 Message accepted"


class ForwardingListener:
    """An in-loop SMTP server for one channel's forwarded mail.

    ``addresses``: the channel's address(es); ``max_message_bytes``: size limit;
    ``on_message``: awaited with ``(raw_bytes, mail_from, rcpt_tos)``. ``port=0`` picks a
    free port (see :attr:`port` after :meth:`start`).
    """

    def __init__(
        self,
        addresses: Iterable[str],
        on_message: MessageCallback,
        *,
        host: str = "127.0.0.1",
        port: int = 2525,
        max_message_bytes: int = 25 * 1024 * 1024,
        server_hostname: str = "ticketty.local",
    ) -> None:
        self.addresses = {_base_address(a) for a in addresses if a}
        self.on_message = on_message
        self.host = host
        self.port = port
        self.max_message_bytes = max_message_bytes
        self.server_hostname = server_hostname
        self.accepted = 0
        self._server: asyncio.base_events.Server | None = None

    def _protocol(self) -> SMTP:
        return SMTP(
            _Handler(self),
            data_size_limit=self.max_message_bytes,
            hostname=self.server_hostname,
            enable_SMTPUTF8=True,
            decode_data=False,
            loop=asyncio.get_running_loop(),
        )

    async def start(self) -> tuple[str, int]:
        """Bind and start serving; returns the ``(host, port)`` actually bound."""
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(self._protocol, host=self.host, port=self.port)
        sock = self._server.sockets[0]
        self.host, self.port = sock.getsockname()[:2]
        return self.host, self.port

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    @property
    def running(self) -> bool:
        return self._server is not None

    @property
    def bound(self) -> str:
        """The address actually bound, ``host:port`` (``[v6]:port``): what the channel reports
        so every process shows where mail really arrives (``port=0`` picks one)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    async def __aenter__(self) -> ForwardingListener:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()
