"""The Facebook Messenger channel: a Page's conversations as tickets.

In: signed webhook deliveries (``object: page``; see :mod:`engine.channels.meta_base`), each
``messaging`` event sorted by its timestamp: messages (text, attachments downloaded within the
size limit, quick replies, replies to a message), delivery receipts (``mids``) and read
watermarks. People are known by their page-scoped id (``psid``), named from the profile API;
Meta gives no email address, so one person writing to two Pages is two contacts (``ticketty
contacts merge A B`` joins them). One open ticket per person; a message after it was closed
opens a new one.

Out: the Send API, within Messenger's windows (:func:`engine.channels.meta_windows.messenger`):
``RESPONSE`` inside 24 h, a human agent's reply with the ``HUMAN_AGENT`` tag up to 7 days,
automated messages (instant reply, consent text) only inside 24 h, nothing after 7 days.
The greeting is set on the Page (Messenger Profile API) when the channel starts.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any

from engine.channels.meta_base import AGREE_PAYLOAD, AGREE_TITLE, MetaAdapter
from engine.channels.meta_graph import GraphClient
from engine.channels.meta_settings import MessengerSettings
from engine.channels.meta_windows import Window, messenger
from engine.channels.registry import MESSENGER
from engine.models import Channel, InboundAttachment, InboundMessage, IngestResult
from engine.outbox import OutboxItem, PermanentError

MEDIA_TYPES = ("image", "audio", "video", "file")


def excerpt(text: str | None, n: int = 60) -> str:
    one = " ".join((text or "").split())
    return one if len(one) <= n else one[: n - 1] + "…"


async def page_of(settings: MessengerSettings) -> dict[str, Any]:
    """The Page the token belongs to (``id``, ``name``); raises GraphError when it is bad."""
    client = GraphClient(settings.graph_base_url, settings.page_access_token.get_secret_value())
    try:
        return await client.get(settings.page_id, fields="id,name")
    finally:
        await client.close()


class MessengerAdapter(MetaAdapter):
    kind = "messenger"
    abilities = MESSENGER.abilities
    settings_model = MessengerSettings
    settings: MessengerSettings
    identity = "psid"
    webhook_object = "page"

    def __init__(self, channel: Channel, host: Any, *,
                 settings: dict[str, Any] | None = None) -> None:
        super().__init__(channel, host, settings=settings)
        self._names: dict[str, str] = {}

    def token(self) -> str:
        return self.settings.page_access_token.get_secret_value()

    @classmethod
    def address_of(cls, channel: Channel) -> str:
        s = channel.settings
        return str(s.get("page_name") or f"Page {s.get('page_id', '')}")

    # ----------------------------------------------------------------- start
    async def on_start(self) -> None:
        await self.push_greeting()

    async def push_greeting(self) -> bool:
        """Set the greeting (and Get Started) on the Page; False when there is none."""
        if not self.settings.greeting:
            return False
        await self.graph.post("me/messenger_profile", {
            "get_started": {"payload": "GET_STARTED"},
            "greeting": [{"locale": "default", "text": self.settings.greeting}]})
        return True

    async def sync_once(self) -> dict[str, Any]:
        pushed = await self.push_greeting()
        await self.host.health(last_sync_at=self.host.clock())
        return {"greeting": pushed, "processed": await self.process_pending()}

    async def test_connection(self) -> list[str]:
        try:
            page = await page_of(self.settings)
        except Exception as exc:  # the problem, in words
            return [f"Graph: {exc}"]
        if str(page.get("id")) != self.settings.page_id:
            return [f"Graph: the token belongs to Page {page.get('id')}, not {self.settings.page_id}"]
        try:  # `channels add --test` sets the greeting at once, as the engine does at start
            await self.push_greeting()
        except Exception as exc:  # the problem, in words
            return [f"Graph: the greeting could not be set: {exc}"]
        return []

    # --------------------------------------------------------------- receive
    async def handle_payload(self, payload: dict[str, Any]) -> list[IngestResult]:
        events = [ev for entry in payload["entry"] if isinstance(entry, dict)
                  for ev in entry.get("messaging") or [] if isinstance(ev, dict)]
        events.sort(key=lambda ev: ev.get("timestamp") or 0)  # deliveries may come unordered
        results: list[IngestResult] = []
        for ev in events:
            result = await self.handle_event(ev)
            if result is not None:
                results.append(result)
        return results

    async def handle_event(self, ev: dict[str, Any]) -> IngestResult | None:
        psid = str((ev.get("sender") or {}).get("id") or "")
        if not psid or psid == self.settings.page_id:
            return None  # our own sends echoed back
        if "delivery" in ev:
            mids = [str(m) for m in ev["delivery"].get("mids") or []]
            if mids:
                await self.mhost.mark_delivery(mids, "delivered")
            return None
        if "read" in ev:
            watermark = ev["read"].get("watermark")
            if watermark:
                await self.mhost.mark_read_until("psid", psid, float(watermark) / 1000)
            return None
        message = ev.get("message")
        if isinstance(message, dict) and not message.get("is_echo"):
            return await self.take_message(psid, ev, message)
        postback = ev.get("postback")
        if isinstance(postback, dict) and postback.get("payload") != "GET_STARTED":
            text = f"[tapped “{postback.get('title') or postback.get('payload')}”]"
            return await self.take_message(psid, ev, {"mid": postback.get("mid") or
                                                      f"postback:{psid}:{ev.get('timestamp')}",
                                                      "text": text})
        return None

    async def take_message(self, psid: str, ev: dict[str, Any],
                           message: dict[str, Any]) -> IngestResult | None:
        agreed = (message.get("quick_reply") or {}).get("payload") == AGREE_PAYLOAD
        held = json.dumps({"object": "page", "entry": [
            {"id": self.settings.page_id, "messaging": [ev]}]}).encode()
        ts = ev.get("timestamp")
        at = float(ts) / 1000 if ts else self.now()
        if not await self.admitted(psid, held, agreed, at):
            return None
        lines = [str(message.get("text") or "")]
        attachments: list[InboundAttachment] = []
        for n, att in enumerate(message.get("attachments") or [], 1):
            kind = str(att.get("type") or "attachment")
            url = (att.get("payload") or {}).get("url")
            if kind in MEDIA_TYPES and url:
                got = await self.fetch(url, f"{kind}-{n}")
                if isinstance(got, str):
                    lines.append(got)
                else:
                    attachments.append(got)
            else:
                lines.append(f"[{kind}]")
        quoted = (message.get("reply_to") or {}).get("mid")
        if quoted:
            earlier = await self.mhost.message_text(str(quoted))
            lines.insert(0, f"↪ replying to: «{excerpt(earlier)}»" if earlier
                         else "↪ replying to an earlier message")
        msg = InboundMessage(
            channel_id=self.host.channel_id, key=str(message.get("mid") or
                                                     f"{psid}:{ts}"),
            sender_kind="psid", sender=psid, sender_name=self._names.get(psid, ""),
            text="\n".join(line for line in lines if line).strip(), attachments=attachments,
            conversation_key=psid, extra={"new_after_close": True},
            **({"received_at": datetime.fromtimestamp(float(ts) / 1000, UTC)} if ts else {}))
        result = await self.host.ingest(msg)
        if psid not in self._names:  # after the ticket is in: a Graph call never delays it
            name = await self.profile_name(psid)
            if name:
                await self.mhost.name_contact("psid", psid, name)
        if not result.duplicate and self.settings.instant_reply:
            await self.automatic(psid, self.settings.instant_reply, f"instant:{psid}", at=at)
        return result

    async def profile_name(self, psid: str) -> str:
        """The person's name from the profile API (empty when Meta has none for them)."""
        if psid not in self._names:
            try:
                who = await self.graph.get(psid, fields="first_name,last_name")
                self._names[psid] = " ".join(
                    str(who.get(k) or "") for k in ("first_name", "last_name")).strip()
            except Exception as exc:  # a message without a name still arrives
                self.host.log.info("messenger: no profile for %s: %s", psid, exc)
                self._names[psid] = ""
        return self._names[psid]

    # ------------------------------------------------------------------ send
    async def deliver(self, item: OutboxItem) -> str | None:
        p = item.payload
        to = str(p["to"])
        automated = bool(p.get("automated")) or item.kind != "reply"
        window = messenger(await self.last_wrote(item), self.now(), automated=automated)
        if not window.allowed:
            raise PermanentError(window.reason)
        base: dict[str, Any] = {"recipient": {"id": to}}
        if window.tag:
            base.update(messaging_type="MESSAGE_TAG", tag=window.tag)
        else:
            base["messaging_type"] = "RESPONSE"
        last: str | None = None
        for att in p.get("attachments") or []:
            last = await self.send_file(base, att) or last
        text = str(p.get("text") or "")
        if not text.strip():
            return last
        message: dict[str, Any] = {"text": text}
        if p.get("agree"):
            message["quick_replies"] = [{"content_type": "text", "title": AGREE_TITLE,
                                         "payload": AGREE_PAYLOAD}]
        sent = await self.graph.post(f"{self.settings.page_id}/messages",
                                     {**base, "message": message})
        return str(sent.get("message_id") or "") or None

    async def send_file(self, base: dict[str, Any], att: dict[str, Any]) -> str | None:
        """Upload one file with the Send API (multipart ``filedata``)."""
        from pathlib import Path

        data = await asyncio.to_thread(Path(att["path"]).read_bytes)
        kind = str(att.get("content_type", "")).split("/")[0]
        kind = kind if kind in ("image", "audio", "video") else "file"
        form = {k: json.dumps(v) if isinstance(v, dict) else str(v) for k, v in base.items()}
        form["message"] = json.dumps({"attachment": {"type": kind, "payload": {
            "is_reusable": False}}})
        sent = await self.graph.post(
            f"{self.settings.page_id}/messages", files={"filedata": (
                att.get("filename") or "file", data,
                att.get("content_type") or "application/octet-stream")}, data=form)
        return str(sent.get("message_id") or "") or None

    # ------------------------------------------------------------ pure hooks
    @classmethod
    def window_at(cls, last: float, now: float) -> Window:
        return messenger(last, now)
