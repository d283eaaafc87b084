"""Pilot tests: every flow an agent uses, driven by keys, asserted on engine state."""

from __future__ import annotations

from engine.desk import Desk
from engine.models import DeliveryState
from tests.helpers.tui import (
    make_app,
    notifications,
    press_text,
    ready,
    settle,
    type_text,
    widget_text,
)
from tui.screens.help import HelpScreen
from tui.screens.queue import QueueScreen
from tui.screens.ticket import TicketScreen

SIZE = (130, 36)


async def open_ticket(pilot, ticket_id: int) -> TicketScreen:
    pilot.app.open_ticket(ticket_id)
    await ready(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, TicketScreen)
    return screen


async def test_queue_views_and_counts(seeded):
    db, ids = seeded
    app = make_app(db)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        screen = app.screen
        assert isinstance(screen, QueueScreen)
        assert screen.table.total == 11
        counts = screen.query_one("#views").counts
        assert counts["open"] == 11 and counts["mine"] == 1 and counts["closed"] == 1
        await pilot.press("2")
        await settle(pilot)
        assert screen.view_key == "mine" and screen.table.total == 1
        assert screen.table.current_ticket.id == ids["t2"]
        await pilot.press("4")
        await settle(pilot)
        assert screen.table.total == 1 and screen.table.current_ticket.id == ids["t9"]
        await pilot.press("tab")
        await settle(pilot)
        assert screen.view_key == f"channel:{ids['channel']}"
        await pilot.press("tab")
        await settle(pilot)
        assert screen.view_key == "unassigned"
        assert screen.table.total == counts["unassigned"]


async def test_cursor_keys_sort_and_open_back_same_row(seeded):
    db, ids = seeded
    app = make_app(db)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        queue = app.screen
        table = queue.table
        await pilot.press("j", "j", "j")
        assert table.cursor == 3
        await pilot.press("G")
        assert table.cursor == 10
        await pilot.press("g", "j")
        chosen = table.current_ticket.id
        await pilot.press("enter")
        await ready(pilot)
        assert isinstance(app.screen, TicketScreen) and app.screen.ticket_id == chosen
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is queue and table.current_ticket.id == chosen
        await pilot.press("o")
        await settle(pilot)
        assert queue.sort == "created" and table.shown_query.sort == "created"
        await pilot.press("o")
        await settle(pilot)
        assert table.shown_query.sort == "priority"
        assert table.row(0).id == ids["t3"]  # the urgent one first


async def test_reply_with_signature_preview(seeded):
    db, ids = seeded
    app = make_app(db)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        screen = await open_ticket(pilot, ids["t1"])
        await pilot.press("r")
        await pilot.pause()
        signature = widget_text(screen.query_one("#composer-signature"))
        assert "Cheers," in signature and "Ada Admin" in signature
        await type_text(pilot, "Hello Omar")
        await pilot.press("enter")
        await type_text(pilot, "We are on it")
        await pilot.press("ctrl+s")
        await settle(pilot)
        messages = await app.store.messages(ids["t1"])
        reply = [m for m in messages if m.direction == "outbound"][-1]
        assert reply.text == "Hello Omar\nWe are on it"
        assert reply.delivery_state == DeliveryState.queued
        assert not screen.composer.display
        assert any("We are on it" in line for line in screen.thread.plain_lines())


async def test_note_and_canned_reply(seeded):
    db, ids = seeded
    app = make_app(db)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        screen = await open_ticket(pilot, ids["t2"])
        await pilot.press("n")
        await type_text(pilot, "Customer is a VIP")
        await pilot.press("ctrl+s")
        await settle(pilot)
        note = (await app.store.messages(ids["t2"]))[-1]
        assert note.direction == "note" and note.text == "Customer is a VIP"
        assert any("internal note" in line for line in screen.thread.plain_lines())
        await pilot.press("r")
        await pilot.press("ctrl+r")
        await pilot.pause()
        await type_text(pilot, "refund")
        await pilot.press("enter")
        await settle(pilot)
        assert "Refunds take 5 to 7 business days." in screen.composer.text_area.text


async def test_assign_status_priority_pickers(seeded):
    db, ids = seeded
    app = make_app(db)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await open_ticket(pilot, ids["t5"])
        await pilot.press("a")
        await pilot.pause()
        options = app.screen.query_one("#picker-options")
        labels = [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]
        assert any("Carol Chen" in x and "away" in x for x in labels)
        assert any("Bob Builder" in x and "available" in x for x in labels)
        await type_text(pilot, "bob")
        await pilot.press("enter")
        await settle(pilot)
        assert (await app.store.ticket(ids["t5"])).assignee_email == "bob@example.com"
        await pilot.press("s")
        await pilot.pause()
        await type_text(pilot, "pending")
        await pilot.press("enter")
        await settle(pilot)
        assert (await app.store.ticket(ids["t5"])).status == "pending"
        await pilot.press("p")
        await pilot.pause()
        await type_text(pilot, "high")
        await pilot.press("enter")
        await settle(pilot)
        ticket = await app.store.ticket(ids["t5"])
        assert ticket.priority == "high"
        panel = widget_text(app.screen.query_one("#properties"))
        assert "pending" in panel and "Bob Builder" in panel


async def test_close_reopen_and_take(seeded):
    db, ids = seeded
    app = make_app(db)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await open_ticket(pilot, ids["t6"])
        await pilot.press("c")
        await settle(pilot)
        assert not (await app.store.ticket(ids["t6"])).is_open
        await pilot.press("o")
        await settle(pilot)
        assert (await app.store.ticket(ids["t6"])).is_open
        await pilot.press("A")
        await settle(pilot)
        assert (await app.store.ticket(ids["t6"])).assignee_email == "ada@example.com"
        lines = app.screen.thread.plain_lines()
        assert any("closed" in x for x in lines) and any("reopened" in x for x in lines)


async def test_retry_failed_send(seeded):
    db, ids = seeded
    app = make_app(db)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        screen = await open_ticket(pilot, ids["t0"])
        assert any("not sent: 550 mailbox unavailable" in x for x in screen.thread.plain_lines())
        await pilot.press("R")
        await settle(pilot)
        messages = {m.id: m for m in await app.store.messages(ids["t0"])}
        assert messages[ids["failed_message"]].delivery_state == DeliveryState.queued


async def test_search_prompt_and_filters(seeded):
    db, ids = seeded
    app = make_app(db)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        table = app.screen.table
        await pilot.press("slash")
        await press_text(pilot, "parcel")
        await pilot.press("enter")
        await settle(pilot)
        assert table.total == 1 and table.current_ticket.id == ids["t3"]
        assert app.focused is table
        await pilot.press("escape")
        await settle(pilot)
        assert table.total == 11
        for text, expected in (("status:closed", {ids["t9"]}), ("assignee:bob", {ids["t0"], ids["t1"]}),
                               ("priority:urgent", {ids["t3"]}),
                               ("please assignee:me", {ids["t2"]})):
            await pilot.press("slash")
            box = app.screen.query_one("#search")
            box.value = ""
            await type_text(pilot, text)
            await pilot.press("enter")
            await settle(pilot)
            assert {t.id for _, t in table.loaded_rows()} == expected, text
        await pilot.press("slash")
        app.screen.query_one("#search").value = ""
        await type_text(pilot, "channel:nope")
        await pilot.press("enter")
        await settle(pilot)
        assert any("No channel named" in n for n in notifications(app))


async def test_command_line(seeded):
    db, ids = seeded
    app = make_app(db)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        queue = app.screen
        await pilot.press("colon")
        await type_text(pilot, "view mine")
        await pilot.press("enter")
        await settle(pilot)
        assert queue.view_key == "mine" and queue.table.total == 1
        await pilot.press("colon")
        await type_text(pilot, "view open")
        await pilot.press("enter")
        await settle(pilot)
        target = queue.table.current_ticket.id
        for command in ("assign bob@example.com", "status pending", "priority low"):
            await pilot.press("colon")
            await type_text(pilot, command)
            await pilot.press("enter")
            await settle(pilot)
        ticket = await app.store.ticket(target)
        assert (ticket.assignee_email, ticket.status, ticket.priority) == (
            "bob@example.com", "pending", "low")
        await pilot.press("colon")
        await type_text(pilot, "close")
        await pilot.press("enter")
        await settle(pilot)
        assert not (await app.store.ticket(target)).is_open
        await pilot.press("colon")
        await type_text(pilot, f"open {ids['t4']}")
        await pilot.press("enter")
        await ready(pilot)
        assert isinstance(app.screen, TicketScreen) and app.screen.ticket_id == ids["t4"]
        await pilot.press("colon")
        await type_text(pilot, "assign me")
        await pilot.press("enter")
        await settle(pilot)
        assert (await app.store.ticket(ids["t4"])).assignee_email == "ada@example.com"
        for command, expected in (("bogus", "Unknown command"), ("view mine", "does not apply")):
            await pilot.press("colon")
            await type_text(pilot, command)
            await pilot.press("enter")
            await settle(pilot)
            assert any(expected in n for n in notifications(app)), command


async def test_channels_command_dispatches(seeded, monkeypatch):
    import importlib.util

    db, ids = seeded
    app = make_app(db)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        before = len(app.screen_stack)
        await pilot.press("colon")
        await type_text(pilot, "channels")
        await pilot.press("enter")
        await settle(pilot)
        if importlib.util.find_spec("tui.screens.channels") is None:
            assert any("channels screen" in n for n in notifications(app))
        else:
            assert type(app.screen).__name__ == "ChannelsScreen"
            assert len(app.screen_stack) == before + 1


async def test_help_lists_keys_in_words(seeded):
    db, ids = seeded
    app = make_app(db)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        keys = widget_text(app.screen.query_one("#help-keys"))
        assert "Search" in keys and "Next view" in keys
        # the number keys are named once, by view
        assert "1–5" in keys and "views: Unassigned, Mine, All open, Closed, support" in keys
        assert "View 1" not in keys and "View 9" not in keys
        # no two keys described by the same words (q and ctrl+q both read "Quit ticketty")
        words = [str(cell) for cell in app.screen._keys_table().columns[1].cells]
        assert len(words) == len(set(words)), sorted(w for w in words if words.count(w) > 1)
        await pilot.press("escape")
        await open_ticket(pilot, ids["t0"])
        await pilot.press("question_mark")
        await pilot.pause()
        keys = widget_text(app.screen.query_one("#help-keys"))
        assert "Reply to the customer" in keys and "Internal note" in keys
        assert "Retry" in keys
        await pilot.press("q")
        assert isinstance(app.screen, TicketScreen)


async def test_live_updates_keep_cursor_on_ticket(seeded):
    db, ids = seeded
    app = make_app(db)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        table = app.screen.table
        await pilot.press("j", "j")
        chosen = table.current_ticket.id
        desk = Desk(app.store, app.agent)
        result = await desk.create_ticket(subject="Brand new problem", from_email="new@example.com")
        await settle(pilot)
        assert table.total == 12
        assert table.row(0).id == result.ticket_id
        assert table.current_ticket.id == chosen and table.cursor == 3
        assert app.screen.query_one("#views").counts["open"] == 12
        # a queue scrolled to the top stays there: the new ticket is the first visible row
        assert table.scroll_offset.y == 0


async def test_one_commit_reads_the_queue_once(seeded):
    """A new ticket commits several events at once (ticket.created, message.added, …): the
    queue reads its window once for them, not once per event (30 desks over SSH share 2
    cores; docs/performance.md)."""
    db, _ = seeded
    app = make_app(db)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        table = app.screen.table
        before = table.generation
        result = await Desk(app.store, app.agent).create_ticket(
            subject="Brand new problem", from_email="new@example.com")
        await settle(pilot)
        assert table.row(0).id == result.ticket_id
        assert table.generation == before + 1


async def test_availability_toggle_and_status_bar(seeded):
    db, ids = seeded
    app = make_app(db)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        bar = app.screen.query_one("#status")
        assert "Ada Admin" in widget_text(bar) and "available" in widget_text(bar)
        await pilot.press("ctrl+t")
        await settle(pilot)
        assert app.agent.availability == "away"
        assert (await app.store.agent("ada@example.com")).availability == "away"
        assert "away" in widget_text(bar)
        await pilot.press("ctrl+t")
        await settle(pilot)
        assert app.agent.availability == "available"


async def test_keymap_from_config(seeded):
    from engine.config import Config

    db, ids = seeded
    app = make_app(db, config=Config(keymap={"reply": "e", "queue.search": "f"}))
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("f")
        assert app.focused.id == "search"
        await pilot.press("escape")
        await open_ticket(pilot, ids["t1"])
        await pilot.press("e")
        await pilot.pause()
        assert app.screen.composer.display


async def test_theme_switch_is_remembered(seeded):
    db, ids = seeded
    app = make_app(db)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        assert app.theme == "ticketty-dark"
        await pilot.press("colon")
        await type_text(pilot, "theme ticketty-light")
        await pilot.press("enter")
        await settle(pilot)
        assert app.theme == "ticketty-light"
    again = make_app(db)
    async with again.run_test(size=SIZE) as pilot:
        await ready(pilot)
        assert again.theme == "ticketty-light"


async def test_html_mail_shown_as_text(seeded):
    db, ids = seeded
    app = make_app(db)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        screen = await open_ticket(pilot, ids["html"])
        text = "\n".join(screen.thread.plain_lines())
        assert "first point" in text and "<li>" not in text


async def test_empty_database_shows_empty_state(empty_db):
    app = make_app(empty_db)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        table = app.screen.table
        assert table.loaded and table.total == 0
        assert app.ready_ms is not None


async def test_new_tickets_appear_at_the_top_of_a_short_window(seeded):
    """More tickets than rows on screen: a queue at the top stays at the top as mail arrives."""
    db, ids = seeded
    app = make_app(db)
    async with app.run_test(size=(130, 12)) as pilot:
        await ready(pilot)
        table = app.screen.table
        await pilot.press("j")
        chosen = table.current_ticket.id
        desk = Desk(app.store, app.agent)
        new = await desk.create_ticket(subject="Arrived just now", from_email="late@example.com")
        await settle(pilot)
        assert table.scroll_offset.y == 0
        assert table.row(0).id == new.ticket_id
        assert table.current_ticket.id == chosen and table.cursor == 2
