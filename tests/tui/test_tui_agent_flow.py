"""An agent's fast path: reply with a canned answer and close in six keys, send-as status,
undoing a close, canned text at the cursor, and the words and layout around them."""

from __future__ import annotations

import time

from engine.desk import Desk
from engine.models import Direction
from tests.helpers.tui import make_app, notifications, pick, ready, settle, widget_text
from tui.screens.queue import QueueScreen
from tui.screens.ticket import TicketScreen

SIZE = (130, 36)


async def test_open_reply_with_canned_answer_send_close_in_six_keys(seeded):
    db, ids = seeded
    app = make_app(db)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        queue = app.screen
        while queue.table.current_ticket.assignee_id is not None:  # the first nobody has
            await pilot.press("j")
        ticket = queue.table.current_ticket
        assert ticket.assignee_id is None and ticket.status == "new"
        keys = ["enter", "r", "ctrl+r", "enter", "ctrl+s", "c"]
        await pilot.press(*keys)
        await settle(pilot)
        assert len(keys) <= 6
        assert isinstance(app.screen, TicketScreen) and app.screen.ticket_id == ticket.id
        messages = await app.store.messages(ticket.id)
        reply = [m for m in messages if m.direction == Direction.outbound][-1]
        assert reply.text == "Reset your password at https://example.com/reset"
        after = await app.store.ticket(ticket.id)
        assert not after.is_open and after.assignee_email == "ada@example.com"
        # the reply set "pending" before the close: the close comes last, as pressed
        statuses = [m.text for m in messages if m.direction == Direction.system]
        assert statuses.index("status changed from new to pending") < statuses.index("closed")
        assert f"Closed #{ticket.id} — u to undo" in notifications(app)
        await pilot.press("u")
        await settle(pilot)
        assert (await app.store.ticket(ticket.id)).status == "pending"
        assert f"Reopened #{ticket.id} as pending" in notifications(app)
        # it left the view and came back: esc still lands on its row
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is queue and queue.table.current_ticket.id == ticket.id


async def test_close_from_the_queue_undo_within_ten_seconds_only(seeded):
    db, ids = seeded
    app = make_app(db)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("j", "j", "j", "j")  # #5: urgent, new
        target = app.screen.table.current_ticket.id
        await pilot.press("c")
        await settle(pilot)
        assert not (await app.store.ticket(target)).is_open
        await pilot.press("u")
        await settle(pilot)
        assert (await app.store.ticket(target)).status == "new"
        await pilot.press("c")
        await settle(pilot)
        undo, _ = app.undo
        app.undo = (undo, time.monotonic() - 0.1)  # ten seconds went by
        await pilot.press("u")
        await settle(pilot)
        assert not (await app.store.ticket(target)).is_open
        assert "Nothing to undo" in notifications(app)


async def test_send_as_shows_and_cycles_the_pipeline_statuses(seeded):
    db, ids = seeded
    app = make_app(db)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        app.open_ticket(ids["t6"])
        await ready(pilot)
        screen = app.screen
        await pilot.press("r")
        await pilot.pause()
        assert "Subject: Re: Feature request: dark mode [#7]" in widget_text(
            screen.query_one("#composer-subject"))
        send_as = screen.query_one("#composer-send-as")
        assert "send as: pending" in widget_text(send_as)
        await pilot.press("ctrl+o")
        await pilot.pause()
        assert "send as: on_hold" in widget_text(send_as)
        await pilot.press("ctrl+o", "ctrl+o")  # on_hold → solved → closed
        await pilot.press("ctrl+o")  # → new (wraps around)
        await pilot.press("ctrl+o", "ctrl+o", "ctrl+o", "ctrl+o")  # open, pending, on_hold, solved
        await pilot.pause()
        assert "send as: solved" in widget_text(send_as)
        screen.composer.text_area.insert("Dark mode ships next week.")
        await pilot.press("ctrl+s")
        await settle(pilot)
        ticket = await app.store.ticket(ids["t6"])
        assert ticket.status == "solved" and ticket.assignee_email == "ada@example.com"
        assert any(n.startswith(f"Reply queued on #{ids['t6']} as solved") for n in notifications(app))


async def test_canned_reply_goes_in_at_the_cursor_as_its_own_paragraph(seeded):
    from engine.store import Store

    db, ids = seeded
    async with Store(db) as store:
        await store.add_canned("Apology", "Sorry {first_name}, this is {agent_name} on #{ticket_id}.")
    app = make_app(db)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        app.open_ticket(ids["t0"])
        await ready(pilot)
        await pilot.press("r")
        area = app.screen.composer.text_area
        area.insert("Thanks!Could you unplug it?")
        area.move_cursor((0, len("Thanks!")))
        await pilot.press("ctrl+r")
        await pilot.pause()
        await pick(pilot, "apology")
        assert area.text == ("Thanks!\n\nSorry Jane, this is Ada Admin on #1.\n\n"
                             "Could you unplug it?")


async def test_words_plural_and_toasts(seeded):
    db, ids = seeded
    app = make_app(db)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        app.open_ticket(ids["t6"])
        await ready(pilot)
        assert widget_text(app.screen.query_one("#status")).rstrip().endswith("#7 · 1 message")
        await pilot.press("n")
        app.screen.composer.text_area.insert("VIP")
        await pilot.press("ctrl+s")
        await settle(pilot)
        await pilot.press("s")
        await pilot.pause()
        await pick(pilot, "on_hold")
        shown = notifications(app)
        assert "Note added to #7" in shown and "Set #7 to on_hold" in shown
        for text in shown:
            assert text[:1].isupper() or text[:1] in "#:", text
            assert not text.endswith("."), text


async def test_toasts_leave_the_status_bar_counter_visible(seeded):
    db, ids = seeded
    app = make_app(db)
    async with app.run_test(size=(100, 24), notifications=True) as pilot:
        await ready(pilot)
        await pilot.press("o")  # "Sorted by created"
        await pilot.pause()
        toasts = list(app.screen.query("Toast"))
        assert toasts
        bar = app.screen.query_one("#status").region
        for toast in toasts:
            assert not toast.region.overlaps(bar), (toast.region, bar)


async def test_assignment_event_keeps_its_time_together(seeded):
    db, ids = seeded
    app = make_app(db)
    async with app.run_test(size=(130, 36)) as pilot:
        await ready(pilot)
        await Desk(app.store, app.agent).assign(ids["t6"], "carol@example.com")
        app.open_ticket(ids["t6"])
        await ready(pilot)
        thread = app.screen.thread
        for width in range(30, 90):
            lines = [strip.text.strip() for strip in thread._render_message(
                next(m for m in thread.messages if m.direction == Direction.system), width)]
            assert not any(ln in ("(now)", "· (now)") for ln in lines), (width, lines)
            assert any(ln.endswith("(now)") and any(ch.isdigit() for ch in ln) for ln in lines)
            assert all(len(ln) <= width for ln in lines)


async def test_narrow_ticket_screen_folds_the_details_and_i_shows_them(seeded):
    db, ids = seeded
    app = make_app(db)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        # the view bar keeps every view at 80 columns
        bar = widget_text(app.screen.query_one("#views"))
        assert all(f"{n} " in bar for n in range(1, 6)), bar
        app.open_ticket(ids["t0"])
        await ready(pilot)
        screen = app.screen
        panel = screen.query_one("#properties")
        assert not panel.display or panel.region.width == 0
        assert screen.thread.region.width == 80
        assert "i details" in widget_text(screen.query_one("#ticket-title"))
        await pilot.press("i")
        await pilot.pause()
        assert screen.query_one("#properties").region.width > 0
        await pilot.resize_terminal(130, 36)
        await pilot.pause()
        assert screen.query_one("#properties").region.width > 0
        await pilot.press("i")
        await pilot.pause()
        assert screen.query_one("#properties").region.width == 0


async def test_view_bar_abbreviates_then_scrolls_but_never_drops_a_view(seeded):
    from tui.widgets.view_bar import View, ViewBar

    db, ids = seeded
    app = make_app(db)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        queue = app.screen
        assert isinstance(queue, QueueScreen)
        bar = queue.query_one(ViewBar)
        many = list(bar.views) + [View(f"channel:{n}", f"Channel number {n}", n)
                                  for n in range(100, 112)]
        bar.views = many
        bar.active = many[-1].key
        await pilot.pause()
        text = widget_text(bar)
        assert text.startswith("‹") and "Channel number 111" in text
        bar.active = "unassigned"
        await pilot.pause()
        text = widget_text(bar)
        assert "1 Unassigned" in text and text.rstrip().endswith("›")
        bar.views = many[:7]
        await pilot.pause()
        text = widget_text(bar)
        assert all(f"{n} " in text for n in range(1, 8)) and "‹" not in text and "›" not in text
