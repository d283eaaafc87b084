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
import time
from collections.abc import Callable
from datetime import date
from typing import Any

from engine.channels.base import ChannelAdapter
from engine.channels.email_compose import compose_reply
from engine.channels.email_forward import attribute_forwarded
from engine.channels.email_parse import EmailParseError, parse_email
from engine.channels.email_settings import EmailSettings
from engine.ingest import ingest
from engine.models import Channel, IngestResult
from engine.outbox import OutboxItem, PermanentError

log = logging.getLogger(__name__)

TRUSTED_TTL = 5.0  # seconds an agent-address snapshot is reused for attribution
HEALTH_EVERY = 5.0  # seconds between "last sync" health writes of a busy forwarding listener


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

    def __init__(self, channel: Channel, engine: Any = None):
        super().__init__(channel, engine)
        self.store = engine.store if engine is not None else None
        self.listener: Any = None
        self.imap: Any = None
        self.received = 0
        self.quarantined = 0
        self._trusted_cache: tuple[float, set[str]] | None = None
        self._health_written = 0.0

    # ------------------------------------------------------------------ receiving
    async def _trusted(self) -> set[str]:
        """Our agents' and the channel's addresses (forwarded-mail attribution), read at most
        every few seconds rather than once per mail."""
        now = time.monotonic()
        if self._trusted_cache is None or now - self._trusted_cache[0] > TRUSTED_TTL:
            agents = await self.store.agents()
            self._trusted_cache = (now, {a.email for a in agents} | {self.settings.address})
        return self._trusted_cache[1]

    async def ingest_raw(self, raw: bytes, source: str) -> IngestResult | None:
        """Parse, attribute and ingest one mail; quarantine it if it cannot be parsed."""
        try:
            msg = parse_email(raw, channel_id=self.channel.id,
                              max_bytes=self.settings.max_message_bytes)
        except EmailParseError as exc:
            await self.store.add_quarantine(f"email:{source}", str(exc), raw, self.channel.id)
            self.quarantined += 1
            log.warning("email %s: quarantined a mail: %s", self.channel.name, exc)
            return None
        msg = attribute_forwarded(msg, use_original_sender=self.settings.use_original_sender,
                                  trusted_addresses=await self._trusted())
        result = await ingest(self.store, msg)
        self.received += 1
        if result.quarantined:  # a bounce for nothing we sent: kept raw by ingest
            self.quarantined += 1
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

    async def _on_forward(self, raw: bytes, mail_from: str, rcpt_tos: list[str]) -> None:
        await self.ingest_raw(raw, "forwarding")
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
        if self.settings.mode == "forwarding":
            await self._run_forwarding()
        else:
            await self._run_imap()

    async def _run_forwarding(self) -> None:
        from engine.channels.smtp_listener import ForwardingListener

        self.listener = ForwardingListener(
            [self.settings.address], self._on_forward, host=self.settings.forward_listen_host,
            port=self.settings.forward_listen_port, max_message_bytes=self.settings.max_message_bytes,
        )
        try:
            host, port = await self.listener.start()
        except OSError as exc:
            raise RuntimeError(f"forwarding listener cannot listen on "
                               f"{self.settings.forward_listen_host}:{self.settings.forward_listen_port}: "
                               f"{exc.strerror or exc}") from exc
        await self.store.set_channel_health(self.channel.id, connected=True, listening=f"{host}:{port}",
                                            last_error=None, last_sync_at=time.time())
        try:
            await asyncio.Event().wait()
        finally:
            await self.listener.stop()

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
        row = await self.store.read(lambda c: c.execute(
            "SELECT count(*) FROM tickets WHERE channel_id=?", (self.channel.id,)).fetchone())
        return row[0]

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
        return [f"{proto.upper()}: {reason}" for proto, reason in result.items() if reason]

    def address(self) -> str:
        if self.settings.mode == "forwarding":
            return (f"{self.settings.address} (forward to smtp://{self.settings.forward_listen_host}:"
                    f"{self.settings.forward_listen_port})")
        return self.settings.address
