"""Customer text is data: markup stays literal, escape and control characters never render."""

from __future__ import annotations

from tests.helpers.tui import TRICKY_SUBJECT, make_app, ready, widget_text
from tui.text import clean, line, safe_text


def test_clean_strips_escapes_and_controls():
    assert clean("a\x1b[31mred\x1b[0m b") == "ared b"
    assert clean("title\x1b]0;owned\x07 end") == "title end"
    assert clean("bell\x07 nul\x00 del\x7f c1\x9b31m") == "bell nul del c1"
    assert clean("rtl\u202eevil\u2066x") == "rtlevilx"
    assert clean("keep\nlines\r\nand\ttabs") == "keep\nlines\nand    tabs"
    assert line("one\ntwo   three") == "one two three"
    text = safe_text("[bold]x[/bold]")
    assert text.plain == "[bold]x[/bold]" and not text.spans


async def test_tricky_subject_renders_literally(seeded):
    db, ids = seeded
    app = make_app(db)
    async with app.run_test(size=(140, 30)) as pilot:
        await ready(pilot)
        table = app.screen.table
        index = next(i for i, t in table.loaded_rows() if t.id == ids["tricky"])
        table.move_to(index)
        await pilot.pause()
        screen_text = widget_text(table)
        assert "[bold]Invoice[/bold] red alert" in screen_text
        assert "\x1b" not in screen_text
        strip = table.render_line(index - int(table.scroll_offset.y) + 1)
        assert not any(seg.style and seg.style.bold and "Invoice" in seg.text and
                       "[bold]" not in seg.text for seg in strip)
        assert TRICKY_SUBJECT != "[bold]Invoice[/bold] red alert"
        await pilot.press("enter")
        await ready(pilot)
        title = widget_text(app.screen.query_one("#ticket-title"))
        assert "[bold]Invoice[/bold] red alert" in title
        thread = "\n".join(app.screen.thread.plain_lines())
        assert "[red]Mallory[/red]" in thread
        assert "[link=https://evil]markup[/link]" in thread
        assert "\x1b" not in thread and "\x07" not in thread
