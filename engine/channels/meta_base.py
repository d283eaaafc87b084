"""The part of the Messenger and WhatsApp adapters that is the same: the webhook routes,
the durable inbox, GDPR consent, automatic messages, media and sending through Graph.

A ``POST`` is checked against its signature before anything is parsed (missing or wrong:
403, counted in the channel's health as ``refused_signatures`` and logged), kept raw in the
inbox (one short write) and answered 200; :meth:`MetaAdapter.run` processes the inbox, so a
slow store never makes Meta retry, and a crash between the two leaves the delivery to be
processed again (ingest is idempotent by ``mid`` / ``wamid``). A delivery that cannot be used
is quarantined with its bytes. Each kind brings its payload reading (``handle_payload``) and
its sending (``deliver``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar, cast

from engine.channels.base import ChannelAdapter
from engine.channels.contract import ComposerSpec, ReplyWindow
from engine.channels.meta_graph import GraphClient, GraphError, TooLarge
from engine.channels.meta_settings import MessengerSettings, WhatsAppSettings
from engine.channels.meta_signature import handshake, signature_ok
from engine.channels.meta_windows import Window
from engine.models import InboundAttachment, IngestResult
from engine.outbox import PermanentError

if TYPE_CHECKING:
    from engine.channels.messaging_host import MessagingHost
    from engine.models import Channel, Ticket
    from engine.outbox import OutboxItem

AGREE_PAYLOAD = "GDPR_AGREE"
START_RETRY_MIN, START_RETRY_MAX = 2.0, 300.0  # seconds between start-up sync attempts
INBOX_KEEP = 30 * 86400.0  # processed deliveries are kept raw this long (the audit trail)
AGREE_TITLE = "I agree"


class RetryLater(Exception):
    """A send Meta may accept later (rate limits, its own trouble): the outbox retries."""


class MetaAdapter(ChannelAdapter):
    """Shared by :class:`~engine.channels.messenger.MessengerAdapter` and
    :class:`~engine.channels.whatsapp.WhatsAppAdapter`."""

    #: the contact identity kind its people are known by
    identity: ClassVar[str] = ""
    #: the Graph ``object`` its webhook deliveries carry
    webhook_object: ClassVar[str] = ""
    settings: MessengerSettings | WhatsAppSettings

    def __init__(self, channel: Channel, host: Any, *,
                 settings: dict[str, Any] | None = None) -> None:
        super().__init__(channel, host, settings=settings)
        self._wake = asyncio.Event()
        self.refused = int(channel.health.get("refused_signatures") or 0)
        self._graph: GraphClient | None = None

    @property
    def mhost(self) -> MessagingHost:
        return cast("MessagingHost", self.host)

    # ------------------------------------------------------------------- graph
    def token(self) -> str:
        raise NotImplementedError

    @property
    def graph(self) -> GraphClient:
        if self._graph is None:
            self._graph = GraphClient(self.settings.graph_base_url, self.token())
        return self._graph

    async def close(self) -> None:
        if self._graph is not None:
            await self._graph.close()

    # --------------------------------------------------------------------- web
    @classmethod
    def public_links(cls, channel: Channel, base_url: str) -> dict[str, str]:
        return {"webhook_url": f"{base_url}{cls.prefix_of(channel)}/webhook"}

    @classmethod
    def prefix_of(cls, channel: Channel) -> str:
        return f"/{cls.kind}/{channel.id}"

    def routes(self) -> list[Any]:
        from fastapi import APIRouter, Request, Response

        from engine.web.mounts import WebMount

        router = APIRouter()

        # plain Starlette endpoints (no FastAPI dependency injection): they read the raw body
        async def verify(request: Request) -> Response:
            challenge = handshake(request.query_params,
                                  self.settings.verify_token.get_secret_value())
            if challenge is None:
                await self.refuse(request.client.host if request.client else "?",
                                  "the verification request's token or mode is wrong")
                return Response("forbidden", status_code=403, media_type="text/plain")
            return Response(challenge, media_type="text/plain")

        async def deliver(request: Request) -> Response:
            body = await request.body()
            header = request.headers.get("x-hub-signature-256")
            if not signature_ok(self.settings.app_secret.get_secret_value(), body, header):
                await self.refuse(request.client.host if request.client else "?",
                                  "missing signature" if not header else "wrong signature")
                return Response("forbidden", status_code=403, media_type="text/plain")
            await self.accept(body)
            return Response("EVENT_RECEIVED", media_type="text/plain")

        router.add_route("/webhook", verify, methods=["GET"])
        router.add_route("/webhook", deliver, methods=["POST"])

        return [WebMount(self.prefix_of(self.channel), router, name=self.channel.name,
                         max_body=4 * 1024 * 1024)]

    async def refuse(self, client: str, reason: str) -> None:
        """Count and log a refused delivery (the platform, or someone pretending to be it)."""
        self.refused += 1
        self.host.log.warning("%s %r: refused a webhook from %s: %s (%d refused so far)",
                              self.kind, self.channel.name, client, reason, self.refused)
        with contextlib.suppress(Exception):
            await self.host.health(refused_signatures=self.refused, last_refusal=reason,
                                   last_refusal_at=self.host.clock())

    async def accept(self, body: bytes) -> int:
        """Keep a signed delivery in the inbox and wake the processing loop."""
        row = await self.mhost.inbox_add(body)
        self._wake.set()
        return row

    # ----------------------------------------------------------------- receive
    async def run(self) -> None:
        """Process the inbox until cancelled; push the greeting / sync templates first (tried
        again with backoff while Graph cannot be reached: receiving never waits for it)."""
        retry_at: float | None = 0.0
        prune_at = 0.0
        delay = START_RETRY_MIN
        await self.host.health(connected=True, listening=f"{self.prefix_of(self.channel)}/webhook")
        try:
            while True:
                if retry_at is not None and time.monotonic() >= retry_at:
                    if await self.start_sync():
                        retry_at = None
                    else:
                        retry_at, delay = time.monotonic() + delay, \
                            min(START_RETRY_MAX, delay * 2)
                if time.monotonic() >= prune_at:
                    prune_at = time.monotonic() + 3600
                    await self.mhost.inbox_prune(self.host.clock() - INBOX_KEEP)
                self._wake.clear()
                while await self.process_pending():
                    pass
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(1.0):
                        await self._wake.wait()
        finally:
            with contextlib.suppress(Exception):
                await asyncio.shield(self.host.health(connected=False))

    async def start_sync(self) -> bool:
        """:meth:`on_start`, its failure in the health and the log; whether it worked."""
        try:
            await self.on_start()
        except Exception as exc:  # a bad token must not stop receiving
            self.host.log.warning("%s %r: start-up sync failed: %s", self.kind, self.channel.name,
                                  exc)
            await self.host.health(last_error=f"start-up sync: {exc}",
                                   last_error_at=self.host.clock())
            return False
        return True

    async def process_pending(self) -> int:
        """Process what waits in the inbox; returns how many deliveries were taken."""
        rows = await self.mhost.inbox_pending()
        for row_id, body in rows:
            error: str | None = None
            try:
                await self.ingest_raw(body)
            except Exception as exc:  # kept in quarantine, never lost
                error = str(exc) or type(exc).__name__
                self.host.log.exception("%s %r: a delivery failed", self.kind, self.channel.name)
                await self.host.quarantine(self.kind, f"processing failed: {error}", body)
            await self.mhost.inbox_done(row_id, error)
        return len(rows)

    async def on_start(self) -> None:
        """What the engine does when it starts the channel (greeting, templates)."""

    async def ingest_raw(self, body: bytes) -> IngestResult | None:
        """Turn one delivery into messages; the first message's result (None: nothing to
        ingest, or unusable input, which is quarantined with its bytes)."""
        try:
            payload = json.loads(body)
        except ValueError:
            payload = None
        if not isinstance(payload, dict) or payload.get("object") != self.webhook_object \
                or not isinstance(payload.get("entry"), list):
            await self.host.quarantine(
                self.kind, f"not a {self.webhook_object} webhook delivery", body)
            return None
        results = await self.handle_payload(payload)
        return results[0] if results else None

    async def handle_payload(self, payload: dict[str, Any]) -> list[IngestResult]:
        raise NotImplementedError

    # ----------------------------------------------------------------- consent
    async def admitted(self, who: str, event_body: bytes, agreed: bool, at: float) -> bool:
        """Whether an event from ``who`` may be ingested now (the channel's ``gdpr``): explicit
        consent holds it until they agree (then releases what was held); implicit records
        the consent and shows the text once."""
        mode = self.settings.gdpr
        if mode == "off":
            return True
        host = self.mhost
        text = self.settings.consent_text
        if await host.has_consent(self.identity, who):
            return not agreed  # a second "I agree" is no message
        if mode == "implicit":
            await host.record_consent(self.identity, who, "implicit", text)
            await self.automatic(who, text, f"consent-notice:{who}", at=at)
            return True
        if agreed:
            await host.record_consent(self.identity, who, "explicit", text)
            await host.inbox_release(who)
            self._wake.set()
            return False
        await host.inbox_hold(event_body, who)
        day = int(self.host.clock() // 86400)
        await self.automatic(who, text, f"consent-ask:{who}:{day}", at=at, agree=True)
        return False

    async def automatic(self, to: str, text: str, key: str, *, at: float,
                        agree: bool = False) -> None:
        """Queue an automated message (consent text, instant reply) once per ``key``; ``at``:
        when the person wrote (their messages may be held, so the store does not know yet)."""
        payload: dict[str, Any] = {"to": to, "text": text, "automated": True, "wrote_at": at}
        if agree:
            payload["agree"] = True
        await self.host.enqueue("autoreply", ticket_id=None, payload=payload,
                                key=f"{self.kind}:{self.channel.id}:{key}")

    # ------------------------------------------------------------------- media
    async def fetch(self, url: str, name: str) -> InboundAttachment | str:
        """A media file as an attachment, or a line saying why it is not one."""
        limit = self.settings.max_media_mb * 1024 * 1024
        try:
            media = await self.graph.download(url, limit)
        except TooLarge as exc:
            return f"[{name}: too large to keep ({exc}); the limit is " \
                   f"{self.settings.max_media_mb} MB]"
        except Exception as exc:  # the message still arrives, with a note
            self.host.log.warning("%s: could not download %s: %s", self.kind, name, exc)
            return f"[{name}: could not be downloaded: {exc}]"
        ext = {"image/jpeg": ".jpg", "image/png": ".png", "image/gif": ".gif",
               "audio/mpeg": ".mp3", "audio/ogg": ".ogg", "video/mp4": ".mp4",
               "application/pdf": ".pdf"}.get(media.content_type, "")
        filename = name if "." in name else name + ext
        return InboundAttachment(filename=filename, content_type=media.content_type,
                                 data=media.data)

    # -------------------------------------------------------------------- send
    async def send(self, item: OutboxItem) -> str | None:
        if not item.payload.get("to"):
            raise PermanentError("this conversation has nobody to send to")
        try:
            return await self.deliver(item)
        except GraphError as exc:
            if exc.permanent:
                raise PermanentError(exc.words) from None
            raise RetryLater(exc.words) from None

    async def deliver(self, item: OutboxItem) -> str | None:
        raise NotImplementedError

    # ------------------------------------------------------------ pure hooks
    @classmethod
    def window_at(cls, last: float, now: float) -> Window:
        """The kind's reply window for a person who last wrote at ``last``."""
        raise NotImplementedError

    @classmethod
    def composer_spec(cls, channel: Channel | None, ticket: Ticket) -> ComposerSpec:
        """Files may go along; the window from when the customer last wrote (unknown: open)."""
        wrote = ticket.customer_wrote_at
        if wrote is None:
            return ComposerSpec(attachments=True)
        window = cls.window_at(wrote.timestamp(), time.time())
        closes = datetime.fromtimestamp(window.closes_at, UTC) if window.closes_at else None
        return ComposerSpec(attachments=True,
                            window=ReplyWindow(window.allowed, window.reason, closes))

    def now(self) -> float:
        return self.host.clock() if self.host is not None else time.time()

    async def last_wrote(self, item: OutboxItem) -> float | None:
        """When the person last wrote: the store's latest, or what an automated message
        answering a held message carries."""
        last = await self.mhost.customer_last_wrote(self.identity, str(item.payload["to"]))
        carried = item.payload.get("wrote_at")
        if isinstance(carried, int | float):
            return max(last or 0.0, float(carried))
        return last
