"""The team email channel: IMAP (with IDLE) or a forwarding SMTP listener in, SMTP out.

This module wires the pieces (``email_parse``, ``email_forward``, ``imap_client``,
``smtp_listener``, ``email_compose``, ``smtp_sender``) to the channel host
(:mod:`engine.channels.host`: ingest, quarantine, health, state, enqueue — never the store):

- every received mail is parsed, re-attributed if it was forwarded in by one of our agents,
  and ingested; a mail that cannot be parsed is quarantined with its raw bytes and the reason;
- IMAP sync state (UIDVALIDITY, last UID) lives in the channel's state, written
  only *after* the batch's tickets are committed, so a crash re-fetches, and idempotency
  (the Message-ID) makes the re-fetch a no-op;
- replies leave through the outbox with the Message-ID fixed when they were queued
  (:func:`engine.channels.email_kind.prepare_reply`); history import and skipping the mail
  already there are in :mod:`engine.channels.email_history`.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import socket
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from engine.channels import email_history, email_kind
from engine.channels.abilities import Ability
from engine.channels.base import ChannelAdapter
from engine.channels.contract import ComposerSpec, ReplyContext, ReplyPlan
from engine.channels.email_compose import compose_reply
from engine.channels.email_settings import EmailSettings
from engine.channels.email_work import OFFLOAD_OVER, MailParsers, Parsed
from engine.channels.host import SendLimit
from engine.channels.registry import EMAIL
from engine.channels.smtp_data import Spool
from engine.models import Channel, InboundMessage, IngestResult, Ticket
from engine.outbox import OutboxItem, PermanentError
from engine.tasks import cancel_and_wait

if TYPE_CHECKING:
    from engine.channels.host import ChannelHost

_ADDRESS_RE = re.compile(r"[^\s<>\"'(),;:]+@[^\s<>\"'(),;:]+")


def redact(text: str) -> str:
    """``text`` with every email address replaced: customer addresses stay out of the log."""
    return _ADDRESS_RE.sub("<address>", text)


def _outcome(result: IngestResult) -> str:
    if result.duplicate:
        return "already there"
    return "new ticket" if result.created_ticket else "added to the ticket"


TRUSTED_TTL = 5.0  # seconds an agent-address snapshot is reused for attribution
HEALTH_EVERY = 5.0  # seconds between "last sync" health writes of a busy forwarding listener


def listen_error(host: str, port: int, exc: OSError) -> str:
    """Why the forwarding listener cannot listen on ``host:port``, in words."""
    import errno

    where = f"{host}:{port}"
    if exc.errno == errno.EADDRINUSE:
        return f"port {port} is already in use on {host} (another program or channel listens there)"
    if exc.errno == errno.EACCES:
        return (f"not allowed to listen on {where}: ports below 1024 need root or "
                "CAP_NET_BIND_SERVICE; use a higher port and redirect to it in the firewall")
    if exc.errno == errno.EADDRNOTAVAIL or isinstance(exc, socket.gaierror):
        return f"{host} is not an address of this machine"
    return f"cannot listen on {where}: {exc.strerror or exc}"


async def listen_problem(host: str, port: int) -> str | None:
    """Try listening on ``host:port`` for a moment: None if it works, else the reason."""
    try:
        server = await asyncio.get_running_loop().create_server(asyncio.Protocol, host, port)
    except OSError as exc:
        return listen_error(host, port, exc)
    server.close()
    await server.wait_closed()
    return None


def with_prefix(proto: str, reason: str) -> str:
    """``"SMTP: reason"`` — once: the IMAP and SMTP checks already name their protocol."""
    return reason if reason.upper().startswith(f"{proto}:") else f"{proto}: {reason}"


class HostSyncState:
    """IMAP ``(uidvalidity, last_uid)`` per folder, kept in the channel's state."""

    def __init__(self, host: ChannelHost):
        self.host = host

    async def get_sync_state(self, folder: str) -> tuple[int, int] | None:
        state = await self.host.state()
        value = state.get("imap", {}).get(folder)
        return (int(value[0]), int(value[1])) if value else None

    async def put_sync_state(self, folder: str, uidvalidity: int, last_uid: int) -> None:
        state = await self.host.state()
        state.setdefault("imap", {})[folder] = [uidvalidity, last_uid]
        await self.host.set_state(state)


class EmailAdapter(ChannelAdapter):
    """The email kind: receives over IMAP or the forwarding listener, sends over SMTP."""

    kind = EMAIL.kind
    abilities: ClassVar[frozenset[Ability]] = EMAIL.abilities
    settings_model = EmailSettings
    settings: EmailSettings

    def __init__(self, channel: Channel, host: ChannelHost, *,
                 settings: dict[str, Any] | None = None) -> None:
        super().__init__(channel, host, settings=settings)
        self.listener: Any = None
        self.imap: Any = None
        self.received = 0
        self.quarantined = 0
        self._trusted_cache: tuple[float, set[str]] | None = None
        self._health_written = 0.0
        self._mail_parsers: MailParsers | None = None
        self._tokens: Any = None

    # ------------------------------------------------------------------ receiving
    async def _trusted(self) -> set[str]:
        """Our agents' and the channel's addresses (forwarded-mail attribution), read at most
        every few seconds rather than once per mail."""
        now = time.monotonic()
        if self._trusted_cache is None or now - self._trusted_cache[0] > TRUSTED_TTL:
            agents = await self.host.agent_addresses()
            self._trusted_cache = (now, agents | {self.settings.address})
        return self._trusted_cache[1]

    def _parsers(self) -> MailParsers:
        """The parsing workers: the engine's shared pair, or this adapter's own."""
        if self._mail_parsers is None:
            budget = self.host.budget
            self._mail_parsers = MailParsers(
                timeout=budget.timeout, memory_mb=budget.memory_mb, workers=self.host.workers,
                spill_dir=self.host.spool_dir)
        return self._mail_parsers

    async def close(self) -> None:
        """Stop the parsing workers this adapter started itself (not the engine's)."""
        if self._mail_parsers is not None:
            await self._mail_parsers.close()

    async def ingest_raw(self, raw: bytes, source: str) -> IngestResult | None:
        """Parse (in a worker), attribute and ingest one mail; quarantine it if it cannot be
        parsed within the budgets."""
        if len(raw) > OFFLOAD_OVER:  # let the worker read it from a file, in pieces
            spool = Spool(self.host.spool_dir, len(raw) + 1)
            try:
                spool.write(raw)
                spool.close()
                return await self.ingest_file(spool.path, len(raw), source)
            finally:
                spool.discard()
        parsed = await self._parsers().parse(raw, len(raw), channel_id=self.channel.id,
                                             max_bytes=self.settings.max_message_bytes)
        return await self._take(parsed, source, lambda: raw, len(raw))

    async def ingest_file(self, path: Path, size: int, source: str) -> IngestResult | None:
        """Like :meth:`ingest_raw` for a mail spooled to ``path`` (never read whole here)."""
        parsed = await self._parsers().parse(str(path), size, channel_id=self.channel.id,
                                             max_bytes=self.settings.max_message_bytes)
        return await self._take(parsed, source, path.read_bytes, size)

    async def _take(self, parsed: Parsed, source: str, read_raw: Callable[[], bytes],
                    size: int) -> IngestResult | None:
        log = self.host.log
        if parsed.message is None:
            raw = await asyncio.to_thread(read_raw)
            qid = await self.host.quarantine(f"email:{source}", parsed.quarantine or "", raw)
            self.quarantined += 1
            log.warning("email %s: a mail of %d bytes (%s) went to quarantine #%s: %s",
                        self.channel.name, size, source, qid, redact(parsed.quarantine or ""))
            return None
        msg = email_kind.attribute(parsed.message, self.settings, await self._trusted())
        result = await self.host.ingest(msg)
        self.received += 1
        if result.quarantined:  # a bounce for nothing we sent: kept raw by ingest
            self.quarantined += 1
        log.info("email %s: a mail of %d bytes (%s) → ticket #%s (%s)", self.channel.name, size,
                 source, result.ticket_id, _outcome(result))
        if result.created_ticket and self.settings.auto_reply:
            await self.acknowledge(msg, result)
        return result

    async def acknowledge(self, msg: InboundMessage, result: IngestResult) -> bool:
        """Queue the automatic acknowledgement — never to automatic mail, rate-limited per sender."""
        if msg.flags.auto_reply or msg.flags.bounce or msg.flags.list_mail:
            return False
        sender = msg.sender.lower()  # the rate limit is per sender; the mail goes to Reply-To
        text = self.settings.auto_reply_text.replace("{ticket}", f"#{result.ticket_id}")
        queued = await self.host.enqueue(
            "autoreply", ticket_id=result.ticket_id, key=f"autoreply:{result.ticket_id}",
            payload={"to": (msg.reply_to or sender).lower(), "subject": msg.subject,
                     "text": text, "automatic": True,
                     "in_reply_to": msg.key if msg.key.startswith("<") else None},
            limit=SendLimit(sender, self.settings.auto_reply_limit))
        return queued is not None

    async def _on_forward(self, mail: Any) -> None:
        """One mail from the forwarding listener (a spooled file, deleted after we return)."""
        await self.ingest_file(mail.path, mail.size, "forwarding")
        now = self.host.clock()
        if now - self._health_written > HEALTH_EVERY:  # not one extra write per mail
            self._health_written = now
            await self.host.health(connected=True, last_sync_at=now)

    async def _on_imap(self, uid: int, raw: bytes) -> None:
        await self.ingest_raw(raw, f"imap uid {uid}")

    def imap_client(self) -> Any:
        """An IMAP client for this channel's folder, its sync state kept by the host."""
        from engine.channels.imap_client import ImapClient

        return ImapClient(self.settings, HostSyncState(self.host), self._on_imap,
                          token_provider=self._token_getter())

    async def run(self) -> None:
        # the parsing worker warms up meanwhile: listening first makes a takeover quick
        warm = asyncio.ensure_future(self._parsers().start())
        try:
            if self.settings.mode == "forwarding":
                await self._run_forwarding()
            else:
                await self._run_imap()
        finally:
            await cancel_and_wait([warm])
            await asyncio.shield(self.close())

    async def _run_forwarding(self) -> None:
        from engine.channels.smtp_listener import ForwardingListener

        st = self.settings
        self.listener = ForwardingListener(
            [st.address], self._on_forward, host=st.forward_listen_host,
            port=st.forward_listen_port, max_message_bytes=st.max_message_bytes,
            max_connections=st.forward_max_connections, idle_timeout=st.forward_idle_timeout,
            data_timeout=st.forward_data_timeout, spool_dir=self.host.spool_dir,
        )
        # owned by an exit stack from the moment it binds: a cancel at any point (a channel
        # restarted on channel.added …) closes the socket, never leaks it
        async with contextlib.AsyncExitStack() as stack:
            try:
                listener = await stack.enter_async_context(self.listener)
            except OSError as exc:
                raise RuntimeError("forwarding listener: " + listen_error(
                    st.forward_listen_host, st.forward_listen_port, exc)) from exc
            stack.push_async_callback(self._forget_listening)
            # the bound address (a real port even when 0 was asked for), for every process to show
            await self.host.health(connected=True, listening=listener.bound, last_error=None,
                                   last_sync_at=self.host.clock())
            await asyncio.Event().wait()

    async def _forget_listening(self) -> None:
        """No longer listening: say so, briefly (the engine may be stopping)."""
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.host.health(connected=False, listening=None), 2)

    async def _run_imap(self) -> None:
        self.imap = self.imap_client()
        runner = asyncio.ensure_future(self.imap.run())
        last: tuple[Any, ...] | None = None
        try:
            while not runner.done():
                state = (self.imap.connected, self.imap.last_error, self.imap.needs_reauth,
                         self.imap.last_sync)
                if state != last:
                    last = state
                    health: dict[str, Any] = {"connected": self.imap.connected,
                                              "needs_reauth": self.imap.needs_reauth}
                    if self.imap.last_sync:
                        health["last_sync_at"] = self.imap.last_sync.timestamp()
                    if self.imap.last_error and not self.imap.connected:
                        health["last_error"] = self.imap.last_error
                        health["last_error_at"] = self.host.clock()
                    elif self.imap.connected:
                        health["last_error"] = None
                    await self.host.health(**health)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(asyncio.shield(runner), 0.5)
            runner.result()
        finally:
            self.imap.stop()
            runner.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await runner

    async def sync_once(self) -> dict[str, Any]:
        if self.settings.mode == "forwarding":
            return {"fetched": 0, "note": "forwarding channel: mail arrives by SMTP, nothing to fetch"}
        client = self.imap_client()
        before = self.received
        created_before = await self.host.ticket_count()
        try:
            await client.connect()
            fetched = await client.sync_once()
        except Exception as exc:
            reason = getattr(exc, "reason", None) or str(exc) or type(exc).__name__
            await self.host.health(connected=False, last_error=reason,
                                   last_error_at=self.host.clock())
            raise RuntimeError(f"sync of {self.channel.name!r} failed: {reason}") from exc
        finally:
            await client.close()
            await self.close()
        await self.host.health(last_sync_at=self.host.clock(), last_error=None)
        return {"fetched": fetched, "ingested": self.received - before,
                "tickets_created": await self.host.ticket_count() - created_before,
                "quarantined": self.quarantined}

    async def import_history(self, *, since: date | None = None, status: str = "closed",
                             progress: Callable[[int, int], None] | None = None) -> dict[str, int]:
        """See :func:`engine.channels.email_history.import_history`."""
        return await email_history.import_history(self, since=since, status=status,
                                                   progress=progress)

    async def skip_existing(self) -> int:
        """See :func:`engine.channels.email_history.skip_existing`."""
        return await email_history.skip_existing(self)

    # -------------------------------------------------------------------- sending
    async def send(self, item: OutboxItem) -> str | None:
        p = item.payload
        if not p.get("to"):
            raise PermanentError("the contact has no email address to reply to")
        # ``from``: another address of ours (a chat channel's ``transcript_from``)
        settings = self.settings.model_copy(update={"address": p["from"]}) if p.get("from") \
            else self.settings
        composed = compose_reply(
            settings, to=p["to"], subject=p.get("subject") or "", text=p.get("text") or "",
            ticket_id=item.ticket_id or 0, message_id=item.message_id or 0,
            idempotency_key=item.idempotency_key, agent_name=p.get("agent_name"),
            in_reply_to=p.get("in_reply_to"), references=p.get("references") or [],
            automatic=bool(p.get("automatic")),
        )
        return await self._deliver(composed)

    async def _deliver(self, composed: Any) -> str:
        """Send over SMTP; a refusal that will not change (bad address …) is permanent."""
        from engine.channels.smtp_sender import EmailSendError, send_mail

        try:
            await send_mail(self.settings, composed, token_getter=self._token_getter())
        except EmailSendError as exc:
            if not getattr(exc, "transient", True):
                raise PermanentError(str(exc)) from exc
            raise
        return composed.message_id

    async def _keep_refresh_token(self, token: str) -> None:
        if self.channel.id is None:  # a wizard's test before saving: its settings hold it
            return
        await self.host.save_secret("oauth_refresh_token", token)
        self.host.log.info("channel %s: the provider rotated the refresh token; saved",
                           self.channel.name)

    def _token_getter(self) -> Any:
        """XOAUTH2 access tokens for SMTP (refreshed via httpx), one provider per adapter."""
        if not self.settings.oauth_provider:
            return None
        if self._tokens is None:
            from engine.channels.email_oauth import OAuthTokenProvider

            self._tokens = OAuthTokenProvider(self.settings, on_rotate=self._keep_refresh_token)
        return self._tokens

    async def send_notification(self, item: OutboxItem) -> str | None:
        """An automatic mail to an agent (e.g. a ticket routed to them while away)."""
        p = item.payload
        composed = compose_reply(
            self.settings, to=p["to"], subject=p["subject"], text=p["text"],
            ticket_id=item.ticket_id or 0, message_id=0, idempotency_key=item.idempotency_key,
            agent_name=None, automatic=True,
        )
        return await self._deliver(composed)

    # ----------------------------------------------------------------- connection
    async def test_connection(self) -> list[str]:
        from engine.channels.imap_client import test_connection

        result = await test_connection(self.settings, token_provider=self._token_getter())
        return [with_prefix(proto.upper(), reason) for proto, reason in result.items() if reason]

    # ------------------------------------------------------------ pure kind hooks
    @classmethod
    def address_of(cls, channel: Channel) -> str:
        return email_kind.address_of(channel)

    @classmethod
    def prepare_reply(cls, ctx: ReplyContext) -> ReplyPlan:
        return email_kind.prepare_reply(ctx)

    @classmethod
    def attribute(cls, msg: InboundMessage, channel: Channel,
                  agents: set[str]) -> InboundMessage:
        settings = EmailSettings.model_validate(channel.settings)
        return email_kind.attribute(msg, settings, agents | {settings.address})

    @classmethod
    def signature_preview(cls, channel: Channel, agent_name: str) -> str:
        return email_kind.signature_preview(channel, agent_name)

    @classmethod
    def composer_spec(cls, channel: Channel | None, ticket: Ticket) -> ComposerSpec:
        return email_kind.composer_spec(channel, ticket)
