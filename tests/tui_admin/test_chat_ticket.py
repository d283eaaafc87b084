"""A chat ticket on the ticket screen: "● visitor online" and "typing…" in its header from the
engine's events, new lines live, the composer without a subject, and the agent's typing
signalled (replies only, never notes)."""

from __future__ import annotations

import asyncio

from engine.channels.chat_settings import ChatSettings
from engine.channels.setup import build_channel
from engine.models import InboundMessage
from tests.helpers.admin import SIZE, make_app, started, until
from tui.screens.ticket import TicketScreen

VISITOR = "v" + "A" * 22


async def _chat_ticket(db) -> int:
    from engine.ingest import ingest
    from engine.store import Store

    async with Store(db) as store:
        pipelines = {p.name: [s.name for s in p.statuses] for p in await store.pipelines()}
        channel = await store.add_channel(build_channel(
            "chat", "Website", {}, settings_model=ChatSettings, agents=[], teams=[],
            pipelines=pipelines))
        result = await ingest(store, InboundMessage(
            channel_id=channel.id, key="chat:1", sender_kind="visitor", sender=VISITOR,
            text="Is the blue bike in stock?", conversation_key=VISITOR))
        return result.ticket_id


def _title(screen) -> str:
    return str(screen.query_one("#ticket-title").render())


async def test_presence_typing_and_live_lines_on_a_chat_ticket(bare_db):
    ticket_id = await _chat_ticket(bare_db)
    app = make_app(bare_db)
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot)
        app.open_ticket(ticket_id)
        await until(pilot, lambda: isinstance(app.screen, TicketScreen)
                    and app.screen.ctx is not None, "the ticket")
        screen = app.screen
        store = app.store
        await store.signal("chat.presence", ticket_id, online=True)
        await until(pilot, lambda: "● visitor online" in _title(screen), "online")
        await store.signal("chat.typing", ticket_id, who="visitor", on=True)
        await until(pilot, lambda: "typing…" in _title(screen), "typing")
        await store.signal("chat.presence", ticket_id, online=False)
        await until(pilot, lambda: "visitor offline" in _title(screen)
                    and "typing" not in _title(screen), "offline")
        from engine.ingest import ingest

        await ingest(store, InboundMessage(
            channel_id=screen.ctx.channel.id, key="chat:2", sender_kind="visitor",
            sender=VISITOR, text="Hello?", conversation_key=VISITOR))
        await until(pilot, lambda: any(m.text == "Hello?" for m in screen.messages), "live")
        async with store.events() as queue:
            await pilot.press("n")  # a note: the visitor is not told
            await until(pilot, lambda: screen.composer.display, "the note composer")
            screen.composer.text_area.insert("internal")
            await pilot.pause(0.2)
            await pilot.press("escape")
            await pilot.press("r")
            await until(pilot, lambda: screen.composer.display
                        and screen.composer.kind == "reply", "the reply composer")
            assert not screen.composer.query_one("#composer-subject").display  # no subject
            screen.composer.text_area.insert("Yes")
            event = await asyncio.wait_for(queue.get(), 5)
            while event.kind != "chat.typing":
                event = await asyncio.wait_for(queue.get(), 5)
        assert event.data["who"] == "agent" and event.ticket_id == ticket_id
