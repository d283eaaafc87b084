"""IMAP receiving with aioimaplib: connect, authenticate, sync by UID, stay in IDLE.

State per folder is ``(UIDVALIDITY, last_uid)``, kept by the caller through a
:class:`SyncState`. Every (re)connect reconciles by UID — ``UID SEARCH UID last+1:*`` then
``UID FETCH`` in batches with ``BODY.PEEK[]`` (leaves ``\\Seen`` alone) — so nothing is missed
after an outage and nothing is fetched twice. A changed UIDVALIDITY voids the cached UIDs: the
state restarts at 0 and ingest deduplicates by Message-ID. ``last_uid`` advances only after
``on_message`` returned (the message is committed); only then is it optionally marked seen or
moved.

aioimaplib gives raw response lines (the FETCH literal is a ``bytearray`` among them) that we
walk ourselves; it has no STARTTLS helper, so :func:`_starttls` upgrades the transport with
``loop.start_tls``. Connection-free helpers (sync state, errors, mailbox names, UID sets,
FETCH parsing) live in :mod:`engine.channels.imap_proto`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import aioimaplib
from aioimaplib.aioimaplib import STOP_WAIT_SERVER_PUSH, Command

from engine.channels.email_oauth import OAuthError, OAuthTokenProvider
from engine.channels.email_settings import EmailSettings
from engine.channels.imap_proto import (
    _EXISTS_RE,
    _UIDVALIDITY_RE,
    ImapError,
    MemorySyncState,
    SyncState,
    _text,
    encode_mailbox,
    parse_fetch,
    uid_set,
)
from engine.channels.smtp_sender import describe_connect_error, test_smtp_connection
from engine.models import utcnow
from engine.vault import reveal

log = logging.getLogger(__name__)

OnMessage = Callable[[int, bytes], Awaitable[Any]]


async def _starttls(
    client: aioimaplib.IMAP4, host: str, ctx: ssl.SSLContext, io_timeout: float
) -> None:
    proto = client.protocol
    if "STARTTLS" not in proto.capabilities:
        raise ImapError(f"IMAP: {host} does not offer STARTTLS — use imap_security=ssl or none")
    resp = await asyncio.wait_for(
        proto.execute(Command("STARTTLS", proto.new_tag(), loop=proto.loop)), io_timeout
    )
    if resp.result != "OK":
        raise ImapError(f"IMAP: STARTTLS refused: {_text(resp)}")
    loop = asyncio.get_running_loop()
    new_transport = await asyncio.wait_for(
        loop.start_tls(proto.transport, proto, ctx, server_hostname=host), io_timeout
    )
    proto.transport = new_transport
    await asyncio.wait_for(proto.capability(), io_timeout)  # capabilities may change after TLS


async def _xoauth2(client: aioimaplib.IMAP4, user: str, token: str) -> Any:
    """SASL XOAUTH2, answering the server's error challenge.

    A server that refuses the token (Gmail, Microsoft 365, Dovecot) first sends a continuation
    with the error details and waits for an empty line before its ``NO``; aioimaplib's
    ``xoauth2`` never answers it, so a refused token hung until the timeout instead of being
    reported as a refusal (needs re-authentication).
    """
    protocol = client.protocol
    original = protocol._continuation

    def answer(line: bytes) -> None:
        command = protocol.pending_sync_command
        if command is not None and command.name == "AUTHENTICATE":
            protocol.transport.write(b"\r\n")  # no more to say: the server answers NO
            return
        original(line)

    protocol._continuation = answer
    try:
        return await client.xoauth2(user, token)
    finally:
        del protocol._continuation  # back to the class's own


class ImapClient:
    """Receives one folder of one mailbox and hands each new mail to ``on_message(uid, raw)``.

    Use :meth:`run` for the long-lived loop (connect → sync → IDLE → … with reconnect and
    backoff), or :meth:`connect` + :meth:`sync_once` + :meth:`close` for a one-shot fetch
    (``ticketty channels sync``). ``ssl_context`` overrides certificate checks (tests use a
    self-signed server). Health is exposed in :attr:`connected`, :attr:`last_sync`,
    :attr:`last_error`, :attr:`needs_reauth`.
    """

    def __init__(
        self,
        settings: EmailSettings,
        state: SyncState,
        on_message: OnMessage,
        *,
        batch_size: int = 200,
        idle_refresh: float = 25 * 60,
        poll_interval: float = 60.0,
        timeout: float = 30.0,
        ssl_context: ssl.SSLContext | None = None,
        token_provider: OAuthTokenProvider | None = None,
        backoff: tuple[float, float] = (1.0, 300.0),
    ) -> None:
        self.settings = settings
        self.state = state
        self.on_message = on_message
        self.batch_size = batch_size
        self.idle_refresh = idle_refresh
        self.poll_interval = poll_interval
        self.timeout = timeout
        self.ssl_context = ssl_context
        self.token_provider = token_provider or (
            OAuthTokenProvider(settings) if settings.oauth_provider else None
        )
        self.backoff = backoff
        self.folder = settings.imap_folder
        self.client: aioimaplib.IMAP4 | None = None
        self.uidvalidity: int | None = None
        self.connected = False
        self.needs_reauth = False
        self.last_sync: datetime | None = None
        self.last_error: str | None = None
        self.fetched = 0
        self._lost = asyncio.Event()
        self._wake = asyncio.Event()
        self._stop = asyncio.Event()

    # -- connection -----------------------------------------------------------------------
    def _ctx(self) -> ssl.SSLContext:
        return self.ssl_context or ssl.create_default_context(ssl.Purpose.SERVER_AUTH)

    async def connect(self) -> None:
        """Connect, secure, authenticate and SELECT the folder. Raises :class:`ImapError`."""
        s = self.settings
        lost = self._lost = asyncio.Event()  # one event per connection: old ones can't leak

        def on_lost(exc: Exception | None) -> None:
            lost.set()
            if self._lost is lost:
                self.connected = False

        try:
            client = aioimaplib.IMAP4(
                host=s.imap_host,
                port=s.imap_port,
                timeout=self.timeout,
                conn_lost_cb=on_lost,
                ssl_context=self._ctx() if s.imap_security == "ssl" else None,
            )
            self.client = client
            try:
                await client.wait_hello_from_server()
            except TimeoutError as exc:
                hint = (
                    " — is this a TLS port? try imap_security=ssl"
                    if s.imap_security != "ssl"
                    else ""
                )
                raise ImapError(
                    f"IMAP: no greeting from {s.imap_host}:{s.imap_port}{hint}"
                ) from exc
            if s.imap_security == "starttls":
                await _starttls(client, s.imap_host, self._ctx(), self.timeout)
            await self._authenticate(client)
            await asyncio.wait_for(client.protocol.capability(), self.timeout)
            await self._select(client)
        except ImapError:
            await self._drop()
            raise
        except Exception as exc:
            await self._drop()
            raise ImapError(describe_connect_error(exc, "IMAP", s.imap_host, s.imap_port)) from exc
        self.connected = True

    async def _authenticate(self, client: aioimaplib.IMAP4) -> None:
        s = self.settings
        user = s.imap_user or s.address
        if self.token_provider is not None:
            for _attempt in range(2):
                try:
                    token = await self.token_provider()
                except OAuthError as exc:
                    self.needs_reauth = exc.needs_reauth
                    raise ImapError(f"IMAP: {exc.reason}", needs_reauth=exc.needs_reauth) from exc
                resp = await _xoauth2(client, user, token)
                if resp.result == "OK":
                    return
                self.token_provider.invalidate()  # maybe expired early: refresh once
            self.needs_reauth = True
            raise ImapError(f"IMAP: login failed (XOAUTH2): {_text(resp)}", needs_reauth=True)
        resp = await client.login(user, reveal(s.imap_password))
        if resp.result != "OK":
            self.needs_reauth = True
            raise ImapError(f"IMAP: login failed for {user}: {_text(resp)}", needs_reauth=True)
        self.needs_reauth = False

    async def _select(self, client: aioimaplib.IMAP4) -> None:
        resp = await client.select(encode_mailbox(self.folder))
        if resp.result != "OK":
            raise ImapError(f"IMAP: cannot open folder {self.folder!r}: {_text(resp)}")
        for line in resp.lines:
            if isinstance(line, bytes):
                m = _UIDVALIDITY_RE.search(line)
                if m:
                    self.uidvalidity = int(m.group(1))
        if self.uidvalidity is None:
            raise ImapError(f"IMAP: server sent no UIDVALIDITY for {self.folder!r}")

    async def _drop(self) -> None:
        client, self.client = self.client, None
        self.connected = False
        if client is None:
            return
        transport = getattr(client.protocol, "transport", None)
        if transport is not None:
            transport.close()
        for t in list(client.tasks) + list(client.protocol.tasks):
            t.cancel()

    async def close(self) -> None:
        """Log out politely (bounded by the timeout) and close the connection."""
        client = self.client
        if client is not None and self.connected and not self._lost.is_set():
            with contextlib.suppress(Exception):
                if client.has_pending_idle():
                    client.idle_done()
                await asyncio.wait_for(client.logout(), 5)
        await self._drop()

    # -- syncing --------------------------------------------------------------------------
    async def sync_once(self) -> int:
        """Fetch every UID above the stored one, in batches; returns how many were handed on."""
        client = self._require()
        assert self.uidvalidity is not None
        stored = await self.state.get_sync_state(self.folder)
        last = 0
        if stored is not None and stored[0] == self.uidvalidity:
            last = stored[1]
        elif stored is None or stored[0] != self.uidvalidity:
            if stored is not None:
                log.warning(
                    "IMAP %s: UIDVALIDITY changed %s → %s; full resync",
                    self.folder,
                    stored[0],
                    self.uidvalidity,
                )
            await self.state.put_sync_state(self.folder, self.uidvalidity, 0)
        await client.noop()  # let the server update our view with mail other sessions added
        resp = await client.uid_search(f"UID {last + 1}:*", charset=None)
        if resp.result != "OK":
            raise ImapError(f"IMAP: UID SEARCH failed: {_text(resp)}")
        found: set[int] = set()
        for line in resp.lines[:-1]:  # the last line is the tagged completion text
            if isinstance(line, bytes):
                found.update(int(x) for x in line.split() if x.isdigit())
        uids = sorted(found)
        uids = [u for u in uids if u > last]
        total = 0
        for i in range(0, len(uids), self.batch_size):
            batch = uids[i : i + self.batch_size]
            total += await self._fetch_batch(client, batch, last)
            last = max(last, batch[-1])
        self.last_sync = utcnow()
        self.fetched += total
        return total

    async def _fetch_batch(self, client: aioimaplib.IMAP4, batch: list[int], last: int) -> int:
        resp = await client.uid("fetch", uid_set(batch), "(UID BODY.PEEK[])")
        if resp.result != "OK":
            raise ImapError(f"IMAP: UID FETCH failed: {_text(resp)}")
        done: list[int] = []
        for uid, raw in sorted(parse_fetch(resp.lines)):
            if uid <= last:
                continue
            await self.on_message(uid, raw)  # committed when this returns
            await self.state.put_sync_state(self.folder, self.uidvalidity or 0, uid)
            last = uid
            done.append(uid)
        if done:
            await self._after_fetch(client, done)
        return len(done)

    async def _after_fetch(self, client: aioimaplib.IMAP4, uids: list[int]) -> None:
        mode = self.settings.after_fetch
        if mode == "none":
            return
        uset = uid_set(uids)
        if mode == "seen":
            resp = await client.uid("store", uset, "+FLAGS.SILENT", "(\\Seen)")
        else:
            resp = await self._move(client, uset)
            if resp.result != "OK" and "TRYCREATE" in _text(resp):
                await client.create(encode_mailbox(self.settings.move_folder))
                resp = await self._move(client, uset)
        if resp.result != "OK":  # the mail is committed already: report, don't refetch
            self.last_error = f"IMAP: after-fetch '{mode}' failed: {_text(resp)}"
            log.warning(self.last_error)

    async def _move(self, client: aioimaplib.IMAP4, uset: str) -> Any:
        folder = encode_mailbox(self.settings.move_folder)
        if client.has_capability("MOVE"):
            return await client.uid("move", uset, folder)
        resp = await client.uid("copy", uset, folder)  # RFC 6851 fallback
        if resp.result == "OK":
            await client.uid("store", uset, "+FLAGS.SILENT", "(\\Deleted)")
            if client.has_capability("UIDPLUS"):
                resp = await client.uid("expunge", uset)
        return resp

    def _require(self) -> aioimaplib.IMAP4:
        if self.client is None or not self.connected or self._lost.is_set():
            raise ImapError("IMAP: not connected")
        return self.client

    # -- IDLE -----------------------------------------------------------------------------
    def wake(self) -> None:
        """Leave IDLE now and sync (e.g. ``ticketty channels sync``)."""
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()

    async def idle_once(self) -> bool:
        """Wait in IDLE until new mail, :meth:`wake`, or the refresh interval; True = push seen."""
        client = self._require()
        if not client.has_capability("IDLE"):
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_interval)
            self._wake.clear()
            return False
        idle_task = await asyncio.wait_for(
            client.idle_start(timeout=self.idle_refresh), self.timeout
        )
        pushed = False
        lost = asyncio.ensure_future(self._lost.wait())
        woken = asyncio.ensure_future(self._wake.wait())
        try:
            while client.has_pending_idle() and not self._lost.is_set():
                push = asyncio.ensure_future(
                    client.wait_server_push(timeout=self.idle_refresh + 60)
                )
                await asyncio.wait({push, lost, woken}, return_when=asyncio.FIRST_COMPLETED)
                if not push.done():
                    push.cancel()
                    break
                try:
                    lines = push.result()
                except (TimeoutError, asyncio.CancelledError):
                    break
                if lines == STOP_WAIT_SERVER_PUSH:
                    break  # refresh interval elapsed: re-issue IDLE
                if any(isinstance(x, bytes) and _EXISTS_RE.match(x) for x in lines):
                    pushed = True
                    break
        finally:
            lost.cancel()
            woken.cancel()
        self._wake.clear()
        if self._lost.is_set():
            raise ImapError("IMAP: connection lost during IDLE")
        if client.has_pending_idle():
            client.idle_done()
        try:
            await asyncio.wait_for(idle_task, self.timeout)
        except TimeoutError as exc:  # aioimaplib #110: IDLE may hang after BYE
            raise ImapError("IMAP: server did not end IDLE") from exc
        return pushed

    async def run(self) -> None:
        """Connect, sync and IDLE until :meth:`stop`; reconnect with exponential backoff."""
        delay = self.backoff[0]
        while not self._stop.is_set():
            try:
                await self.connect()
                self.last_error = None
                delay = self.backoff[0]
                while not self._stop.is_set():
                    await self.sync_once()
                    if self._stop.is_set():
                        break
                    await self.idle_once()
            except ImapError as exc:
                self.last_error = exc.reason
                log.warning("IMAP %s: %s", self.settings.address, exc.reason)
            except (OSError, TimeoutError, aioimaplib.AioImapException) as exc:
                self.last_error = describe_connect_error(
                    exc, "IMAP", self.settings.imap_host, self.settings.imap_port
                )
                log.warning("IMAP %s: %s", self.settings.address, self.last_error)
            finally:
                await self.close()
            if self._stop.is_set():
                break
            # credentials refused: retry slowly, the user has to fix them
            wait = self.backoff[1] if self.needs_reauth else delay
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), wait)
            delay = min(delay * 2, self.backoff[1])


async def test_imap_connection(
    settings: EmailSettings, *, ssl_context: ssl.SSLContext | None = None, io_timeout: float = 15.0,
    token_provider: OAuthTokenProvider | None = None,
) -> str | None:
    """Connect, log in and open the folder; ``None`` if fine, else a precise reason."""

    async def _noop(uid: int, raw: bytes) -> None:
        return None

    client = ImapClient(
        settings, MemorySyncState(), _noop, ssl_context=ssl_context, timeout=io_timeout,
        token_provider=token_provider,
    )
    try:
        await client.connect()
    except ImapError as exc:
        return exc.reason
    finally:
        await client.close()
    return None


async def test_connection(
    settings: EmailSettings,
    *,
    ssl_context: ssl.SSLContext | None = None,
    io_timeout: float = 15.0,
    token_provider: OAuthTokenProvider | None = None,
) -> dict[str, str | None]:
    """Both checks the setup wizard shows: ``{"imap": reason|None, "smtp": reason|None}``.

    IMAP is skipped (``None``) in forwarding mode. ``token_provider``: the channel's own (so a
    refresh token the provider rotates during the test is kept), else a new one.
    """
    token = token_provider or (OAuthTokenProvider(settings) if settings.oauth_provider else None)
    imap = None
    if settings.mode == "imap":
        imap = await test_imap_connection(settings, ssl_context=ssl_context,
                                          io_timeout=io_timeout, token_provider=token)
    smtp = await test_smtp_connection(
        settings, token_getter=token, tls_context=ssl_context, io_timeout=io_timeout
    )
    return {"imap": imap, "smtp": smtp}


# keep pytest from collecting these when a test module imports them by name
test_imap_connection.__test__ = False  # type: ignore[attr-defined]
test_connection.__test__ = False  # type: ignore[attr-defined]
