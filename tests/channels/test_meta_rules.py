"""The Meta channels' rules without a server: window edges (23h59, 24h01, 6d23h, 7d01) on a
controllable clock, Graph errors in words, consent holding and releasing messages, the
instant reply, templates, and the composer's words."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from engine.channels.messenger import MessengerAdapter
from engine.channels.meta_graph import error_words
from engine.channels.meta_signature import handshake, signature_ok
from engine.channels.meta_windows import DAY, HOUR, messenger, whatsapp
from engine.channels.testing import MemoryChannelHost
from engine.channels.whatsapp import WhatsAppAdapter, parse_template
from engine.models import Channel, Priority, Ticket
from engine.outbox import OutboxItem, PermanentError
from engine.sandbox.graph import GraphStandIn, messenger_event
from tests.channels.meta_helpers import PAGE, PAGE_TOKEN, messenger_settings, signature

MIN = 60.0


@pytest.mark.parametrize(("age", "allowed", "tag"), [
    (23 * HOUR + 59 * MIN, True, None),
    (24 * HOUR + 1 * MIN, True, "HUMAN_AGENT"),
    (6 * DAY + 23 * HOUR, True, "HUMAN_AGENT"),
    (7 * DAY + 1 * MIN, False, None),
])
def test_messenger_windows_at_their_edges(age: float, allowed: bool, tag: str | None) -> None:
    w = messenger(1000.0, 1000.0 + age)
    assert (w.allowed, w.tag) == (allowed, tag)
    if not allowed:
        assert w.reason.startswith("the Messenger window closed on")


@pytest.mark.parametrize(("age", "allowed"), [(23 * HOUR + 59 * MIN, True),
                                              (24 * HOUR + 1 * MIN, False)])
def test_automated_messenger_messages_only_inside_24_hours(age: float, allowed: bool) -> None:
    assert messenger(0.0, age, automated=True).allowed is allowed


@pytest.mark.parametrize(("age", "allowed"), [(23 * HOUR + 59 * MIN, True),
                                              (24 * HOUR + 1 * MIN, False)])
def test_whatsapp_window_and_templates(age: float, allowed: bool) -> None:
    assert whatsapp(0.0, age).allowed is allowed
    assert whatsapp(0.0, age, template=True).allowed


def test_graph_errors_in_words() -> None:
    assert error_words(190, None) == ("token expired — reconnect the page", True)
    assert error_words(10, 2018278) == ("outside the 24-hour window", True)
    assert error_words(131026, None) == ("recipient not on WhatsApp", True)
    assert error_words(131047, None)[0].startswith("outside the 24-hour window")
    assert error_words(613, None)[1] is False and error_words(130429, None)[1] is False
    assert error_words(None, None, "", 503)[1] is False
    words, permanent = error_words(999, 7, "odd thing")
    assert permanent and words == "Meta refused the message (error 999/7): odd thing"


def test_signature_and_handshake_checks() -> None:
    body = b'{"a":"\\u00e4"}'
    assert signature_ok("s3cret", body, signature(body, "s3cret"))
    assert not signature_ok("s3cret", body + b" ", signature(body, "s3cret"))
    assert not signature_ok("s3cret", body, None)
    assert not signature_ok("", body, signature(body, ""))
    assert not signature_ok("s3cret", body, signature(body, "s3cret").replace("sha256=", "sha1="))
    assert handshake({"hub.mode": "subscribe", "hub.verify_token": "t",
                      "hub.challenge": "42"}, "t") == "42"
    assert handshake({"hub.mode": "subscribe", "hub.verify_token": "x",
                      "hub.challenge": "42"}, "t") is None


def _channel(kind: str, settings: dict, **health: object) -> Channel:
    model = (MessengerAdapter if kind == "messenger" else WhatsAppAdapter).settings_model
    return Channel(id=1, kind=kind, name="Meta", health=dict(health),
                   settings=model.model_validate(settings).model_dump(mode="json"))


def _ticket(wrote: float | None) -> Ticket:
    at = datetime(2026, 1, 5, tzinfo=UTC)
    return Ticket(id=981, subject="s", pipeline="Support", status="open", is_open=True,
                  priority=Priority.normal, created_at=at, updated_at=at, last_activity_at=at,
                  customer_wrote_at=datetime.fromtimestamp(wrote, UTC) if wrote else None)


def _item(payload: dict, kind: str = "reply") -> OutboxItem:
    return OutboxItem(id=1, kind=kind, channel_id=1, ticket_id=7, message_id=9,
                      idempotency_key="k", payload=payload, attempts=0, state="sending",
                      last_error=None)


async def test_sends_follow_the_messenger_window_on_the_hosts_clock(tmp_path: Path) -> None:
    async with GraphStandIn() as graph:
        graph.add_page(PAGE, "Acme", PAGE_TOKEN)
        host = MemoryChannelHost(spool_dir=tmp_path)
        adapter = MessengerAdapter(_channel("messenger", messenger_settings(graph)), host)
        try:
            start = host.now
            await adapter.ingest_raw(json.dumps(messenger_event(
                PAGE, "P1", text="hi", mid="m1", timestamp_ms=int(start * 1000))).encode())
            host.now = start + 23 * HOUR + 59 * MIN
            await adapter.send(_item({"to": "P1", "text": "a"}))
            host.now = start + 24 * HOUR + 1 * MIN
            await adapter.send(_item({"to": "P1", "text": "b"}))
            with pytest.raises(PermanentError, match="outside the 24-hour window"):
                await adapter.send(_item({"to": "P1", "text": "auto", "automated": True},
                                         kind="autoreply"))
            host.now = start + 6 * DAY + 23 * HOUR
            await adapter.send(_item({"to": "P1", "text": "c"}))
            host.now = start + 7 * DAY + 1 * MIN
            with pytest.raises(PermanentError, match="window closed"):
                await adapter.send(_item({"to": "P1", "text": "d"}))
        finally:
            await adapter.close()
        sent = graph.sent(PAGE)
        assert [s.body["message"]["text"] for s in sent] == ["a", "b", "c"]
        assert [s.body.get("tag") for s in sent] == [None, "HUMAN_AGENT", "HUMAN_AGENT"]
        assert [s.body["messaging_type"] for s in sent] == ["RESPONSE", "MESSAGE_TAG",
                                                           "MESSAGE_TAG"]


async def test_explicit_consent_holds_messages_until_i_agree(tmp_path: Path) -> None:
    host = MemoryChannelHost(spool_dir=tmp_path)
    adapter = MessengerAdapter(_channel("messenger", messenger_settings(
        GraphStandIn(), gdpr="explicit", consent_text="We keep this chat.")), host)
    adapter._names["P1"] = "Ana"  # no profile call in this test

    def ev(text: str, mid: str, **more: object) -> bytes:
        return json.dumps(messenger_event(PAGE, "P1", text=text, mid=mid,
                                          timestamp_ms=int(host.now * 1000), **more)).encode()

    assert await adapter.ingest_raw(ev("first", "m1")) is None
    assert await adapter.ingest_raw(ev("second", "m2")) is None
    assert host.messages == []  # held, not lost
    assert sum(r["state"] == "held" for r in host.inbox.values()) == 2
    [ask] = host.queued  # asked once a day, with the quick reply
    assert ask.payload == {"to": "P1", "text": "We keep this chat.", "automated": True,
                           "agree": True, "wrote_at": host.now}
    assert await adapter.ingest_raw(ev("I agree", "m3", quick_reply="GDPR_AGREE")) is None
    assert [(c.kind, c.text) for c in host.consents] == [("explicit", "We keep this chat.")]
    await adapter.process_pending()
    assert [m.text for m in host.messages] == ["first", "second"]
    assert await adapter.ingest_raw(ev("third", "m4")) is not None


async def test_implicit_consent_records_and_shows_the_text_once(tmp_path: Path) -> None:
    host = MemoryChannelHost(spool_dir=tmp_path)
    adapter = MessengerAdapter(_channel("messenger", messenger_settings(
        GraphStandIn(), gdpr="implicit", instant_reply="Thanks, we reply within a day.")), host)
    adapter._names["P1"] = ""
    for mid in ("m1", "m2"):
        await adapter.ingest_raw(json.dumps(messenger_event(
            PAGE, "P1", text=mid, mid=mid, timestamp_ms=int(host.now * 1000))).encode())
    assert [m.text for m in host.messages] == ["m1", "m2"]
    assert [c.kind for c in host.consents] == ["implicit"]
    texts = [q.payload["text"] for q in host.queued]
    assert texts == [adapter.settings.consent_text, "Thanks, we reply within a day."]


def test_whatsapp_composer_offers_templates_with_the_ticket_filled_in() -> None:
    channel = _channel("whatsapp", {"phone_number_id": "P", "access_token": "t",
                                    "app_secret": "s"},
                       template_list=[{"name": "ticket_update", "language": "en_US",
                                       "text": "Your ticket {{1}} was updated", "params": 1}])
    old = datetime.now(UTC).timestamp() - 25 * HOUR
    spec = WhatsAppAdapter.composer_spec(channel, _ticket(old))
    assert not spec.window.open
    assert "/template ticket_update #981" in spec.window.reason
    fresh = WhatsAppAdapter.composer_spec(channel, _ticket(old + 2 * HOUR))
    assert fresh.window.open and fresh.window.closes_at is not None
    assert parse_template("/template ticket_update #981", channel) == {
        "name": "ticket_update", "language": "en_US", "params": ["#981"]}
    assert parse_template("hello", channel) is None


def test_messenger_composer_says_why_the_window_is_closed() -> None:
    channel = _channel("messenger", {"page_id": PAGE})
    now = datetime.now(UTC).timestamp()
    assert MessengerAdapter.composer_spec(channel, _ticket(now - 3 * DAY)).window.open
    closed = MessengerAdapter.composer_spec(channel, _ticket(now - 8 * DAY)).window
    assert not closed.open and "7 days" in closed.reason


async def test_processed_deliveries_are_kept_30_days_then_pruned(store) -> None:
    from engine.models import Channel as Ch

    channel = await store.add_channel(Ch(kind="whatsapp", name="wa", settings={
        "phone_number_id": "P", "access_token": "t", "app_secret": "s"}))
    old = await store.inbox_add(channel.id, b"{}")
    await store.inbox_done(old)
    held = await store.inbox_hold(channel.id, b"{}", "+4915112345678")
    waiting = await store.inbox_add(channel.id, b"{}")
    import time

    assert await store.inbox_prune(channel.id, time.time() - 1) == 0  # younger than that
    assert await store.inbox_prune(channel.id, time.time() + 1) == 1
    assert await store.inbox_counts(channel.id) == {"held": 1, "new": 1}
    assert [i for i, _ in await store.inbox_pending(channel.id)] == [waiting] and held
