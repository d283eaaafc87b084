from __future__ import annotations

from tests.helpers.tui import make_app, ready


async def test_queue_opens(seeded):
    db, ids = seeded
    app = make_app(db)
    async with app.run_test(size=(120, 30)) as pilot:
        await ready(pilot)
        table = app.screen.table
        assert table.total == 11
        print(app.screen.query_one("#views").render())
        await pilot.press("enter")
        await ready(pilot)
        print(app.screen)
        print("\n".join(app.screen.thread.plain_lines()))
