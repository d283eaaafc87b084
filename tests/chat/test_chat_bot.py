"""The chat's bot, availability and transcripts — through the real server, and the
transcript through a real email channel into aiosmtpd."""

from __future__ import annotations

import asyncio
from email import message_from_bytes, policy

from engine.channels.chat_settings import ChatSettings
from engine.channels.testing import MemoryChannelHost
from engine.desk import Desk
from engine.models import Channel
from tests.channels.kits import until
from tests.chat.chat_helpers import chat_desk, visitor
from tests.chat.widgets import widget

QUICK = "Prices = See acme.test/prices | Hours = We answer 9 to 5"


async def _mail_channel(store, port: int) -> None:
    """The email channel "Mail", sending into the aiosmtpd sink on ``port``."""
    await store.add_channel(Channel(kind="email", name="Mail", settings={
        "address": "help@acme.test", "mode": "forwarding", "forward_listen_port": 0,
        "smtp_host": "127.0.0.1", "smtp_port": port, "smtp_security": "none"}))


async def _ana_says(chat, v, text: str) -> int:
    """Ana writes ``text`` and leaves her email; her chat's ticket."""
    await v.say("a", text)
    await v.send(type="email", email="ana@customer.test", name="Ana")
    await v.wait(lambda: any(f["type"] == "email_ok" for f in v.frames))
    return await chat.store.conversation_ticket(chat.channel.id, _visitor(v.token))


def _visitor(token: str) -> str:
    return token.split(".")[0]


async def test_the_bot_greets_collects_answers_buttons_and_hands_off(db_path):
    async with chat_desk(db_path, bot_enabled="true", bot_quick_replies=QUICK) as chat, \
            visitor(chat.ws_url()) as v:
        config = next(f for f in v.frames if f["type"] == "config")
        assert config["quick_replies"] == ["Prices", "Hours", "Talk to a person"]
        assert config["ask_email"] is True
        await v.say("a", "hi")
        bot = await v.wait(lambda: len(v.messages("bot")) == 2 and v.messages("bot"))
        assert bot[0]["text"] == "Hi! How can we help you today?" and "email" in bot[1]["text"]
        await v.send(type="quick", label="Prices")
        await v.wait(lambda: any(m["text"] == "See acme.test/prices"
                                 for m in v.messages("bot")), what="the canned answer")
        ticket_id = await chat.store.conversation_ticket(chat.channel.id, _visitor(v.token))
        async with chat.store.events() as queue:
            await v.send(type="quick", label="Talk to a person")
            while (await asyncio.wait_for(queue.get(), 10)).kind != "chat.handoff":
                pass
        await v.wait(lambda: any("person" in m["text"] for m in v.messages("bot")))
        stored = [m.text for m in await chat.store.messages(ticket_id)]
        assert "See acme.test/prices" in stored and stored[0] == "hi"  # the bot is in the thread
        await v.send(type="quick", label="No such button")
        await v.wait(lambda: any(f["type"] == "error" for f in v.frames))


async def test_outside_office_hours_the_widget_is_away_or_hidden(db_path):
    closed = "mon 00:00-00:01 UTC"  # closed for all but a minute a week
    async with chat_desk(db_path, availability="office_hours", office_hours=closed) as chat, \
            visitor(chat.ws_url()) as v:
        config = next(f for f in v.frames if f["type"] == "config")
        assert config["mode"] == "away" and config["ask_email"] is True
        assert config["away_message"].startswith("We're away")
    async with chat_desk(db_path.with_name("b.db"), availability="office_hours",
                         office_hours=closed, outside_hours="hide") as chat, \
            visitor(chat.ws_url()) as v:
        assert next(f for f in v.frames if f["type"] == "config")["mode"] == "hidden"


async def test_availability_can_follow_the_routed_agents(db_path):
    async with chat_desk(db_path, availability="agents") as chat:
        async with visitor(chat.ws_url()) as v:
            assert next(f for f in v.frames if f["type"] == "config")["mode"] == "open"
        for agent in (chat.desk.admin, chat.desk.agent):
            await Desk(chat.store, agent).set_availability("away")
        async with visitor(chat.ws_url()) as v:
            assert next(f for f in v.frames if f["type"] == "config")["mode"] == "away"


async def test_closing_a_chat_mails_its_transcript_through_the_email_channel(db_path,
                                                                           smtp_sink):
    handler, port = smtp_sink
    async with chat_desk(db_path, transcript_from="chat@acme.test",
                         reply_email_channel="Mail") as chat:
        await _mail_channel(chat.store, port)
        async with visitor(chat.ws_url()) as v:
            ticket_id = await _ana_says(chat, v, "my parcel is late")
            desk = Desk(chat.store, chat.desk.agent)
            await desk.reply(ticket_id, "It left today.")
            await v.wait(lambda: v.messages("agent"))
            await desk.close(ticket_id)
            await v.wait(lambda: any(f["type"] == "closed" for f in v.frames))
        await until(lambda: handler.messages, 20, "the transcript mail")
        _, recipients, raw = handler.messages[0]
        mail = message_from_bytes(raw, policy=policy.default)
        assert recipients == ["ana@customer.test"]
        assert "chat@acme.test" in mail["From"] and "Transcript" in mail["Subject"]
        body = mail.get_body(preferencelist=("plain",)).get_content().replace("\r\n", "\n")
        assert "You:\n  my parcel is late" in body and "Bob Builder:\n  It left today." in body


async def test_a_visitor_gone_for_idle_minutes_ends_the_chat_with_a_transcript(tmp_path):
    host = MemoryChannelHost(spool_dir=tmp_path)
    settings = ChatSettings(transcript_from="chat@acme.test", reply_email_channel="Mail",
                            idle_minutes=5).model_dump(mode="json")
    from engine.channels.chat import ChatAdapter

    adapter = ChatAdapter(Channel(id=1, kind="chat", name="Live", settings=settings), host)
    w, _ = widget()
    await adapter.open_widget(w, 0)
    await adapter.visitor_says(w, "m1", "hello?")
    await adapter.visitor_email(w, "ana@customer.test", "Ana")
    await adapter.close_widget(w)
    gone = adapter.hub.gone_at[w.visitor]
    assert await adapter.end_idle(gone + 4 * 60) == []  # not yet
    assert await adapter.end_idle(gone + 5 * 60) == [1]
    (channel, kind, ticket, payload, key), = host.queued_via
    assert (channel, kind, payload["to"], payload["from"]) == (
        "Mail", "transcript", "ana@customer.test", "chat@acme.test")
    assert "hello?" in payload["text"]
    assert await adapter.end_idle(gone + 60 * 60) == []  # once


async def test_the_idle_clock_survives_a_restart_of_the_engine(tmp_path):
    """A visitor who left (or was still there when the engine stopped) gets their transcript
    from the next engine: when they went is kept in the channel's state, not only in memory."""
    host = MemoryChannelHost(spool_dir=tmp_path)
    host.now = 1_000_000.0
    settings = ChatSettings(transcript_from="chat@acme.test", reply_email_channel="Mail",
                            idle_minutes=5).model_dump(mode="json")
    from engine.channels.chat import ChatAdapter
    from engine.channels.chat_tokens import new_visitor_id

    channel = Channel(id=1, kind="chat", name="Live", settings=settings)
    first = ChatAdapter(channel, host)
    running = asyncio.ensure_future(first.run())
    left, _ = widget()
    stayed, _ = widget(new_visitor_id())
    for w, line_ in ((left, "where is my parcel?"), (stayed, "can I pay by invoice?")):
        await first.open_widget(w, 0)
        await first.visitor_says(w, "m1", line_)
        await first.visitor_email(w, f"{line_[:3].strip()}@customer.test", "Ana")
    await first.close_widget(left)
    host.now += 60
    running.cancel()  # the engine stops while ``stayed`` is still on the page
    await asyncio.gather(running, return_exceptions=True)
    assert set(host.saved_state["gone"]) == {left.visitor, stayed.visitor}

    second = ChatAdapter(channel, host)
    running = asyncio.ensure_future(second.run())
    await until(lambda: second.hub.gone_at, 5, "the saved idle clocks")
    assert await second.end_idle(1_000_000.0 + 4 * 60) == []
    assert await second.end_idle(1_000_000.0 + 5 * 60) == [1]  # ``left``: 5 min since it went
    assert await second.end_idle(1_000_000.0 + 6 * 60) == [2]  # ``stayed``: since the stop
    assert [(kind, ticket) for _, kind, ticket, _, _ in host.queued_via] == [
        ("transcript", 1), ("transcript", 2)]
    assert host.saved_state["gone"] == {}
    running.cancel()
    await asyncio.gather(running, return_exceptions=True)


async def test_a_reply_written_while_away_also_goes_out_by_mail(db_path, smtp_sink):
    handler, port = smtp_sink
    async with chat_desk(db_path, availability="office_hours", office_hours="mon 00:00-00:01 UTC",
                         reply_email_channel="Mail") as chat:
        await _mail_channel(chat.store, port)
        async with visitor(chat.ws_url()) as v:
            ticket_id = await _ana_says(chat, v, "are you there?")
            await Desk(chat.store, chat.desk.agent).reply(ticket_id, "Back tomorrow at 9.")
            await v.wait(lambda: v.messages("agent"))  # on the widget too, when they return
        await until(lambda: handler.messages, 20, "the reply by mail")
        _, recipients, raw = handler.messages[0]
        mail = message_from_bytes(raw, policy=policy.default)
        assert recipients == ["ana@customer.test"] and "Re: are you there?" in mail["Subject"]
        assert "Back tomorrow at 9." in mail.get_body(preferencelist=("plain",)).get_content()


async def test_with_the_bot_on_routing_waits_for_the_hand_off(db_path):
    async with chat_desk(db_path, bot_enabled="true", routing="users_teams",
                         routing_targets="bob@example.com") as chat:
        bob = chat.desk.agent
        assert chat.channel.routing.agent_ids == [bob.id]
        async with visitor(chat.ws_url()) as v:
            await v.say("a", "hi")
            ticket_id = await chat.store.conversation_ticket(chat.channel.id, _visitor(v.token))
            assert (await chat.store.ticket(ticket_id)).assignee_id is None  # the bot first
            await v.send(type="quick", label="Talk to a person")
            await v.wait(lambda: any("person" in m["text"] for m in v.messages("bot")))
        ticket = await chat.store.ticket(ticket_id)
        assert ticket.assignee_id == bob.id
