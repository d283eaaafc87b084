"""The email adapter on the in-memory host: what it asks of the host, and its pure hooks."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from engine.channels.contract import ReplyContext
from engine.channels.email import EmailAdapter, HostSyncState
from engine.channels.email_compose import compose_reply
from engine.channels.email_parse import parse_email
from engine.channels.email_settings import EmailSettings
from engine.channels.testing import MemoryChannelHost
from engine.models import Channel, InboundMessage, IngestResult
from tests.channels.kits import a_ticket

CORPUS = Path(__file__).parent.parent / "corpus" / "email"
SETTINGS = {"address": "help@acme.test", "mode": "forwarding", "forward_listen_port": 0}


def channel(**more: object) -> Channel:
    return Channel(id=1, kind="email", name="Support", settings={**SETTINGS, **more})


def mail(n: int, sender: str = "ana@customer.test", **headers: str) -> bytes:
    head = {"From": f"Ana <{sender}>", "To": "help@acme.test", "Subject": f"Order {n}",
            "Message-ID": f"<unit-{n}@customer.test>", **headers}
    return ("".join(f"{k}: {v}\r\n" for k, v in head.items())
            + f"\r\nWhere is order {n}?\r\n").encode()


@pytest.fixture
def host(tmp_path: Path) -> MemoryChannelHost:
    return MemoryChannelHost(spool_dir=tmp_path / "spool", agents={"agent@acme.test"})


# ------------------------------------------------------------------ receiving
async def test_mail_forwarded_by_an_agent_is_credited_to_the_original_sender(host):
    adapter = EmailAdapter(channel(address="support@acme.test"), host)
    try:
        result = await adapter.ingest_raw((CORPUS / "gmail_forward.eml").read_bytes(), "unit")
    finally:
        await adapter.close()
    assert result is not None and result.created_ticket
    msg = host.messages[0]
    assert msg.sender == "ana@customer.test" and msg.flags.forwarded_by == "agent@acme.test"


async def test_without_the_agent_in_the_host_the_forwarder_stays_the_sender(tmp_path):
    host = MemoryChannelHost(spool_dir=tmp_path / "spool")  # nobody trusted but the channel
    adapter = EmailAdapter(channel(address="support@acme.test"), host)
    try:
        await adapter.ingest_raw((CORPUS / "gmail_forward.eml").read_bytes(), "unit")
    finally:
        await adapter.close()
    assert host.messages[0].sender == "agent@acme.test"


async def test_a_new_ticket_is_acknowledged_through_the_host(host):
    adapter = EmailAdapter(channel(auto_reply=True), host)
    try:
        await adapter.ingest_raw(mail(1, **{"Reply-To": "ana.home@customer.test"}), "unit")
        await adapter.ingest_raw(mail(1), "unit")  # the same mail again: no second ticket
    finally:
        await adapter.close()
    [ack] = host.queued
    assert ack.kind == "autoreply" and ack.key == f"autoreply:{host.results[0].ticket_id}"
    assert ack.payload["to"] == "ana.home@customer.test"  # Reply-To, lower-cased
    assert ack.payload["in_reply_to"] == "<unit-1@customer.test>"
    assert f"#{host.results[0].ticket_id}" in ack.payload["text"]


def _parsed(n: int, **headers: str) -> InboundMessage:
    return parse_email(mail(n, **headers), channel_id=1)


async def test_acknowledgements_are_limited_per_sender_by_the_host_clock(host):
    adapter = EmailAdapter(channel(auto_reply=True, auto_reply_limit=2), host)
    for n in (1, 2, 3):
        created = IngestResult(ticket_id=n, message_id=n, created_ticket=True)
        assert await adapter.acknowledge(_parsed(n), created) is (n < 3)
    host.advance(86_401)  # a day later the sender may be answered again
    assert await adapter.acknowledge(_parsed(4), IngestResult(
        ticket_id=4, message_id=4, created_ticket=True))
    assert [q.ticket_id for q in host.queued] == [1, 2, 4]


async def test_automatic_mail_is_never_acknowledged(host):
    adapter = EmailAdapter(channel(auto_reply=True), host)
    auto = _parsed(1, **{"Auto-Submitted": "auto-replied"})
    assert auto.flags.auto_reply
    assert not await adapter.acknowledge(auto, IngestResult(ticket_id=1, message_id=1,
                                                             created_ticket=True))
    assert host.queued == []


async def test_imap_sync_state_lives_in_the_channel_state_beside_other_keys(host):
    host.saved_state = {"other": 1}
    state = HostSyncState(host)
    assert await state.get_sync_state("INBOX") is None
    await state.put_sync_state("INBOX", 42, 7)
    await state.put_sync_state("Archive", 9, 1)
    assert await state.get_sync_state("INBOX") == (42, 7)
    assert host.saved_state == {"other": 1, "imap": {"INBOX": [42, 7], "Archive": [9, 1]}}


async def test_a_forwarding_channel_has_nothing_to_sync(host):
    result = await EmailAdapter(channel(), host).sync_once()
    assert result["fetched"] == 0 and "forwarding" in result["note"]
    assert host.health_calls == []


# ------------------------------------------------------------------ pure hooks
def context(**more: object) -> ReplyContext:
    base = ReplyContext(
        ticket_id=7, subject="Re: AW: Order 1", message_id=9, key="reply:9",
        channel=channel(), body="On its way.", html=None, agent_name="Ada Agent",
        agent_email="ada@acme.test",
        identities=(("email", "ana@customer.test"), ("phone", "+4912345")),
        thread_ids=("<unit-1@customer.test>", "<ticketty.T7.M5.x@acme.test>"),
        inbound_ids=("csv:12", "<unit-2@customer.test>", "<unit-1@customer.test>"))
    return dataclasses.replace(base, **more)


def test_a_reply_plan_fixes_the_message_id_compose_reply_will_send():
    plan = EmailAdapter.prepare_reply(context())
    settings = EmailSettings.model_validate(SETTINGS)
    composed = compose_reply(settings, to="ana@customer.test", subject="x", text="y",
                             ticket_id=7, message_id=9, idempotency_key="reply:9")
    assert plan.external_id == composed.message_id == plan.payload["message_id_header"]
    assert plan.thread_ids == (plan.external_id,)


def test_a_reply_answers_the_customers_latest_message_id_and_keeps_the_thread():
    p = EmailAdapter.prepare_reply(context()).payload
    assert p["in_reply_to"] == "<unit-2@customer.test>"  # not the import key before it
    assert p["references"] == ["<unit-1@customer.test>", "<ticketty.T7.M5.x@acme.test>"]
    assert p["subject"] == "Re: Order 1 [#7]" and p["to"] == "ana@customer.test"
    assert p["agent_name"] == "Ada Agent" and p["text"] == "On its way."


def test_a_reply_without_customer_message_ids_points_at_the_newest_thread_id():
    p = EmailAdapter.prepare_reply(context(inbound_ids=("csv:12",))).payload
    assert p["in_reply_to"] == "<ticketty.T7.M5.x@acme.test>"
    assert EmailAdapter.prepare_reply(context(inbound_ids=(), thread_ids=())
                                      ).payload["in_reply_to"] is None


def test_a_reply_goes_to_reply_to_first_and_keeps_twenty_references():
    refs = tuple(f"<r{i}@x.test>" for i in range(30))
    p = EmailAdapter.prepare_reply(context(reply_to="ana.home@customer.test",
                                           thread_ids=refs)).payload
    assert p["to"] == "ana.home@customer.test" and p["references"] == list(refs[-20:])


def test_a_reply_without_a_channel_still_gets_an_id_of_ours():
    plan = EmailAdapter.prepare_reply(context(channel=None))
    assert plan.external_id.endswith("@ticketty.invalid>")


def test_the_composer_shows_the_subject_and_the_signature_with_the_agents_name():
    ch = channel(signature="Best,\n{first_name} ({full_name})")
    spec = EmailAdapter.composer_spec(ch, a_ticket("AW: Order 1"))
    assert spec.has_subject and spec.subject == "Re: Order 1 [#7]" and spec.window.open
    assert EmailAdapter.signature_preview(ch, "Ada  Agent") == "Best,\nAda (Ada Agent)"


@pytest.mark.parametrize(("settings", "health", "shown"), [
    ({"mode": "imap", "imap_host": "imap.acme.test"}, {}, "help@acme.test"),
    ({}, {"listening": "127.0.0.1:2626"}, "help@acme.test (forward to smtp://127.0.0.1:2626)"),
    ({}, {}, "help@acme.test (not listening yet; any free port on 127.0.0.1)"),
    ({"forward_listen_host": "::1", "forward_listen_port": 2525}, {},
     "help@acme.test (not listening yet; will listen on smtp://[::1]:2525)"),
])
def test_the_address_is_shown_without_opening_secrets(settings, health, shown):
    ch = channel(imap_password="fernet:sealed-and-unreadable", **settings)
    assert EmailAdapter.address_of(ch.model_copy(update={"health": health})) == shown
