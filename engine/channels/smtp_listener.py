"""Forwarding listener: an SMTP server for mail that cannot be read over IMAP.

Runs in the engine's own event loop (``loop.create_server`` with a subclass of aiosmtpd's
``SMTP`` protocol, not the threaded ``Controller``). It accepts RCPT only for the channel's
addresses (plus-addressed variants like ``support+t12@`` included) and answers 550 to anything
else. Its limits protect the engine from what customers' servers send:

- at most ``max_connections`` sessions at once; one more is told ``421`` and closed;
- DATA is streamed to a private spool file (:mod:`engine.channels.smtp_data`), never held in
  memory whole; the size limit (announced in EHLO ``SIZE``) is enforced while it streams: the
  ``552`` goes out as soon as it is passed, the rest is read and dropped;
- ``idle_timeout`` bounds every wait for the client, ``data_timeout`` the whole DATA transfer.

The spooled mail is handed to an async callback; when the callback fails the client gets a
``451`` so the forwarding MTA retries later instead of the mail being lost. The spool file is
deleted once the callback returns.

Logging: INFO says what happened — connections, mails accepted, refusals, timeouts — with the
client's IP but never a customer's address; every SMTP command (aiosmtpd's own log,
``mail.log``) is shown only when DEBUG is on (:func:`quiet_aiosmtpd`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

from engine.channels.smtp_data import DataDecoder, Spool, SpooledMail, sweep

log = logging.getLogger(__name__)

#: ``async def on_message(mail: SpooledMail)``
MessageCallback = Callable[[SpooledMail], Awaitable[Any]]
CHUNK = 256 * 1024


def _base_address(addr: str) -> str:
    """``Support+t12@Example.com`` → ``support@example.com``."""
    local, _, domain = addr.strip().strip("<>").lower().rpartition("@")
    return f"{local.split('+', 1)[0]}@{domain}" if local else addr.lower()


class _AiosmtpdAtDebug(logging.Filter):
    """aiosmtpd logs each command (with addresses) at INFO: show those only at DEBUG."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.WARNING:
            return True
        if not log.isEnabledFor(logging.DEBUG):
            return False
        record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return True


def quiet_aiosmtpd() -> None:
    """Demote aiosmtpd's per-command INFO lines to DEBUG (idempotent)."""
    mail_log = logging.getLogger("mail.log")
    if not any(isinstance(f, _AiosmtpdAtDebug) for f in mail_log.filters):
        mail_log.addFilter(_AiosmtpdAtDebug())


class _Handler:
    def __init__(self, listener: ForwardingListener) -> None:
        self.listener = listener

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope,
                          address: str, rcpt_options: list[str]) -> str:
        if _base_address(address) not in self.listener.addresses:
            log.info("forwarding listener: refused a recipient that is not the channel's (550)")
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"


class _Session(SMTP):
    """One client connection, with the listener's limits."""

    def __init__(self, listener: ForwardingListener) -> None:
        super().__init__(
            _Handler(listener), data_size_limit=listener.max_message_bytes,
            hostname=listener.server_hostname, enable_SMTPUTF8=True, decode_data=False,
            timeout=listener.idle_timeout, loop=asyncio.get_running_loop())
        self.listener = listener
        self.refused = False
        self.peer_ip = "?"

    # -- connection cap ----------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        lst = self.listener
        peer = transport.get_extra_info("peername")
        self.peer_ip = str(peer[0]) if peer else "?"
        if self.transport is None and len(lst.sessions) >= lst.max_connections:
            self.refused = True
            lst.refused_connections += 1
            transport.write(b"421 4.7.0 Too many connections, try again later\r\n")  # type: ignore[attr-defined]
            transport.close()
            log.warning("forwarding listener: refused a connection from %s: %d already open (421)",
                        self.peer_ip, len(lst.sessions))
            return
        if self.transport is None:
            lst.sessions.add(self)
            log.info("forwarding listener: connection from %s (%d open)", self.peer_ip,
                     len(lst.sessions))
        super().connection_made(transport)

    def connection_lost(self, error: Exception | None) -> None:
        if self.refused:
            return
        self.listener.sessions.discard(self)
        super().connection_lost(error)

    def data_received(self, data: bytes) -> None:
        if not self.refused:
            super().data_received(data)

    def eof_received(self) -> bool | None:
        return False if self.refused else super().eof_received()

    def _timeout_cb(self) -> None:
        log.info("forwarding listener: closed a connection from %s: timed out", self.peer_ip)
        self.listener.timeouts += 1
        super()._timeout_cb()

    # -- DATA, streamed ----------------------------------------------------------------
    async def smtp_DATA(self, arg: str) -> None:
        """DATA to a spool file, with the size limit and the data timeout applied as it comes."""
        if await self.check_helo_needed() or await self.check_auth_needed("DATA"):
            return
        assert self.envelope is not None
        if not self.envelope.rcpt_tos:
            await self.push("503 Error: need RCPT command")
            return
        if arg:
            await self.push("501 Syntax: DATA")
            return
        lst = self.listener
        await self.push("354 End data with <CR><LF>.<CR><LF>")
        self._reset_timeout(lst.data_timeout)  # the whole transfer; idle_timeout per read
        started = time.monotonic()
        spool = Spool(lst.spool_dir, lst.max_message_bytes)
        try:
            try:
                await self._receive(spool)
            except TimeoutError:
                lst.timeouts += 1
                log.info("forwarding listener: closed a connection from %s: no data for %.0f s",
                         self.peer_ip, lst.idle_timeout)
                if self.transport is not None:
                    self.transport.close()
                return
            self._reset_timeout()
            if spool.over:
                lst.too_big += 1
                return  # refused while it streamed; the rest was read and dropped
            spool.close()
            status = await lst.deliver(spool, self.envelope, self.peer_ip, started)
            self._set_post_data_state()
            await self.push(status)
        finally:
            spool.discard()

    async def _receive(self, spool: Spool) -> None:
        lst = self.listener
        decoder = DataDecoder()
        head: bytes | None = b""  # first bytes: does the mail bring its own Return-Path?
        while not decoder.done:
            async with asyncio.timeout(lst.idle_timeout):
                chunk = await self._reader.read(CHUNK)
            if not chunk:
                raise ConnectionResetError("connection closed during DATA")
            payload, rest = decoder.feed(chunk)
            if rest:  # pipelined commands after the end of data: leave them for the reader
                self._reader._buffer[:0] = rest  # type: ignore[attr-defined]
            if head is not None:
                head += payload
                if len(head) < 12 and not decoder.done:
                    continue
                payload, head = self._return_path(head), None
            was_over = spool.over
            spool.write(payload)
            if spool.over and not was_over:
                # RFC 5321 lets a server answer when it likes; say it now, drop the rest
                log.info("forwarding listener: refused a mail from %s over the %d-byte limit (552)",
                         self.peer_ip, lst.max_message_bytes)
                await self.push(f"552 5.3.4 Message exceeds the {lst.max_message_bytes}-byte "
                                "size limit")
                self._set_post_data_state()

    def _return_path(self, head: bytes) -> bytes:
        """We are the final delivery agent: record the envelope sender (a null one marks
        bounces) unless the mail already carries it."""
        if head[:12].lower().startswith(b"return-path:"):
            return head
        assert self.envelope is not None
        mail_from = (self.envelope.mail_from or "").strip("<>")
        return f"Return-Path: <{mail_from}>\r\n".encode("utf-8", "surrogateescape") + head


class ForwardingListener:
    """An in-loop SMTP server for one channel's forwarded mail.

    ``addresses``: the channel's address(es); ``on_message``: awaited with a
    :class:`~engine.channels.smtp_data.SpooledMail`; ``port=0`` picks a free port (see
    :attr:`port` after :meth:`start`). Use it as ``async with`` so the socket is closed whatever
    happens from the moment it is bound.
    """

    def __init__(
        self,
        addresses: Iterable[str],
        on_message: MessageCallback,
        *,
        host: str = "127.0.0.1",
        port: int = 2525,
        max_message_bytes: int = 25 * 1024 * 1024,
        max_connections: int = 50,
        idle_timeout: float = 60.0,
        data_timeout: float = 600.0,
        spool_dir: Path | None = None,
        server_hostname: str = "ticketty.local",
    ) -> None:
        self.addresses = {_base_address(a) for a in addresses if a}
        self.on_message = on_message
        self.host = host
        self.port = port
        self.max_message_bytes = max_message_bytes
        self.max_connections = max_connections
        self.idle_timeout = idle_timeout
        self.data_timeout = data_timeout
        if spool_dir is None:
            import tempfile

            spool_dir = Path(tempfile.gettempdir()) / "ticketty-spool"
        self.spool_dir = spool_dir
        self.server_hostname = server_hostname
        self.sessions: set[_Session] = set()
        self.accepted = self.failed = self.too_big = 0
        self.refused_connections = self.timeouts = 0
        self._server: asyncio.base_events.Server | None = None
        quiet_aiosmtpd()

    async def deliver(self, spool: Spool, envelope: Envelope, peer_ip: str, started: float) -> str:
        """Hand a complete spooled mail to the callback; the SMTP status to answer."""
        mail = SpooledMail(spool.path, spool.size, envelope.mail_from or "",
                           list(envelope.rcpt_tos), peer_ip)
        try:
            await self.on_message(mail)
        except Exception:
            self.failed += 1
            log.exception("forwarding listener: could not take in a mail from %s (451)", peer_ip)
            return "451 4.3.0 Temporary failure, please retry"
        self.accepted += 1
        log.info("forwarding listener: accepted a mail of %d bytes from %s in %.0f ms",
                 spool.size, peer_ip, (time.monotonic() - started) * 1000)
        return "250 2.0.0 Message accepted"

    async def start(self) -> tuple[str, int]:
        """Bind and start serving; returns the ``(host, port)`` actually bound.

        The server object is kept before anything else can be awaited, so a cancellation at
        any point still closes the socket (see :meth:`stop`).
        """
        loop = asyncio.get_running_loop()
        self.spool_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        if sweep(self.spool_dir):
            log.info("forwarding listener: removed spool files left by a stopped process")
        self._server = await loop.create_server(lambda: _Session(self), host=self.host,
                                                port=self.port, start_serving=False)
        try:
            sock = self._server.sockets[0]
            self.host, self.port = sock.getsockname()[:2]
            await self._server.start_serving()
        except BaseException:
            self._close_now()
            raise
        log.info("forwarding listener on %s:%s (at most %d connections, %d-byte mails)",
                 self.host, self.port, self.max_connections, self.max_message_bytes)
        return self.host, self.port

    def _close_now(self) -> None:
        """Close the listening socket and every session at once (no awaiting)."""
        server, self._server = self._server, None
        if server is not None:
            server.close()
        for session in list(self.sessions):
            if session.transport is not None:
                session.transport.close()

    async def stop(self) -> None:
        server = self._server
        self._close_now()
        if server is not None:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(1.0):
                    await server.wait_closed()

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
