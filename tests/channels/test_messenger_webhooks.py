"""Messenger through the real HTTP server: handshake, signatures, the inbox, redelivery,
receipts, media, consent, and Graph errors in words (the Graph stand-in answers the sends)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import pytest

from engine.sandbox.graph import messenger_event
from tests.channels.meta_helpers import PAGE, VERIFY, meta_desk, signature, until_async


def _event(text: str, mid: str, psid: str = "PSID-42", **more: object) -> dict:
    return messenger_event(PAGE, psid, text=text, mid=mid,
                           timestamp_ms=int(time.time() * 1000), **more)


async def test_the_handshake_echoes_the_challenge_only_for_the_right_token(db_path: Path) -> None:
    async with meta_desk(db_path, "messenger") as m:
        async with httpx.AsyncClient() as client:
            good = await client.get(m.hook, params={"hub.mode": "subscribe",
                                                    "hub.verify_token": VERIFY,
                                                    "hub.challenge": "1158201444"})
            wrong = await client.get(m.hook, params={"hub.mode": "subscribe",
                                                     "hub.verify_token": "nope",
                                                     "hub.challenge": "1"})
            mode = await client.get(m.hook, params={"hub.mode": "unsubscribe",
                                                    "hub.verify_token": VERIFY,
                                                    "hub.challenge": "1"})
        assert (good.status_code, good.text) == (200, "1158201444")
        assert wrong.status_code == 403 and mode.status_code == 403


async def test_the_webhook_url_is_what_channels_show_gives(db_path: Path) -> None:
    from engine.channels.messenger import MessengerAdapter

    async with meta_desk(db_path, "messenger") as m:
        links = MessengerAdapter.public_links(m.channel, m.desk.url)
        assert links == {"webhook_url": m.hook}


async def test_a_signed_message_becomes_a_ticket_named_from_the_profile(db_path: Path) -> None:
    async with meta_desk(db_path, "messenger") as m:
        m.graph.profiles["PSID-42"] = {"first_name": "Ana", "last_name": "Lima"}
        r = await m.post(_event("My order never arrived — ä", "m_AbC1"))
        assert (r.status_code, r.text) == (200, "EVENT_RECEIVED")
        await until_async(lambda: _count(m, 1), what="the ticket")
        [ticket] = await m.tickets()
        [msg] = await m.store.messages(ticket.id)
        assert msg.text == "My order never arrived — ä" and msg.external_id == "m_AbC1"
        # named from the profile API right after the ticket is in (Graph never delays it)
        await until_async(lambda: _named(m, ticket.id, "Ana Lima"), what="the profile name")
        contact = await m.store.contact_id_by_identity("psid", "PSID-42")
        assert contact == ticket.contact_id


async def _named(m, ticket_id: int, name: str) -> bool:
    return (await m.store.ticket(ticket_id)).contact_name == name


async def _count(m, n: int) -> bool:
    return len(await m.tickets()) >= n


async def test_missing_wrong_or_altered_signatures_are_refused_and_counted(db_path: Path) -> None:
    async with meta_desk(db_path, "messenger") as m:
        body = b'{"object":"page","entry":[]}'
        missing = await m.post(body, sign=None)
        wrong = await m.post(body, sign=signature(body, "another-secret"))
        altered = await m.post(body, sign=signature(body + b" "))
        sha1_only = await m.post(body, sign=None, headers={"X-Hub-Signature": "sha1=00"})
        assert [r.status_code for r in (missing, wrong, altered, sha1_only)] == [403] * 4
        await until_async(lambda: _refused(m, 4), what="the refusals counted in health")
        channel = await m.store.channel(m.channel.id)
        assert channel.health["last_refusal"] == "missing signature"
        assert await m.store.inbox_counts(m.channel.id) == {}  # nothing was kept


async def _refused(m, n: int) -> bool:
    channel = await m.store.channel(m.channel.id)
    return channel.health.get("refused_signatures") == n


async def test_a_redelivered_mid_changes_nothing(db_path: Path) -> None:
    async with meta_desk(db_path, "messenger") as m:
        event = _event("Where is it?", "m_same")
        for _ in range(3):
            assert (await m.post(event)).status_code == 200
        await until_async(lambda: _inbox_done(m, 3), what="three deliveries processed")
        [ticket] = await m.tickets()
        assert len(await m.store.messages(ticket.id)) == 1


async def _inbox_done(m, n: int) -> bool:
    return (await m.store.inbox_counts(m.channel.id)).get("done", 0) >= n


async def test_a_reply_goes_out_and_receipts_move_it_to_delivered_then_read(
        db_path: Path) -> None:
    from engine.desk import Desk

    async with meta_desk(db_path, "messenger") as m:
        await m.post(_event("Hello?", "m_in1"))
        await until_async(lambda: _count(m, 1), what="the ticket")
        [ticket] = await m.tickets()
        mid, _ = await Desk(m.store, m.desk.admin).reply(ticket.id, "Checking now.")
        await until_async(lambda: _state(m, ticket.id, mid, "sent"), what="the reply sent")
        [sent] = m.graph.sent(PAGE)
        assert sent.body["recipient"] == {"id": "PSID-42"}
        assert sent.body["messaging_type"] == "RESPONSE" and "tag" not in sent.body
        assert sent.body["message"] == {"text": "Checking now."}
        out = next(x for x in await m.store.messages(ticket.id) if x.id == mid)
        assert out.external_id and out.external_id.startswith("m_standin")
        delivery = {"object": "page", "entry": [{"id": PAGE, "messaging": [
            {"sender": {"id": "PSID-42"}, "recipient": {"id": PAGE},
             "timestamp": int(time.time() * 1000),
             "delivery": {"mids": [out.external_id], "watermark": 1}}]}]}
        await m.post(delivery)
        await until_async(lambda: _state(m, ticket.id, mid, "delivered"), what="delivered")
        read = {"object": "page", "entry": [{"id": PAGE, "messaging": [
            {"sender": {"id": "PSID-42"}, "recipient": {"id": PAGE},
             "timestamp": int(time.time() * 1000) + 1000,
             "read": {"watermark": int(time.time() * 1000) + 1000}}]}]}
        await m.post(read)
        await until_async(lambda: _state(m, ticket.id, mid, "read"), what="read")
        await m.post(delivery)  # a late delivery receipt does not move it back
        await until_async(lambda: _inbox_done(m, 4), what="the late receipt processed")
        assert await _state(m, ticket.id, mid, "read")


async def _state(m, ticket_id: int, mid: int, state: str) -> bool:
    msg = next(x for x in await m.store.messages(ticket_id) if x.id == mid)
    return msg.delivery_state.value == state


async def test_an_expired_token_fails_the_reply_in_words_without_retrying(db_path: Path) -> None:
    from engine.desk import Desk

    async with meta_desk(db_path, "messenger") as m:
        await m.post(_event("Hello?", "m_in1"))
        await until_async(lambda: _count(m, 1), what="the ticket")
        [ticket] = await m.tickets()
        m.graph.fail_next(190, "Error validating access token: Session has expired",
                          status=401)
        mid, oid = await Desk(m.store, m.desk.admin).reply(ticket.id, "Checking now.")
        await until_async(lambda: _state(m, ticket.id, mid, "failed"), what="the failure")
        out = next(x for x in await m.store.messages(ticket.id) if x.id == mid)
        assert out.delivery_error == "token expired — reconnect the page"
        item = await m.store.outbox_item(oid)
        assert item.state == "failed" and item.attempts == 1


async def test_an_image_is_downloaded_into_an_attachment(db_path: Path) -> None:
    async with meta_desk(db_path, "messenger") as m:
        png = b"\x89PNG\r\n\x1a\n" + b"x" * 2000
        url = m.graph.add_file("photo.png", png, "image/png")
        await m.post(_event("Here is the box", "m_img",
                            attachments=[{"type": "image", "payload": {"url": url}}]))
        await until_async(lambda: _count(m, 1), what="the ticket")
        [ticket] = await m.tickets()
        [msg] = await m.store.messages(ticket.id)
        [att] = msg.attachments
        assert (att.filename, att.content_type, att.size) == ("image-1.png", "image/png", len(png))
        assert (await m.store.attachment_path(att.sha256)).read_bytes() == png


async def test_media_over_the_limit_is_a_note_not_a_failure(db_path: Path) -> None:
    async with meta_desk(db_path, "messenger", max_media_mb=1) as m:
        url = m.graph.add_file("big.mp4", b"v" * (1024 * 1024 + 1), "video/mp4")
        await m.post(_event("", "m_vid", attachments=[{"type": "video",
                                                      "payload": {"url": url}}]))
        await until_async(lambda: _count(m, 1), what="the ticket")
        [ticket] = await m.tickets()
        [msg] = await m.store.messages(ticket.id)
        assert msg.attachments == [] and "video-1: too large to keep" in msg.text


async def test_explicit_consent_through_the_server_holds_then_releases(db_path: Path) -> None:
    async with meta_desk(db_path, "messenger", gdpr="explicit",
                         consent_text="We store this chat to help you.",
                         instant_reply="Thanks! We answer within a day.") as m:
        await m.post(_event("My parcel is lost", "m_h1"))
        await until_async(lambda: _asked(m), what="the consent question sent")
        [ask] = m.graph.sent(PAGE)
        assert ask.body["message"]["quick_replies"] == [
            {"content_type": "text", "title": "I agree", "payload": "GDPR_AGREE"}]
        assert ask.body["message"]["text"] == "We store this chat to help you."
        assert await m.tickets() == []
        await m.post(_event("I agree", "m_h2", quick_reply="GDPR_AGREE"))
        await until_async(lambda: _count(m, 1), what="the held message released")
        [ticket] = await m.tickets()
        assert [x.text for x in await m.store.messages(ticket.id)] == ["My parcel is lost"]
        [record] = await m.store.consent_records(ticket.contact_id)
        assert (record.kind, record.text) == ("explicit", "We store this chat to help you.")
        # the instant reply follows the first accepted message, once
        await m.post(_event("Any news?", "m_h3"))
        await until_async(lambda: _sent_texts(m, "Thanks! We answer within a day."),
                          what="the instant reply")
        await m.wait_messages(ticket.id, 2)
        assert [s.body["message"]["text"] for s in m.graph.sent(PAGE)].count(
            "Thanks! We answer within a day.") == 1


async def _asked(m) -> bool:
    return len(m.graph.sent(PAGE)) >= 1


async def _sent_texts(m, text: str) -> bool:
    return any(s.body["message"].get("text") == text for s in m.graph.sent(PAGE))


async def test_the_greeting_is_set_on_the_page_when_the_channel_starts(db_path: Path) -> None:
    async with meta_desk(db_path, "messenger", greeting="Hi {{user_first_name}}!") as m:
        await until_async(lambda: _greeted(m), what="the greeting")
        assert m.graph.greetings[PAGE]["greeting"] == [
            {"locale": "default", "text": "Hi {{user_first_name}}!"}]


async def _greeted(m) -> bool:
    return PAGE in m.graph.greetings


async def test_a_closed_ticket_is_not_reopened_a_new_one_starts(db_path: Path) -> None:
    from engine.desk import Desk

    async with meta_desk(db_path, "messenger") as m:
        await m.post(_event("first", "m_c1"))
        await until_async(lambda: _count(m, 1), what="the ticket")
        [first] = await m.tickets()
        await Desk(m.store, m.desk.admin).close(first.id)
        await m.post(_event("again", "m_c2"))
        await until_async(lambda: _count(m, 2), what="a second ticket")
        assert not (await m.store.ticket(first.id)).is_open


async def test_an_agent_attaches_a_file_to_a_reply(db_path: Path, tmp_path: Path) -> None:
    from engine.desk import Desk
    from engine.store import StoreError

    async with meta_desk(db_path, "messenger") as m:
        await m.post(_event("Can I have the invoice?", "m_f1"))
        await until_async(lambda: _count(m, 1), what="the ticket")
        [ticket] = await m.tickets()
        invoice = tmp_path / "invoice.pdf"
        invoice.write_bytes(b"%PDF-1.4 invoice 981")
        desk = Desk(m.store, m.desk.admin)
        mid, _ = await desk.reply(ticket.id, "Here it is.", attachments=[invoice])
        await until_async(lambda: _state(m, ticket.id, mid, "sent"), what="the reply sent")
        upload, text = m.graph.sent(PAGE)
        assert upload.files == {"filedata": b"%PDF-1.4 invoice 981"}
        assert json.loads(upload.body["recipient"]) == {"id": "PSID-42"}
        assert json.loads(upload.body["message"])["attachment"]["type"] == "file"
        assert text.body["message"] == {"text": "Here it is."}
        out = next(x for x in await m.store.messages(ticket.id) if x.id == mid)
        assert [(a.filename, a.size) for a in out.attachments] == [("invoice.pdf", 20)]
        with pytest.raises(StoreError, match=r"cannot attach '.*missing.pdf': No such file"):
            await desk.reply(ticket.id, "again", attachments=[tmp_path / "missing.pdf"])


async def test_a_rate_limit_is_retried_with_backoff_then_sent(db_path: Path) -> None:
    from engine.desk import Desk

    async with meta_desk(db_path, "messenger") as m:
        await m.post(_event("Hello?", "m_r1"))
        await until_async(lambda: _count(m, 1), what="the ticket")
        [ticket] = await m.tickets()
        m.graph.fail_next(613, "Calls to this api have exceeded the rate limit.")
        mid, oid = await Desk(m.store, m.desk.admin).reply(ticket.id, "One moment.")
        await until_async(lambda: _error(m, ticket.id, mid), what="the first attempt")
        out = next(x for x in await m.store.messages(ticket.id) if x.id == mid)
        assert out.delivery_state.value == "queued"
        assert "Meta's rate limit: sending again shortly" in out.delivery_error
        await until_async(lambda: _state(m, ticket.id, mid, "sent"), seconds=20,
                          what="the retry")
        item = await m.store.outbox_item(oid)
        assert item.attempts == 2 and len(m.graph.sent(PAGE)) == 2  # refused, then taken


async def _error(m, ticket_id: int, mid: int) -> bool:
    msg = next(x for x in await m.store.messages(ticket_id) if x.id == mid)
    return bool(msg.delivery_error)
