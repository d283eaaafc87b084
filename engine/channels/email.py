"""The team email channel: IMAP (with IDLE) or a forwarding SMTP listener in, SMTP out.

This module wires the pieces (``email_parse``, ``email_forward``, ``imap_client``,
``smtp_listener``, ``email_compose``, ``smtp_sender``) to the store and the ingest pipeline:

- every received mail is parsed, re-attributed if it was forwarded in by one of our agents,
  and ingested; a mail that cannot be parsed is quarantined with its raw bytes and the reason;
- IMAP sync state (UIDVALIDITY, last UID) lives in the channel's state in the store, written
  only *after* the batch's tickets are committed, so a crash re-fetches, and idempotency
  (the Message-ID) makes the re-fetch a no-op;
- replies leave through the outbox with the Message-ID fixed when they were queued.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import socket
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from engine.channels.base import ChannelAdapter
from engine.channels.email_compose import compose_reply
from engine.channels.email_forward import attribute_forwarded
from engine.channels.email_settings import EmailSettings
from engine.channels.email_work import OFFLOAD_OVER, MailParsers, Parsed
from engine.channels.smtp_data import Spool
from engine.ingest import ingest
from engine.models import Channel, IngestResult
from engine.outbox import OutboxItem, PermanentError
from engine.tasks import cancel_and_wait

log = logging.getLogger(__name__)

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


class _StoreSyncState:
    """IMAP ``(uidvalidity, last_uid)`` per folder, kept in the channel's state row."""

    def __init__(self, store: Any, channel_id: int):
        self.store = store
        self.channel_id = channel_id

    async def get_sync_state(self, folder: str) -> tuple[int, int] | None:
        state = await self.store.channel_state(self.channel_id)
        value = state.get("imap", {}).get(folder)
        return (int(value[0]), int(value[1])) if value else None

    async def put_sync_state(self, folder: str, uidvalidity: int, last_uid: int) -> None:
        state = await self.store.channel_state(self.channel_id)
        state.setdefault("imap", {})[folder] = [uidvalidity, last_uid]
        await self.store.set_channel_state(self.channel_id, state)


class EmailAdapter(ChannelAdapter):
    kind = "email"
    label = "Team email"
    settings_model = EmailSettings
    settings: EmailSettings

    def __init__(self, channel: Channel, engine: Any = None, *, reveal_secrets: bool = True):
        super().__init__(channel, engine, reveal_secrets=reveal_secrets)
        self.store = engine.store if engine is not None else None
        self.listener: Any = None
        self.imap: Any = None
        self.received = 0
        self.quarantined = 0
        self._trusted_cache: tuple[float, set[str]] | None = None
        self._health_written = 0.0
        self._mail_parsers: MailParsers | None = None

    # ------------------------------------------------------------------ receiving
    async def _trusted(self) -> set[str]:
        """Our agents' and the channel's addresses (forwarded-mail attribution), read at most
        every few seconds rather than once per mail."""
        now = time.monotonic()
        if self._trusted_cache is None or now - self._trusted_cache[0] > TRUSTED_TTL:
            agents = await self.store.agents()
            self._trusted_cache = (now, {a.email for a in agents} | {self.settings.address})
        return self._trusted_cache[1]

    def _parsers(self) -> MailParsers:
        """The parsing workers: the engine's shared pair, or this adapter's own."""
        if self._mail_parsers is None:
            budget = getattr(getattr(self.engine, "config", None), "engine", None)
            worker = getattr(self.engine, "worker", None)
            self._mail_parsers = MailParsers(
                timeout=budget.parse_timeout if budget else 60.0,
                memory_mb=budget.parse_memory_mb if budget else 256,
                workers=worker if callable(worker) else None, spill_dir=self._spool_dir())
        return self._mail_parsers

    async def close(self) -> None:
        """Stop the parsing workers this adapter started itself (not the engine's)."""
        if self._mail_parsers is not None:
            await self._mail_parsers.close()

    async def ingest_raw(self, raw: bytes, source: str) -> IngestResult | None:
        """Parse (in a worker), attribute and ingest one mail; quarantine it if it cannot be
        parsed within the budgets."""
        if len(raw) > OFFLOAD_OVER:  # let the worker read it from a file, in pieces
            spool = Spool(self._spool_dir(), len(raw) + 1)
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
        if parsed.message is None:
            raw = await asyncio.to_thread(read_raw)
            qid = await self.store.add_quarantine(f"email:{source}", parsed.quarantine or "",
                                                  raw, self.channel.id)
            self.quarantined += 1
            log.warning("email %s: a mail of %d bytes (%s) went to quarantine #%s: %s",
                        self.channel.name, size, source, qid, redact(parsed.quarantine or ""))
            return None
        msg = attribute_forwarded(parsed.message, use_original_sender=self.settings.use_original_sender,
                                  trusted_addresses=await self._trusted())
        result = await ingest(self.store, msg)
        self.received += 1
        if result.quarantined:  # a bounce for nothing we sent: kept raw by ingest
            self.quarantined += 1
        log.info("email %s: a mail of %d bytes (%s) → ticket #%s (%s)", self.channel.name, size,
                 source, result.ticket_id, _outcome(result))
        if result.created_ticket and self.settings.auto_reply:
            await self.store.write(self._queue_acknowledgement, msg, result)
        return result

    def _queue_acknowledgement(self, tx: Any, msg: Any, result: IngestResult) -> bool:
        """Queue the automatic acknowledgement — never to automatic mail, rate-limited per sender."""
        from engine.outbox import enqueue

        if msg.flags.auto_reply or msg.flags.bounce or msg.flags.list_mail:
            return False
        sender = msg.sender.lower()  # the rate limit is per sender; the mail goes to Reply-To
        day_ago = tx.now - 86400
        sent = tx.one("SELECT count(*) FROM auto_reply_log WHERE sender=? AND at > ?", (sender, day_ago))[0]
        if sent >= self.settings.auto_reply_limit:
            return False
        tx.execute("INSERT INTO auto_reply_log(sender, at) VALUES (?,?)", (sender, tx.now))
        tx.execute("DELETE FROM auto_reply_log WHERE at < ?", (day_ago,))
        text = self.settings.auto_reply_text.replace("{ticket}", f"#{result.ticket_id}")
        enqueue(tx, kind="autoreply", channel_id=self.channel.id, ticket_id=result.ticket_id,
                key=f"autoreply:{result.ticket_id}",
                payload={"to": (msg.reply_to or sender).lower(), "subject": msg.subject,
                         "text": text, "automatic": True,
                         "in_reply_to": msg.key if msg.key.startswith("<") else None})
        return True

    async def _on_forward(self, mail: Any) -> None:
        """One mail from the forwarding listener (a spooled file, deleted after we return)."""
        await self.ingest_file(mail.path, mail.size, "forwarding")
        now = time.time()
        if now - self._health_written > HEALTH_EVERY:  # not one extra write per mail
            self._health_written = now
            await self.store.set_channel_health(self.channel.id, connected=True, last_sync_at=now)

    async def _on_imap(self, uid: int, raw: bytes) -> None:
        await self.ingest_raw(raw, f"imap uid {uid}")

    def _imap_client(self) -> Any:
        from engine.channels.imap_client import ImapClient

        return ImapClient(self.settings, _StoreSyncState(self.store, self.channel.id), self._on_imap)

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
            data_timeout=st.forward_data_timeout, spool_dir=self._spool_dir(),
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
            await self.store.set_channel_health(self.channel.id, connected=True,
                                                listening=listener.bound, last_error=None,
                                                last_sync_at=time.time())
            await asyncio.Event().wait()

    async def _forget_listening(self) -> None:
        """No longer listening: say so, briefly (the engine may be stopping)."""
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.store.set_channel_health(
                self.channel.id, connected=False, listening=None), 2)

    def _spool_dir(self) -> Path:
        """Where mails wait while they arrive and are parsed: next to the database."""
        path = getattr(self.store, "path", None)
        return Path(path).with_suffix(".spool") if path else Path(tempfile.gettempdir()) / "ticketty-spool"

    async def _run_imap(self) -> None:
        self.imap = self._imap_client()
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
                        health["last_error_at"] = time.time()
                    elif self.imap.connected:
                        health["last_error"] = None
                    await self.store.set_channel_health(self.channel.id, **health)
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
        client = self._imap_client()
        before = self.received
        created_before = await self._count_tickets()
        try:
            await client.connect()
            fetched = await client.sync_once()
        except Exception as exc:
            reason = getattr(exc, "reason", None) or str(exc) or type(exc).__name__
            await self.store.set_channel_health(self.channel.id, connected=False, last_error=reason,
                                                last_error_at=time.time())
            raise RuntimeError(f"sync of {self.channel.name!r} failed: {reason}") from exc
        finally:
            await client.close()
            await self.close()
        await self.store.set_channel_health(self.channel.id, last_sync_at=time.time(), last_error=None)
        return {"fetched": fetched, "ingested": self.received - before,
                "tickets_created": await self._count_tickets() - created_before,
                "quarantined": self.quarantined}

    async def import_history(self, *, since: date | None = None, status: str = "closed",
                             progress: Callable[[int, int], None] | None = None) -> dict[str, int]:
        """Import the mailbox's existing mail (all, or since a date) as tickets in ``status``.

        No routing, no notifications; threads rebuild because each batch is ingested in date
        order and the Message-ID is the key, so a rerun (or a crash halfway) duplicates nothing.
        Afterwards the live channel starts after the newest imported UID.
        """
        from engine.channels.imap_proto import ImapError, uid_set
        from engine.importers import ImportReport, import_messages
        from engine.mail_import import our_addresses, prepare

        ours = await our_addresses(self.store, self.channel.id)

        client = self._imap_client()
        await client.connect()
        try:
            imap = client._require()
            await imap.noop()
            criteria = f"SINCE {since.strftime('%d-%b-%Y')}" if since else "ALL"
            resp = await imap.uid_search(criteria, charset=None)
            if resp.result != "OK":
                raise ImapError(f"IMAP: UID SEARCH failed: {resp.lines[-1]!r}")
            uids = sorted({int(x) for line in resp.lines[:-1] if isinstance(line, bytes)
                           for x in line.split() if x.isdigit()})
            total = ImportReport()
            if progress:
                progress(0, len(uids))
            from engine.channels.imap_proto import parse_fetch

            for i in range(0, len(uids), client.batch_size):
                batch = uids[i:i + client.batch_size]
                fetched = await imap.uid("fetch", uid_set(batch), "(UID BODY.PEEK[])")
                if fetched.result != "OK":
                    raise ImapError("IMAP: UID FETCH failed during the history import")
                bad: list[tuple[str, str, bytes]] = []
                skipped: list[str] = []
                messages = prepare([(f"imap uid {u}", raw) for u, raw in parse_fetch(fetched.lines)],
                                   channel_id=self.channel.id, status=status, since=None,
                                   quarantine=bad, ours=ours, skipped=skipped)
                for where, reason, raw in bad:
                    await self.store.add_quarantine("email:history", f"{where}: {reason}", raw,
                                                    self.channel.id)
                done = await import_messages(self.store, messages)
                done.read += len(bad) + len(skipped)
                done.quarantined += len(bad)
                done.skipped += len(skipped)
                total.add(done)
                if progress:
                    progress(min(i + len(batch), len(uids)), len(uids))
            await self.skip_existing(client)
            return {"found": len(uids), **total.as_dict()}
        finally:
            await client.close()

    async def skip_existing(self, client: Any = None) -> int:
        """Make the live channel start after the mail already in the folder (no history)."""
        own = client is None
        if own:
            client = self._imap_client()
            await client.connect()
        try:
            imap = client._require()
            resp = await imap.uid_search("ALL", charset=None)
            uids = [int(x) for line in resp.lines[:-1] if isinstance(line, bytes)
                    for x in line.split() if x.isdigit()]
            last = max(uids, default=0)
            await _StoreSyncState(self.store, self.channel.id).put_sync_state(
                self.settings.imap_folder, client.uidvalidity or 0, last)
            return last
        finally:
            if own:
                await client.close()

    async def _count_tickets(self) -> int:
        return await self.store.count_channel_tickets(self.channel.id)

    # -------------------------------------------------------------------- sending
    async def send(self, item: OutboxItem) -> str | None:
        p = item.payload
        if not p.get("to"):
            raise PermanentError("the contact has no email address to reply to")
        composed = compose_reply(
            self.settings, to=p["to"], subject=p.get("subject") or "", text=p.get("text") or "",
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

    def _token_getter(self) -> Any:
        """XOAUTH2 access tokens for SMTP (refreshed via httpx), one provider per adapter."""
        if not self.settings.oauth_provider:
            return None
        if getattr(self, "_tokens", None) is None:
            from engine.channels.email_oauth import OAuthTokenProvider

            self._tokens = OAuthTokenProvider(self.settings)
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

        result = await test_connection(self.settings)
        return [with_prefix(proto.upper(), reason) for proto, reason in result.items() if reason]

    def address(self) -> str:
        """The address, and for forwarding where mail must be sent: the address the running
        listener reported (health ``listening``), else the configured one."""
        s = self.settings
        if s.mode != "forwarding":
            return s.address
        listening = self.channel.health.get("listening")
        if listening:
            return f"{s.address} (forward to smtp://{listening})"
        host = f"[{s.forward_listen_host}]" if ":" in s.forward_listen_host \
            else s.forward_listen_host
        if not s.forward_listen_port:
            return f"{s.address} (not listening yet; any free port on {host})"
        return f"{s.address} (not listening yet; will listen on smtp://{host}:{s.forward_listen_port})"
