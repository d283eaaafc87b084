"""WhatsApp through the real HTTP server: messages (E.164 contact, names, media, reactions,
replies, unsupported types), statuses, the 24-hour window and templates, errors in words."""

from __future__ import annotations

import time
from pathlib import Path

from engine.desk import Desk
from engine.sandbox.graph import whatsapp_event
from tests.channels.meta_helpers import NUMBER, WABA, meta_desk, until_async

ANA = "4915112345678"


def _msg(mid: str, kind: str = "text", at: float | None = None, **body: object) -> dict:
    m: dict = {"from": ANA, "id": mid, "timestamp": str(int(at or time.time())), "type": kind}
    m.update(body)
    return m


def _delivery(*messages: dict, statuses: list[dict] | None = None) -> dict:
    return whatsapp_event(WABA, NUMBER, "15550001111", messages=list(messages) or None,
                          statuses=statuses,
                          contacts=[{"profile": {"name": "Ana"}, "wa_id": ANA}])


async def _tickets(m, n: int) -> bool:
    return len(await m.tickets()) >= n


async def _state(m, ticket_id: int, mid: int, state: str) -> bool:
    msg = next(x for x in await m.store.messages(ticket_id) if x.id == mid)
    return msg.delivery_state.value == state


async def test_a_message_makes_a_ticket_for_the_e164_contact(db_path: Path) -> None:
    async with meta_desk(db_path, "whatsapp") as m:
        r = await m.post(_delivery(_msg("wamid.A1=", text={"body": "Where is my refund?"})))
        assert r.status_code == 200
        await until_async(lambda: _tickets(m, 1), what="the ticket")
        [ticket] = await m.tickets()
        assert ticket.contact_name == "Ana"
        assert await m.store.contact_id_by_identity("phone", "+4915112345678") == ticket.contact_id
        [msg] = await m.store.messages(ticket.id)
        assert msg.text == "Where is my refund?" and msg.external_id == "wamid.A1="


async def test_reactions_replies_and_unsupported_types_are_shown_never_dropped(
        db_path: Path) -> None:
    async with meta_desk(db_path, "whatsapp") as m:
        now = time.time()
        await m.post(_delivery(_msg("wamid.A1=", at=now, text={"body": "Order 77 is late"})))
        await until_async(lambda: _tickets(m, 1), what="the ticket")
        await m.post(_delivery(
            _msg("wamid.A2=", "reaction", at=now + 1,
                 reaction={"message_id": "wamid.A1=", "emoji": "👍"}),
            _msg("wamid.A3=", at=now + 2, text={"body": "Any news?"},
                 context={"from": ANA, "id": "wamid.A1="}),
            _msg("wamid.A4=", "order", at=now + 3, order={"catalog_id": "1"}),
            _msg("wamid.A5=", "location", at=now + 4,
                 location={"latitude": 52.5, "longitude": 13.4, "name": "Shop"})))
        [ticket] = await m.tickets()
        msgs = await m.wait_messages(ticket.id, 5)
        texts = [x.text for x in msgs]
        assert texts[1] == "[reacted 👍 to «Order 77 is late»]"
        assert texts[2] == "↪ replying to: «Order 77 is late»\nAny news?"
        assert texts[3] == "[unsupported WhatsApp message type: order]"
        assert texts[4] == "[location: 52.5, 13.4 — Shop]"


async def test_a_document_is_downloaded_with_the_token(db_path: Path) -> None:
    async with meta_desk(db_path, "whatsapp") as m:
        pdf = b"%PDF-1.4 receipt"
        media_id = m.graph.add_media(pdf, "application/pdf")
        await m.post(_delivery(_msg("wamid.D1=", "document", document={
            "id": media_id, "mime_type": "application/pdf", "filename": "receipt.pdf",
            "caption": "my receipt"})))
        await until_async(lambda: _tickets(m, 1), what="the ticket")
        [ticket] = await m.tickets()
        [msg] = await m.store.messages(ticket.id)
        assert msg.text == "my receipt"
        assert [(a.filename, a.size) for a in msg.attachments] == [("receipt.pdf", len(pdf))]
        fetched = [r for r in m.graph.requests if r.path == f"/media/{media_id}"]
        assert fetched and fetched[0].token == "wa-Token-xyz"


async def test_a_reply_in_the_window_and_its_statuses(db_path: Path) -> None:
    async with meta_desk(db_path, "whatsapp") as m:
        await m.post(_delivery(_msg("wamid.A1=", text={"body": "Hi"})))
        await until_async(lambda: _tickets(m, 1), what="the ticket")
        [ticket] = await m.tickets()
        mid, _ = await Desk(m.store, m.desk.admin).reply(ticket.id, "Refund issued today.")
        await until_async(lambda: _state(m, ticket.id, mid, "sent"), what="sent")
        [sent] = m.graph.sent(NUMBER)
        assert sent.body["to"] == ANA and sent.body["type"] == "text"
        assert sent.body["text"] == {"body": "Refund issued today.", "preview_url": False}
        assert sent.body["biz_opaque_callback_data"] == f"ticket-{ticket.id}"
        wamid = next(x for x in await m.store.messages(ticket.id) if x.id == mid).external_id
        # read arrives before delivered (order is not guaranteed): read stays
        await m.post(_delivery(statuses=[{"id": wamid, "status": "read",
                                          "timestamp": str(int(time.time())),
                                          "recipient_id": ANA}]))
        await until_async(lambda: _state(m, ticket.id, mid, "read"), what="read")
        await m.post(_delivery(statuses=[{"id": wamid, "status": "delivered",
                                          "timestamp": str(int(time.time())),
                                          "recipient_id": ANA}]))
        await until_async(lambda: _done(m, 3), what="the late status processed")
        assert await _state(m, ticket.id, mid, "read")


async def _done(m, n: int) -> bool:
    return (await m.store.inbox_counts(m.channel.id)).get("done", 0) >= n


async def test_a_failed_status_shows_its_reason(db_path: Path) -> None:
    async with meta_desk(db_path, "whatsapp") as m:
        await m.post(_delivery(_msg("wamid.A1=", text={"body": "Hi"})))
        await until_async(lambda: _tickets(m, 1), what="the ticket")
        [ticket] = await m.tickets()
        mid, _ = await Desk(m.store, m.desk.admin).reply(ticket.id, "Hello")
        await until_async(lambda: _state(m, ticket.id, mid, "sent"), what="sent")
        wamid = next(x for x in await m.store.messages(ticket.id) if x.id == mid).external_id
        await m.post(_delivery(statuses=[{"id": wamid, "status": "failed",
                                          "timestamp": str(int(time.time())),
                                          "errors": [{"code": 131026,
                                                      "title": "Message undeliverable"}]}]))
        await until_async(lambda: _state(m, ticket.id, mid, "failed"), what="failed")
        out = next(x for x in await m.store.messages(ticket.id) if x.id == mid)
        assert out.delivery_error == "recipient not on WhatsApp"


async def test_not_on_whatsapp_fails_the_send_in_words(db_path: Path) -> None:
    async with meta_desk(db_path, "whatsapp") as m:
        m.graph.not_on_whatsapp.add(ANA)
        await m.post(_delivery(_msg("wamid.A1=", text={"body": "Hi"})))
        await until_async(lambda: _tickets(m, 1), what="the ticket")
        [ticket] = await m.tickets()
        mid, oid = await Desk(m.store, m.desk.admin).reply(ticket.id, "Hello")
        await until_async(lambda: _state(m, ticket.id, mid, "failed"), what="failed")
        out = next(x for x in await m.store.messages(ticket.id) if x.id == mid)
        assert out.delivery_error == "recipient not on WhatsApp"
        assert (await m.store.outbox_item(oid)).attempts == 1


async def test_outside_the_window_free_text_is_refused_not_attempted(db_path: Path) -> None:
    async with meta_desk(db_path, "whatsapp") as m:
        old = time.time() - 24 * 3600 - 60  # 24 h 01 min ago
        await m.post(_delivery(_msg("wamid.A1=", at=old, text={"body": "Hi"})))
        await until_async(lambda: _tickets(m, 1), what="the ticket")
        [ticket] = await m.tickets()
        mid, _ = await Desk(m.store, m.desk.admin).reply(ticket.id, "Sorry for the wait")
        await until_async(lambda: _state(m, ticket.id, mid, "failed"), what="refused")
        out = next(x for x in await m.store.messages(ticket.id) if x.id == mid)
        assert out.delivery_error.startswith("outside the 24-hour window")
        assert "approved template" in out.delivery_error
        assert m.graph.sent(NUMBER) == []


async def test_templates_are_synced_when_the_channel_starts(db_path: Path) -> None:
    async with meta_desk(db_path, "whatsapp") as m:
        m.graph.templates[WABA] = [
            {"name": "ticket_update", "language": "en_US", "status": "APPROVED",
             "components": [{"type": "BODY", "text": "Your ticket {{1}} was updated"}]},
            {"name": "draft", "language": "en_US", "status": "PENDING", "components": []}]
        from engine.channels import build_adapter

        adapter = build_adapter(await m.store.channel(m.channel.id), m.store)
        try:
            report = await adapter.sync_once()
        finally:
            await adapter.close()
        assert report["templates"] == 1
        state = await m.store.channel_state(m.channel.id)
        assert [t["name"] for t in state["templates"]] == ["ticket_update"]


async def test_an_attached_file_is_uploaded_then_sent_as_a_document(db_path: Path,
                                                                   tmp_path: Path) -> None:
    async with meta_desk(db_path, "whatsapp") as m:
        await m.post(_delivery(_msg("wamid.A1=", text={"body": "Send the manual?"})))
        await until_async(lambda: _tickets(m, 1), what="the ticket")
        [ticket] = await m.tickets()
        manual = tmp_path / "manual.pdf"
        manual.write_bytes(b"%PDF manual")
        mid, _ = await Desk(m.store, m.desk.admin).reply(ticket.id, "", attachments=[manual])
        await until_async(lambda: _state(m, ticket.id, mid, "sent"), what="sent")
        [upload] = [r for r in m.graph.requests if r.path == f"/{NUMBER}/media"]
        assert upload.files == {"file": b"%PDF manual"}
        [sent] = m.graph.sent(NUMBER)
        media_id = sent.body["document"]["id"]
        assert sent.body["type"] == "document" and sent.body["document"]["filename"] == \
            "manual.pdf" and m.graph.media[media_id][0] == b"%PDF manual"


async def test_outside_the_window_an_approved_template_is_sent(db_path: Path) -> None:
    async with meta_desk(db_path, "whatsapp") as m:
        old = time.time() - 30 * 3600
        await m.post(_delivery(_msg("wamid.A1=", at=old, text={"body": "Hi"})))
        await until_async(lambda: _tickets(m, 1), what="the ticket")
        [ticket] = await m.tickets()
        mid, _ = await Desk(m.store, m.desk.admin).reply(
            ticket.id, f"/template ticket_update #{ticket.id} | Ana")
        await until_async(lambda: _state(m, ticket.id, mid, "sent"), what="the template sent")
        [sent] = m.graph.sent(NUMBER)
        assert sent.body["type"] == "template" and sent.body["to"] == ANA
        assert sent.body["template"] == {
            "name": "ticket_update", "language": {"code": "en_US"},
            "components": [{"type": "body", "parameters": [
                {"type": "text", "text": f"#{ticket.id}"}, {"type": "text", "text": "Ana"}]}]}
