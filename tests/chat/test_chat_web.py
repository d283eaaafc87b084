"""The chat channel through the real front door: the widget's files, the socket, ingest,
replies pushed live, resume without loss or repeats, typing, origins, the HTTP fallback."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
from websockets.exceptions import InvalidStatus

from engine.desk import Desk
from tests.chat.chat_helpers import chat_desk, visitor
from tests.helpers.cli import run_cli


async def test_the_widget_files_are_served_and_the_embed_code_names_them(db_path):
    async with chat_desk(db_path) as chat:
        async with httpx.AsyncClient() as client:
            js = await client.get(f"{chat.base}/widget.js")
            css = await client.get(f"{chat.base}/widget.css")
        assert js.status_code == 200 and js.headers["content-type"].startswith("text/javascript")
        assert 'data-ticketty' in js.text and "innerHTML" not in js.text
        assert css.status_code == 200 and ":host" in css.text
        shown = await asyncio.to_thread(run_cli, db_path, "channels", "show", "Live", "--json")
        assert shown.returncode == 0, shown.stderr
        links = json.loads(shown.stdout)
        assert links["embed_code"].startswith('<script src="http')
        assert f'/chat/{chat.channel.id}/widget.js" async></script>' in links["embed_code"]


async def test_a_visitor_message_opens_one_ticket_and_the_agent_reply_arrives_live(db_path):
    async with chat_desk(db_path) as chat, visitor(chat.ws_url()) as v:
        assert v.token and v.frames[0]["type"] == "session"
        config = next(f for f in v.frames if f["type"] == "config")
        assert config["mode"] == "open" and config["quick_replies"] == []  # bot off by default
        ack = await v.say("c1", "Hello, is anyone there?")
        again = await v.say("c1", "Hello, is anyone there?")  # a retry: the same message
        assert ack["id"] == again["id"]
        await v.say("c2", "<b>not markup</b>")
        tickets = await chat.store.count_channel_tickets(chat.channel.id)
        assert tickets == 1
        lines = await v.wait(lambda: len(v.messages("visitor")) == 2 and v.messages("visitor"))
        assert [m["text"] for m in lines] == ["Hello, is anyone there?", "<b>not markup</b>"]
        ticket_id = await chat.store.conversation_ticket(chat.channel.id, _visitor(v.token))
        desk = Desk(chat.store, chat.desk.agent)
        await desk.note(ticket_id, "internal: do not show")
        await desk.reply(ticket_id, "Hi! How can I help?")
        got = await v.wait(lambda: v.messages("agent"), what="the agent's reply")
        assert got[0]["text"] == "Hi! How can I help?" and got[0]["name"] == "Bob Builder"
        assert not any("internal" in m["text"] for m in v.messages())


def _visitor(token: str) -> str:
    return token.split(".")[0]


async def test_reconnecting_resumes_from_the_last_seen_line_nothing_lost_or_twice(db_path):
    async with chat_desk(db_path) as chat:
        async with visitor(chat.ws_url()) as v:
            first = await v.say("a", "one")
            token = v.token
            await v.wait(lambda: v.messages())
        ticket_id = await chat.store.conversation_ticket(chat.channel.id, _visitor(token))
        desk = Desk(chat.store, chat.desk.agent)
        await desk.reply(ticket_id, "while you were away")
        await desk.reply(ticket_id, "and another")
        async with visitor(chat.ws_url(token, after=first["id"])) as back:
            lines = await back.wait(lambda: len(back.messages()) == 2 and back.messages())
            assert [m["text"] for m in lines] == ["while you were away", "and another"]
            assert not any(f["type"] == "session" for f in back.frames)  # same visitor
            await back.say("b", "two")
            await back.wait(lambda: len(back.messages()) == 3)
            ids = [m["id"] for m in back.messages()]
            assert ids == sorted(set(ids))
        async with visitor(chat.ws_url(token)) as fresh:  # a new page: the whole history
            await fresh.wait(lambda: len(fresh.messages()) == 4)
            assert [m["author"] for m in fresh.messages()] == ["visitor", "agent", "agent",
                                                               "visitor"]


async def test_typing_travels_both_ways_as_events(db_path):
    async with chat_desk(db_path) as chat, visitor(chat.ws_url()) as v:
        await v.say("a", "hi")
        ticket_id = await chat.store.conversation_ticket(chat.channel.id, _visitor(v.token))
        async with chat.store.events() as queue:
            await v.send(type="typing", on=True)
            while True:
                event = await asyncio.wait_for(queue.get(), 10)
                if event.kind == "chat.typing":
                    break
        assert event.ticket_id == ticket_id and event.data["who"] == "visitor"
        await chat.store.signal("chat.typing", ticket_id, who="agent", on=True, name="Bob")
        frame = await v.wait(lambda: next((f for f in v.frames if f["type"] == "typing"), None))
        assert frame == {"type": "typing", "on": True, "name": "Bob"}


async def test_a_forged_token_is_a_new_visitor(db_path):
    async with chat_desk(db_path) as chat, visitor(chat.ws_url()) as v:
        await v.say("a", "mine")
        forged = _visitor(v.token) + ".AAAA"
        async with visitor(chat.ws_url(forged)) as other:
            assert other.token and other.token != v.token
            await asyncio.sleep(0)  # history would have been sent before config's wait ended
            assert other.messages() == []


async def test_allowed_origins_are_enforced_on_the_socket_and_the_script(db_path):
    async with chat_desk(db_path, allowed_origins="https://shop.example") as chat:
        async with httpx.AsyncClient() as client:
            bad = await client.get(f"{chat.base}/widget.js",
                                   headers={"Referer": "https://evil.example/page"})
            good = await client.get(f"{chat.base}/widget.js",
                                    headers={"Referer": "https://shop.example/cart"})
        assert bad.status_code == 403 and good.status_code == 200
        with pytest.raises(InvalidStatus):
            async with visitor(chat.ws_url(), Origin="https://evil.example"):
                pass
        async with visitor(chat.ws_url(), Origin="https://shop.example") as v:
            await v.say("a", "allowed")


async def test_the_http_fallback_posts_and_reads_idempotently(db_path):
    async with chat_desk(db_path) as chat:
        async with visitor(chat.ws_url()) as v:
            token = v.token
        async with httpx.AsyncClient() as client:
            body = {"token": token, "id": "f1", "text": "by plain HTTP"}
            one = (await client.post(f"{chat.base}/messages", json=body)).json()
            two = (await client.post(f"{chat.base}/messages", json=body)).json()
            assert one["id"] == two["id"] and two["duplicate"] is True
            bad = await client.post(f"{chat.base}/messages", json={**body, "token": "x"})
            assert bad.status_code == 401
            read = (await client.get(f"{chat.base}/messages",
                                     params={"token": token})).json()["messages"]
        assert [m["text"] for m in read] == ["by plain HTTP"]


async def test_an_email_joins_the_visitor_to_the_contact_of_their_emails(db_path):
    async with chat_desk(db_path) as chat:
        desk = Desk(chat.store, chat.desk.agent)
        old = await desk.create_ticket(subject="Earlier mail", from_email="ana@customer.test",
                                       name="Ana", body="by mail")
        async with visitor(chat.ws_url()) as v:
            await v.say("a", "hello from the site")
            await v.send(type="email", email="not-an-email", name="Ana")
            await v.wait(lambda: any(f["type"] == "error" for f in v.frames))
            await v.send(type="email", email="Ana@Customer.test", name="Ana")
            await v.wait(lambda: any(f["type"] == "email_ok" for f in v.frames))
            ticket_id = await chat.store.conversation_ticket(chat.channel.id, _visitor(v.token))
        chat_ticket = await chat.store.ticket(ticket_id)
        mail_ticket = await chat.store.ticket(old.ticket_id)
        assert chat_ticket.contact_id == mail_ticket.contact_id
        assert chat_ticket.contact_email == "ana@customer.test"


async def test_a_reply_queued_by_another_process_is_sent_at_once(db_path):
    """The runner wakes its outbox on ``outbox.queued`` events from any process (a TUI that
    is not the runner, the API), instead of waiting for its next ``outbox_interval``."""
    from engine.store import Store

    async with chat_desk(db_path, engine_settings={"outbox_interval": 30}) as chat, \
            visitor(chat.ws_url()) as v:
        await v.say("a", "hello")
        ticket_id = await chat.store.conversation_ticket(chat.channel.id, _visitor(v.token))
        await asyncio.sleep(0.3)  # the outbox's first pass is over: it now sleeps 30 s
        async with Store(db_path) as other:  # an agent's TUI in another process
            await Desk(other, chat.desk.agent).reply(ticket_id, "from elsewhere")
        await v.wait(lambda: v.messages("agent"), seconds=5, what="the reply within 5 s")


async def test_an_oversized_message_is_refused_in_words_and_not_stored(db_path):
    async with chat_desk(db_path, max_message_chars=10) as chat, visitor(chat.ws_url()) as v:
        await v.send(type="message", id="big", text="x" * 11)
        await v.wait(lambda: any(f["type"] == "error" and "at most 10" in f["error"]
                                 for f in v.frames))
        await v.send(type="message", id="huge", text="x" * 100_000)
        await v.wait(lambda: any(f["type"] == "error" and "too large" in f["error"]
                                 for f in v.frames))
        await v.say("ok", "fits")  # the socket still works
        assert await chat.store.count_channel_tickets(chat.channel.id) == 1
        assert [m["text"] for m in v.messages()] == ["fits"]  # sent before its ack
