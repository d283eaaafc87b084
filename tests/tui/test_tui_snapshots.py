"""Screenshots of each screen (pytest-textual-snapshot). Update with ``--snapshot-update``.

Deterministic: the seeded database has fixed timestamps, the app's clock is frozen and times
are shown in UTC.
"""

from __future__ import annotations

from tui_helpers import make_app, ready

SIZE = (120, 32)


def test_queue_snapshot(seeded, snap_compare):
    db, ids = seeded
    assert snap_compare(make_app(db), terminal_size=SIZE, run_before=ready)


def test_ticket_snapshot(seeded, snap_compare):
    db, ids = seeded

    async def open_first(pilot) -> None:  # noqa: ANN001
        await ready(pilot)
        pilot.app.open_ticket(ids["t0"])
        await ready(pilot)

    assert snap_compare(make_app(db), terminal_size=SIZE, run_before=open_first)


def test_help_snapshot(seeded, snap_compare):
    db, ids = seeded

    async def help_(pilot) -> None:  # noqa: ANN001
        await ready(pilot)
        await pilot.press("question_mark")
        await pilot.pause()

    assert snap_compare(make_app(db), terminal_size=(120, 44), run_before=help_)


def test_empty_queue_snapshot(empty_db, snap_compare):
    assert snap_compare(make_app(empty_db), terminal_size=SIZE, run_before=ready)
