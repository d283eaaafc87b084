"""The ticket screen on Messenger tickets: the header shows the time left to reply (or that
the window closed, with the composer saying why), and ``:attach FILE`` sends a file along."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from engine.models import Channel, InboundMessage
from engine.store import Store
from tests.helpers.tui import make_app, ready, settle, type_text, widget_text
from tui.screens.ticket import TicketScreen

SIZE = (150, 36)


async def _messenger_ticket(db: Path, psid: str, age: timedelta) -> int:
    async with Store(db) as store:
        channel = await store.channel("fb") or await store.add_channel(Channel(
            kind="messenger", name="fb", settings={"page_id": "1111", "app_secret": "s",
                                                    "page_access_token": "t"}))
        result = await store.ingest(InboundMessage(
            channel_id=channel.id, key=f"m_{psid}", sender_kind="psid", sender=psid,
            sender_name="Ana Lima", text="Where is my order?", conversation_key=psid,
            received_at=datetime.now(UTC) - age))
        assert result.ticket_id is not None
        return result.ticket_id


async def _open(pilot, ticket_id: int) -> TicketScreen:
    pilot.app.open_ticket(ticket_id)
    await ready(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, TicketScreen)
    return screen


async def test_the_header_shows_the_window_and_attach_sends_a_file(seeded, tmp_path) -> None:
    db, _ = seeded
    fresh = await _messenger_ticket(db, "PSID-1", timedelta(hours=2))
    stale = await _messenger_ticket(db, "PSID-2", timedelta(days=8))
    photo = tmp_path / "label.png"
    photo.write_bytes(b"\x89PNG label")
    app = make_app(db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(pilot, fresh)
        title = widget_text(screen.query_one("#ticket-title"))
        assert "21 h 59 min left to reply" in title or "22 h 0 min left to reply" in title
        app.execute(f"attach {photo}")
        await settle(pilot)
        assert screen.composer.display and screen.composer.kind == "reply"
        assert "📎 label.png" in widget_text(screen.query_one("#composer-files"))
        await type_text(pilot, "Here is your return label.")
        await pilot.press("ctrl+s")
        await settle(pilot)
        async with Store(db) as store:
            async def sent() -> list:
                return [m for m in await store.messages(fresh) if m.direction.value == "outbound"]

            for _ in range(100):
                if await sent():
                    break
                await pilot.pause(0.05)
            [out] = await sent()
        assert out.text == "Here is your return label."
        assert [a.filename for a in out.attachments] == ["label.png"]

        screen = await _open(pilot, stale)
        assert "reply window closed" in widget_text(screen.query_one("#ticket-title"))
        await pilot.press("r")
        await settle(pilot)
        closed = widget_text(screen.query_one("#composer-signature"))
        assert "the Messenger window closed on" in closed and "7 days" in closed


async def test_outside_the_whatsapp_window_the_composer_offers_templates(seeded) -> None:
    from tui.screens.picker import PickerScreen

    db, _ = seeded
    async with Store(db) as store:
        channel = await store.add_channel(Channel(kind="whatsapp", name="wa", settings={
            "phone_number_id": "P", "access_token": "t", "app_secret": "s"}))
        await store.set_channel_health(channel.id, template_list=[
            {"name": "ticket_update", "language": "en_US", "params": 2,
             "text": "Hi {{2}}, your request {{1}} was updated."}])
        result = await store.ingest(InboundMessage(
            channel_id=channel.id, key="wamid.1", sender_kind="phone", sender="+4915112345678",
            sender_name="Ana Lima", text="Hello?", conversation_key="+4915112345678",
            received_at=datetime.now(UTC) - timedelta(hours=30)))
    tid = result.ticket_id
    app = make_app(db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(pilot, tid)
        assert "reply window closed" in widget_text(screen.query_one("#ticket-title"))
        await pilot.press("r")
        await _until(pilot, lambda: isinstance(app.screen, PickerScreen), "the template picker")
        await pilot.press("enter")
        await _until(pilot, lambda: screen.composer.text_area.text, "the template's line")
        assert screen.composer.text_area.text == f"/template ticket_update #{tid} | Ana"
        await pilot.press("ctrl+s")
        await settle(pilot)
    async with Store(db) as store:
        [out] = [m for m in await store.messages(tid) if m.direction.value == "outbound"]
        items = [await store.outbox_item(i) for i in range(1, 5)]
        [reply] = [i for i in items if i is not None and i.message_id == out.id]
        assert reply.payload["template"] == {"name": "ticket_update", "language": "en_US",
                                             "params": [f"#{tid}", "Ana"]}


async def _until(pilot, cond, what: str) -> None:
    for _ in range(300):
        if cond():
            return
        await pilot.pause(0.02)
    raise AssertionError(f"timed out waiting for {what}")
