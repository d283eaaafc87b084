"""The ``:quarantine`` screen (admins): list, Enter shows reason + headers, ``r`` retries,
``d`` deletes after confirmation; and a snapshot of it."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from tests.helpers.admin import BASE, SIZE, make_app, notifications, run_command, started, until
from tui.screens.admin.quarantine import QuarantineItemScreen, QuarantineScreen
from tui.screens.confirm import ConfirmScreen

GOOD = (b"From: Carla Customer <carla@example.com>\r\nTo: support@example.com\r\n"
        b"Subject: [bold]Order[/bold] 1042 \x1b[31mnever came\r\n"
        b"Message-ID: <q-good@example.com>\r\nDate: Tue, 04 Mar 2025 08:00:00 +0000\r\n"
        b"\r\nWhere is it?\r\n")
BAD = b"Subject: who am I\r\nMessage-ID: <q-bad@example.com>\r\n\r\nno From at all\r\n"


async def add_items(db: Path) -> list[int]:
    """Two items with fixed times: one an older version could not parse (a retry now works),
    one without any sender (a retry fails again)."""
    from engine.store import Store

    async with Store(db) as store:
        support = await store.channel("support")
        good = await store.add_quarantine("email:forwarding", "old parser: header too long",
                                          GOOD, support.id)
        bad = await store.add_quarantine("import:mbox", "archive.mbox#12: no sender found", BAD)
    conn = sqlite3.connect(db)
    for n, item_id in enumerate([good, bad]):
        conn.execute("UPDATE quarantine SET at=? WHERE id=?",
                     (BASE.timestamp() - 3600 * (n + 1), item_id))
    conn.commit()
    conn.close()
    return [good, bad]


def text_of(screen) -> str:
    """What the screen's Static widgets show, as plain text."""
    import io

    from rich.console import Console

    console = Console(width=200, file=io.StringIO(), record=True)
    for widget in screen.query("Static"):
        console.print(widget.content)
    return console.export_text()


async def open_quarantine(pilot) -> QuarantineScreen:
    await started(pilot)
    await run_command(pilot, "quarantine")
    await until(pilot, lambda: isinstance(pilot.app.screen, QuarantineScreen)
                and pilot.app.screen.loaded, "the quarantine screen")
    return pilot.app.screen


async def test_show_retry_delete(admin_db):
    good, bad = await add_items(admin_db)
    app = make_app(admin_db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_quarantine(pilot)
        assert [i["id"] for i in screen.items] == [bad, good]
        # Enter: reason and header fields, customer text literal (no markup, no escapes)
        await pilot.press("j", "enter")
        await until(pilot, lambda: isinstance(app.screen, QuarantineItemScreen), "the item")
        shown = text_of(app.screen)
        assert "old parser: header too long" in shown
        assert "Carla Customer <carla@example.com>" in shown
        assert "[bold]Order[/bold] 1042" in shown and "\x1b" not in shown
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is screen, "back")
        # r on the one a newer parser reads: a ticket, off the list
        await pilot.press("r")
        await until(pilot, lambda: [i["id"] for i in screen.items] == [bad], "the retry")
        assert any("ingested: ticket #" in n for n in notifications(app))
        assert await app.store.quarantined(good) is not None  # kept, marked resolved
        # r on one that still cannot be read: says why, stays
        await pilot.press("r")
        await until(pilot, lambda: any("still cannot be ingested" in n
                                       for n in notifications(app)), "the failure")
        assert [i["id"] for i in screen.items] == [bad]
        # d asks first; n keeps it, y deletes it
        await pilot.press("d")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the question")
        await pilot.press("n")
        await until(pilot, lambda: app.screen is screen, "back")
        assert await app.store.quarantined(bad) is not None
        await pilot.press("d")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the question")
        await pilot.press("y")
        await until(pilot, lambda: screen.items == [], "the deletion")
        assert await app.store.quarantined(bad) is None


@pytest.mark.parametrize("who", ["bob@example.com"])
async def test_agents_are_told_it_is_for_admins(admin_db, who):
    await add_items(admin_db)
    app = make_app(admin_db, agent=who)
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot)
        await run_command(pilot, "quarantine")
        await until(pilot, lambda: any("for admins only" in n for n in notifications(app)),
                    "the refusal")
        assert not isinstance(app.screen, QuarantineScreen)


def test_quarantine_snapshot(snap_compare, admin_db):
    asyncio.run(add_items(admin_db))

    async def run_before(pilot) -> None:
        await open_quarantine(pilot)
        await pilot.pause()

    assert snap_compare(make_app(admin_db), terminal_size=SIZE, run_before=run_before)


def test_quarantine_item_snapshot(snap_compare, admin_db):
    asyncio.run(add_items(admin_db))

    async def run_before(pilot) -> None:
        await open_quarantine(pilot)
        await pilot.press("j", "enter")
        await until(pilot, lambda: isinstance(pilot.app.screen, QuarantineItemScreen), "item")
        await pilot.pause()

    assert snap_compare(make_app(admin_db), terminal_size=SIZE, run_before=run_before)
