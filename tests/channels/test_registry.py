"""The registry's choices and the store-backed host: which channel answers, who notifies,
what a kind cannot do, and the writes a channel makes through its host."""

from __future__ import annotations

import pytest

from engine.channels import build_adapter
from engine.channels.abilities import Ability, NotSupported, cannot
from engine.channels.host import ChannelHost, SendLimit, StoreChannelHost
from engine.channels.registry import (
    REGISTRY,
    UnknownKind,
    able,
    entry,
    mail_kinds,
    orphan_kinds,
    pick_reply_channel,
)
from engine.channels.senders import resolve_sender
from engine.desk import Desk
from engine.ingest import ingest
from engine.models import Channel, DeliveryState, InboundMessage
from engine.outbox import Outbox, PermanentError
from engine.store import Store


def ch(cid: int, kind: str = "email", enabled: bool = True) -> Channel:
    return Channel(id=cid, kind=kind, name=f"c{cid}", enabled=enabled,
                   settings={"address": f"c{cid}@acme.test", "mode": "forwarding"})


# ---------------------------------------------------------------- pure choices
def test_a_reply_leaves_through_the_tickets_own_sending_channel():
    own = ch(5, enabled=False)
    assert pick_reply_channel(own, [ch(1), own]) is own


def test_a_ticket_without_a_channel_is_answered_by_the_first_enabled_orphan_kind_channel():
    disabled, later, first = ch(1, enabled=False), ch(3), ch(2)
    assert pick_reply_channel(None, [disabled, later, first]) is first
    assert pick_reply_channel(None, [disabled]) is disabled
    assert pick_reply_channel(None, []) is None


def test_a_channel_of_a_kind_that_cannot_send_falls_back():
    own = ch(9, kind="survey")
    assert pick_reply_channel(own, [ch(1)]).id == 1
    assert pick_reply_channel(own, []) is own  # its own send then says why it cannot


def test_the_registry_knows_email_and_names_unknown_kinds():
    assert orphan_kinds() == ["email"] and mail_kinds() == ["email"]
    assert [e.kind for e in able(Ability.notify_agents)] == ["email"]
    with pytest.raises(UnknownKind, match=r"unknown channel kind 'fax' \(known: [a-z, ]*email"):
        entry("fax")


def test_what_a_kind_cannot_do_is_said_in_words():
    assert cannot("chat", Ability.history_import, "Live") == \
        "'Live' is a chat channel; it cannot import history (email channels can)"
    assert str(NotSupported("chat", Ability.sign_in)) == \
        "a chat channel cannot sign in instead of using passwords (email channels can)"


def test_the_engine_never_imports_the_wizards_it_names():
    assert all(e.wizard is None or e.wizard.startswith("tui.") for e in REGISTRY.values())


# ------------------------------------------------------------------ the host
async def test_the_store_host_is_a_channel_host_and_limits_per_sender(store: Store):
    channel = await store.add_channel(ch(0).model_copy(update={"id": None}))
    host = StoreChannelHost(store, channel.id, kind="email")
    assert isinstance(host, ChannelHost)
    limit = SendLimit("ana@customer.test", 2)
    first = await host.enqueue("autoreply", ticket_id=None, payload={"n": 1}, key="a:1",
                               limit=limit)
    assert await host.enqueue("autoreply", ticket_id=None, payload={"n": 1}, key="a:2",
                              limit=limit)
    assert await host.enqueue("autoreply", ticket_id=None, payload={}, key="a:3",
                              limit=limit) is None
    other = SendLimit("bo@customer.test", 2)
    assert await host.enqueue("autoreply", ticket_id=None, payload={}, key="b:1", limit=other)
    item = await Outbox(store).item(first)
    assert item.channel_id == channel.id and item.payload == {"n": 1}


async def test_an_unsaved_channel_has_no_state_to_keep(store: Store):
    host = StoreChannelHost(store, None)
    with pytest.raises(RuntimeError, match="not saved yet"):
        await host.set_state({"imap": {}})


# ----------------------------------------------------------- replies and senders
async def _ticket(store: Store, channel_id: int | None = None) -> int:
    msg = InboundMessage(channel_id=channel_id, key="<q1@customer.test>",
                         sender="ana@customer.test", subject="AW: Printer on fire", text="Help")
    return (await ingest(store, msg)).ticket_id


async def test_a_reply_on_a_ticket_without_a_channel_goes_through_the_first_email_channel(
        store: Store):
    await store.add_channel(ch(0, enabled=False).model_copy(update={"id": None, "name": "Old"}))
    live = await store.add_channel(ch(0).model_copy(update={"id": None, "name": "Live"}))
    tid = await _ticket(store)
    desk = Desk(store, await store.agent("admin@example.com"))
    mid, oid = await desk.reply(tid, "We are on it")
    item = await Outbox(store).item(oid)
    assert item.channel_id == live.id and item.idempotency_key == f"reply:{mid}"
    assert item.payload["subject"] == f"Re: Printer on fire [#{tid}]"
    assert item.payload["in_reply_to"] == "<q1@customer.test>"
    sent = next(m for m in await store.messages(tid) if m.id == mid)
    assert sent.external_id == item.payload["message_id_header"]
    assert sent.external_id.endswith("@acme.test>")  # the sending address' domain


async def test_a_reply_with_no_channel_at_all_is_kept_and_marked_failed(store: Store):
    tid = await _ticket(store)
    mid, oid = await Desk(store, await store.agent("admin@example.com")).reply(tid, "Hello?")
    assert oid is None
    sent = next(m for m in await store.messages(tid) if m.id == mid)
    assert sent.delivery_state == DeliveryState.failed
    assert sent.delivery_error == ("no channel to send this reply through"
                                   " (connect an email channel)")
    assert sent.external_id.endswith("@ticketty.invalid>")


async def test_notifications_go_through_an_enabled_channel_that_can_notify(store: Store):
    item = (await Outbox(store).item(await store.enqueue_outbound(
        "notify", channel_id=None, ticket_id=None, payload={"to": "ada@acme.test"},
        key="notify:1:1")))
    with pytest.raises(PermanentError, match="no enabled email channel to send agent"
                                             " notifications through"):
        await resolve_sender(store, item)
    channel = await store.add_channel(ch(0).model_copy(update={"id": None}))
    sender = await resolve_sender(store, item)
    assert sender.__name__ == "send_notification" and sender.__self__.channel.id == channel.id
    assert build_adapter(channel, store).can(Ability.notify_agents)
