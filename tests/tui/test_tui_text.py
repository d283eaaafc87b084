"""Customer text is data: markup stays literal, escape and control characters never render."""

from __future__ import annotations

from tests.helpers.tui import TRICKY_SUBJECT, make_app, ready, widget_text
from tui.text import clean, line


def test_clean_strips_escapes_and_controls():
    assert clean("a\x1b[31mred\x1b[0m b") == "ared b"
    assert clean("title\x1b]0;owned\x07 end") == "title end"
    assert clean("bell\x07 nul\x00 del\x7f c1\x9b31m") == "bell nul del c1"
    assert clean("rtl\u202eevil\u2066x\u2068y\u2069") == "rtlevilxy"  # bidi isolates too
    assert clean("keep\nlines\r\nand\ttabs") == "keep\nlines\nand    tabs"
    assert line("one\ntwo   three") == "one two three"


def test_there_is_one_sanitiser_and_the_tui_only_reexports_it():
    """Issue 17, item 8: no second sanitiser (``safe_text`` was tested but never called)."""
    import re
    from pathlib import Path

    import engine.text
    import tui.text

    assert tui.text.clean is engine.text.clean and tui.text.line is engine.text.line
    assert not hasattr(tui.text, "safe_text")
    root = Path(engine.text.__file__).parent.parent
    # a display sanitiser of its own: a safe_text/sanitise function, or an escape-sequence regex
    own = re.compile(r"def (safe_text|sanitis\w*|sanitiz\w*|strip_escape\w*)\(|\\x1b\\\[")
    others = [str(p.relative_to(root)) for package in ("engine", "tui", "ticketty")
              for p in (root / package).rglob("*.py")
              if p.name != "text.py" and own.search(p.read_text(encoding="utf-8"))]
    assert others == [], f"a second sanitiser? {others}"


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
        # the stored subject keeps what the customer sent; only the display is cleaned
        assert table.current_ticket.subject == TRICKY_SUBJECT
        await pilot.press("enter")
        await ready(pilot)
        title = widget_text(app.screen.query_one("#ticket-title"))
        assert "[bold]Invoice[/bold] red alert" in title
        thread = "\n".join(app.screen.thread.plain_lines())
        assert "[red]Mallory[/red]" in thread
        assert "[link=https://evil]markup[/link]" in thread
        assert "\x1b" not in thread and "\x07" not in thread


ZW_SUBJECT = "pay\u200bpal re\u200dfund\ufeff \u2066urgent\u2069 \u202eevil"
ZW_BODY = "Send it to pay\u200bpal.com\u200d now\ufeff\nthanks \u2067a\u2069"


async def test_zero_width_and_bidi_are_removed_alike_in_the_tui_and_the_cli(empty_db):
    """The TUI and the CLI show the same text: one sanitiser (engine.text) for both."""
    import asyncio
    import sys
    from pathlib import Path

    from engine.ingest import ingest
    from engine.models import InboundMessage
    from engine.store import Store

    async with Store(empty_db) as store:
        channel = await store.channel("support")
        r = await ingest(store, InboundMessage(channel_id=channel.id, key="<zw@x>",
                                               sender="zed@example.com", sender_name="Z\u200bed",
                                               subject=ZW_SUBJECT, text=ZW_BODY))
    app = make_app(empty_db)
    async with app.run_test(size=(140, 30)) as pilot:
        await ready(pilot)
        row = widget_text(app.screen.table)
        assert "paypal refund urgent evil" in row
        await pilot.press("enter")
        await ready(pilot)
        title = widget_text(app.screen.query_one("#ticket-title"))
        thread = "\n".join(app.screen.thread.plain_lines())
    bin_ = str(Path(sys.executable).parent / "ticketty")
    proc = await asyncio.create_subprocess_exec(
        bin_, "--db", str(empty_db), "--as", "ada@example.com", "tickets", "show",
        str(r.ticket_id), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, err.decode()
    cli_text = out.decode()
    for text in (row, title, thread, cli_text):
        assert not any(ch in text for ch in "\u200b\u200d\ufeff\u2066\u2067\u2069\u202e")
    assert "paypal refund urgent evil" in title and f"#{r.ticket_id} paypal refund urgent evil" in cli_text
    assert "Send it to paypal.com now" in thread and "  Send it to paypal.com now" in cli_text
    assert "Zed" in thread and "Zed" in cli_text
