"""The WhatsApp Business channel (Cloud API): a phone number's conversations as tickets.

In: signed webhook deliveries (``object: whatsapp_business_account``, field ``messages``)
for this channel's ``phone_number_id``: messages (text; images, audio, video, documents and
stickers downloaded within the size limit; reactions and replies to a message shown as such;
every other type shown as unsupported, never dropped) and ``statuses`` (sent / delivered /
read / failed with its reason). The person is their phone number in E.164
(:func:`engine.phones.normalize_phone`), the same contact as their calls.

Out: free text inside the 24-hour customer-service window, an approved template outside it
(:func:`engine.channels.meta_windows.whatsapp`); templates are synced from the account when the
channel starts and with ``channels sync``.
"""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from engine.channels.contract import ComposerSpec, ReplyContext, ReplyPlan
from engine.channels.messenger import excerpt
from engine.channels.meta_base import AGREE_PAYLOAD, AGREE_TITLE, MetaAdapter
from engine.channels.meta_graph import GraphClient, error_words
from engine.channels.meta_settings import WhatsAppSettings
from engine.channels.meta_windows import Window, whatsapp
from engine.channels.registry import WHATSAPP
from engine.models import Channel, InboundAttachment, InboundMessage, IngestResult, Ticket
from engine.outbox import OutboxItem, PermanentError
from engine.phones import PhoneError, normalize_phone

MEDIA = ("image", "audio", "video", "document", "sticker")
STATUS = {"sent": "sent", "delivered": "delivered", "read": "read", "played": "read",
          "failed": "failed"}


async def number_of(settings: WhatsAppSettings) -> dict[str, Any]:
    """The phone number the token reaches (``display_phone_number``, ``verified_name``)."""
    client = GraphClient(settings.graph_base_url, settings.access_token.get_secret_value())
    try:
        return await client.get(settings.phone_number_id,
                                fields="display_phone_number,verified_name")
    finally:
        await client.close()


class WhatsAppAdapter(MetaAdapter):
    kind = "whatsapp"
    abilities = WHATSAPP.abilities
    settings_model = WhatsAppSettings
    settings: WhatsAppSettings
    identity = "phone"
    webhook_object = "whatsapp_business_account"

    def token(self) -> str:
        return self.settings.access_token.get_secret_value()

    @classmethod
    def address_of(cls, channel: Channel) -> str:
        s = channel.settings
        return str(s.get("display_phone") or f"number id {s.get('phone_number_id', '')}")

    # ----------------------------------------------------------------- start
    async def on_start(self) -> None:
        await self.sync_templates()

    async def sync_templates(self) -> list[dict[str, Any]]:
        """The account's approved templates, kept in the channel's state."""
        if not self.settings.waba_id:
            return []
        got = await self.graph.get(f"{self.settings.waba_id}/message_templates",
                                   fields="name,language,status,components", limit=200)
        approved = [t for t in got.get("data") or [] if t.get("status") == "APPROVED"]
        state = await self.host.state()
        await self.host.set_state({**state, "templates": approved})
        await self.host.health(templates=len(approved), template_list=template_list(approved),
                               last_sync_at=self.host.clock())
        return approved

    async def sync_once(self) -> dict[str, Any]:
        templates = await self.sync_templates()
        return {"templates": len(templates), "processed": await self.process_pending()}

    async def test_connection(self) -> list[str]:
        """The token reaches the number, and the account's templates can be read (synced
        now when the channel is saved, as the engine does at start)."""
        try:
            await number_of(self.settings)
        except Exception as exc:  # the problem, in words
            return [f"Graph: {exc}"]
        if self.settings.waba_id:
            try:
                if self.host.channel_id is not None:
                    await self.sync_templates()
                else:
                    await self.graph.get(f"{self.settings.waba_id}/message_templates",
                                         fields="name", limit=1)
            except Exception as exc:  # the problem, in words
                return [f"Graph: the templates could not be read: {exc}"]
        return []

    # --------------------------------------------------------------- receive
    async def handle_payload(self, payload: dict[str, Any]) -> list[IngestResult]:
        results: list[IngestResult] = []
        for entry in payload["entry"]:
            for change in (entry.get("changes") or []) if isinstance(entry, dict) else []:
                value = change.get("value") or {}
                if change.get("field") != "messages" or not isinstance(value, dict):
                    continue
                number = str((value.get("metadata") or {}).get("phone_number_id") or "")
                if number != self.settings.phone_number_id:
                    self.host.log.info("whatsapp: a delivery for number id %s, not ours", number)
                    continue
                names = {str(c.get("wa_id")): str((c.get("profile") or {}).get("name") or "")
                         for c in value.get("contacts") or []}
                messages = sorted(value.get("messages") or [],
                                  key=lambda m: int(m.get("timestamp") or 0))
                for m in messages:
                    result = await self.take_message(entry, value, m, names)
                    if result is not None:
                        results.append(result)
                for status in value.get("statuses") or []:
                    await self.take_status(status)
                for err in value.get("errors") or []:
                    self.host.log.warning("whatsapp: Meta reports: %s", err)
        return results

    async def take_status(self, status: dict[str, Any]) -> None:
        state = STATUS.get(str(status.get("status")))
        if state is None or not status.get("id"):
            return
        reason = None
        if state == "failed":
            err = (status.get("errors") or [{}])[0]
            reason = error_words(err.get("code"), None, str(err.get("message") or
                                                           err.get("title") or ""))[0]
        await self.mhost.mark_delivery([str(status["id"])], state, reason)

    async def take_message(self, entry: dict[str, Any], value: dict[str, Any],
                           m: dict[str, Any], names: dict[str, str]) -> IngestResult | None:
        raw = json.dumps(m).encode()
        try:
            phone = normalize_phone(str(m.get("from") or ""))
        except PhoneError as exc:
            await self.host.quarantine(self.kind, f"sender: {exc}", raw)
            return None
        kind = str(m.get("type") or "unknown")
        reply = (m.get("interactive") or {}).get("button_reply") or {}
        agreed = reply.get("id") == AGREE_PAYLOAD or (m.get("button") or {}).get(
            "payload") == AGREE_PAYLOAD or (kind == "text" and str(
                (m.get("text") or {}).get("body") or "").strip().lower() == AGREE_TITLE.lower())
        held = json.dumps({"object": self.webhook_object, "entry": [{"id": entry.get("id"),
                           "changes": [{"field": "messages", "value": {
                               "metadata": value.get("metadata"),
                               "contacts": value.get("contacts") or [], "messages": [m]}}]}]})
        ts = m.get("timestamp")
        at = float(ts) if ts else self.now()
        if not await self.admitted(phone, held.encode(), agreed, at):
            return None
        lines, attachments = await self.content(kind, m)
        quoted = (m.get("context") or {}).get("id")
        if quoted and kind != "reaction":
            earlier = await self.mhost.message_text(str(quoted))
            lines.insert(0, f"↪ replying to: «{excerpt(earlier)}»" if earlier
                         else "↪ replying to an earlier message")
        msg = InboundMessage(
            channel_id=self.host.channel_id, key=str(m.get("id") or f"{phone}:{ts}"),
            sender_kind="phone", sender=phone, sender_name=names.get(str(m.get("from")), ""),
            text="\n".join(line for line in lines if line).strip() or f"[{kind}]",
            attachments=attachments, conversation_key=phone, extra={"new_after_close": True},
            **({"received_at": datetime.fromtimestamp(int(ts), UTC)} if ts else {}))
        return await self.host.ingest(msg)

    async def content(self, kind: str, m: dict[str, Any]
                      ) -> tuple[list[str], list[InboundAttachment]]:
        """A message's text lines and attachments, by its type."""
        got = m.get(kind)
        body: dict[str, Any] = got if isinstance(got, dict) else {}
        if kind == "text":
            return [str(body.get("body") or "")], []
        if kind in MEDIA:
            lines = [str(body.get("caption") or "")]
            got = await self.media(body, kind)
            return (lines + [got], []) if isinstance(got, str) else (lines, [got])
        if kind == "reaction":
            earlier = await self.mhost.message_text(str(body.get("message_id") or ""))
            what = f"«{excerpt(earlier)}»" if earlier else "an earlier message"
            emoji = body.get("emoji")
            return [f"[reacted {emoji} to {what}]" if emoji else f"[removed a reaction to {what}]"], []
        if kind == "location":
            place = ", ".join(str(body[k]) for k in ("name", "address") if body.get(k))
            return [f"[location: {body.get('latitude')}, {body.get('longitude')}"
                    f"{' — ' + place if place else ''}]"], []
        if kind == "contacts":
            people = [str((c.get("name") or {}).get("formatted_name") or "")
                      for c in m.get("contacts") or []]
            return [f"[shared contact: {', '.join(p for p in people if p) or 'unnamed'}]"], []
        if kind == "interactive":
            picked = body.get("button_reply") or body.get("list_reply") or {}
            return [str(picked.get("title") or "[interactive reply]")], []
        if kind == "button":
            return [str(body.get("text") or "[button]")], []
        return [f"[unsupported WhatsApp message type: {kind}]"], []

    async def media(self, body: dict[str, Any], kind: str) -> InboundAttachment | str:
        media_id = str(body.get("id") or "")
        if not media_id:
            return f"[{kind} without a media id]"
        try:
            info = await self.graph.get(media_id)
        except Exception as exc:  # the message still arrives, with a note
            return f"[{kind}: could not be downloaded: {exc}]"
        name = str(body.get("filename") or f"{kind}-{media_id[:12]}")
        return await self.fetch(str(info.get("url") or ""), name)

    # ------------------------------------------------------------------ send
    async def deliver(self, item: OutboxItem) -> str | None:
        p = item.payload
        to = str(p["to"])
        base: dict[str, Any] = {"messaging_product": "whatsapp", "recipient_type": "individual",
                                "to": to.lstrip("+")}
        if item.ticket_id is not None:
            base["biz_opaque_callback_data"] = f"ticket-{item.ticket_id}"
        template = p.get("template")
        window = whatsapp(await self.last_wrote(item), self.now(), template=bool(template))
        if not window.allowed:
            raise PermanentError(window.reason)
        if template:
            body = {**base, "type": "template", "template": {
                "name": template["name"], "language": {"code": template.get("language", "en_US")},
                "components": [{"type": "body", "parameters": [
                    {"type": "text", "text": str(v)} for v in template.get("params") or []]}]}}
        elif p.get("agree"):
            body = {**base, "type": "interactive", "interactive": {
                "type": "button", "body": {"text": str(p.get("text") or "")},
                "action": {"buttons": [{"type": "reply", "reply": {
                    "id": AGREE_PAYLOAD, "title": AGREE_TITLE}}]}}}
        else:
            last: str | None = None
            for att in p.get("attachments") or []:
                last = await self.send_file(base, att) or last
            text = str(p.get("text") or "")
            if not text.strip():
                return last
            body = {**base, "type": "text", "text": {"body": text, "preview_url": False}}
        return await self.post_message(body)

    async def post_message(self, body: dict[str, Any]) -> str | None:
        """Send one message; the wamid Meta accepted it under."""
        sent = await self.graph.post(f"{self.settings.phone_number_id}/messages", body)
        ids = [str(x.get("id")) for x in sent.get("messages") or [] if x.get("id")]
        return ids[0] if ids else None

    async def send_file(self, base: dict[str, Any], att: dict[str, Any]) -> str | None:
        """Upload a file (``/{phone_number_id}/media``), then send it as a document/image."""
        from pathlib import Path

        ctype = str(att.get("content_type") or "application/octet-stream")
        name = str(att.get("filename") or "file")
        up = await self.graph.post(
            f"{self.settings.phone_number_id}/media",
            files={"file": (name, await asyncio.to_thread(Path(att["path"]).read_bytes), ctype)},
            data={"messaging_product": "whatsapp", "type": ctype})
        kind = ctype.split("/")[0]
        kind = kind if kind in ("image", "audio", "video") else "document"
        media: dict[str, Any] = {"id": up.get("id")}
        if kind == "document":
            media["filename"] = name
        return await self.post_message({**base, "type": kind, kind: media})

    # ------------------------------------------------------------ pure hooks
    @classmethod
    def prepare_reply(cls, ctx: ReplyContext) -> ReplyPlan:
        """A reply; ``/template NAME value | value`` as its body sends that approved template
        with those values (what the composer offers when the window is closed)."""
        plan = super().prepare_reply(ctx)
        picked = parse_template(ctx.body, ctx.channel)
        if picked is not None:
            return ReplyPlan(payload={**plan.payload, "template": picked})
        return plan

    @classmethod
    def reply_templates(cls, channel: Channel, ticket: Ticket,
                        customer_name: str = "") -> list[tuple[str, str]]:
        """The synced templates as ``/template NAME values…`` lines, filled in."""
        return [(f"{t['name']} — “{t.get('text', '')}”", template_line(t, ticket, customer_name))
                for t in channel.health.get("template_list") or []]

    @classmethod
    def window_at(cls, last: float, now: float) -> Window:
        return whatsapp(last, now)

    @classmethod
    def composer_spec(cls, channel: Channel | None, ticket: Ticket) -> ComposerSpec:
        spec = super().composer_spec(channel, ticket)
        if spec.window.open:
            return spec
        reason = f"{spec.window.reason}. {template_menu(channel, ticket)}"
        return replace(spec, window=replace(spec.window, reason=reason))


def template_list(approved: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What the composer needs of each approved template: name, language, body text, and
    how many values it takes (``{{1}}`` …), kept in the channel's health when synced."""
    out = []
    for t in approved:
        body = next((str(c.get("text") or "") for c in t.get("components") or []
                     if str(c.get("type", "")).upper() == "BODY"), "")
        out.append({"name": t.get("name"), "language": t.get("language") or "en_US",
                    "text": body, "params": len(set(re.findall(r"\{\{(\d+)\}\}", body)))})
    return out


def template_menu(channel: Channel | None, ticket: Ticket) -> str:
    """The templates the agent may send, as a line to type (values filled in where the
    template's body says ``{{1}}`` is the ticket: its number)."""
    known = list((channel.health.get("template_list") if channel else None) or [])
    if not known:
        return "No approved templates synced yet (ticketty channels sync NAME)."
    offers = [f"{template_line(t, ticket)}  — “{t.get('text', '')}”" for t in known]
    return "Send a template by typing one of: " + "; ".join(offers)


def template_line(template: dict[str, Any], ticket: Ticket, customer_name: str = "") -> str:
    """``/template NAME v1 | v2``: ``{{1}}`` is the ticket (``#981``), ``{{2}}`` the customer's
    first name when known, the rest to fill in."""
    first = customer_name.split()[0] if customer_name.split() else ""
    values = []
    for i in range(int(template.get("params") or 0)):
        values.append(f"#{ticket.id}" if i == 0 else first if i == 1 and first
                      else f"value {i + 1}")
    joined = " | ".join(values)
    return f"/template {template['name']}{' ' + joined if joined else ''}"


def parse_template(body: str, channel: Channel | None) -> dict[str, Any] | None:
    """``/template NAME v1 | v2`` → the template payload (None: the body is plain text)."""
    text = body.strip()
    if not text.startswith("/template "):
        return None
    name, _, rest = text[len("/template "):].strip().partition(" ")
    known = {t.get("name"): t for t in (channel.health.get("template_list") if channel
                                          else None) or []}
    language = str((known.get(name) or {}).get("language") or "en_US")
    params = [v.strip() for v in rest.split("|")] if rest.strip() else []
    return {"name": name, "language": language, "params": params}
