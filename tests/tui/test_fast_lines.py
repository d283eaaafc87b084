"""tui/widgets/fast_lines.py reaches into Textual's internals to repaint the queue faster: its
lines must be exactly those of Textual's own ``Widget.render_lines`` for the same rows — for
every theme, width, cursor position, focus, scroll offset and crop, and with links — on each
Textual version pyproject.toml allows. Where it cannot be exact (a border, padding, a hovered
link) it must decline, so the caller takes Textual's path."""

from __future__ import annotations

import pytest
from rich.segment import Segment
from rich.style import Style
from textual.app import App, ComposeResult
from textual.geometry import Region, Size
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widget import Widget

from tests.helpers.tui import make_app, ready, settle
from tui.widgets.fast_lines import cached_render_lines
from tui.widgets.ticket_table import TicketTable


def textual_lines(widget: Widget, crop: Region) -> list[Strip]:
    """Textual's own path, from scratch (its per-line cache emptied first)."""
    widget._styles_cache.clear()
    return Widget.render_lines(widget, crop)


def segments(strips: list[Strip] | None) -> list[list[Segment]]:
    assert strips is not None, "the fast path declined a plain table"
    return [list(strip) for strip in strips]


def assert_same(table: TicketTable, crop: Region) -> None:
    first = cached_render_lines(table, crop, table._cached_line)  # renders and caches rows
    again = cached_render_lines(table, crop, table._cached_line)  # the cached rows themselves
    own = textual_lines(table, crop)
    assert segments(first) == segments(own)
    assert segments(again) == segments(own)
    assert [s.cell_length for s in again] == [s.cell_length for s in own]


CASES = [  # terminal size, theme; the 12-line terminal scrolls the table
    ((80, 24), "ticketty-dark"),
    ((120, 40), "ticketty-light"),
    ((200, 50), "textual-dark"),
    ((100, 12), "ticketty-dark"),
]


@pytest.mark.parametrize("size,theme", CASES, ids=[f"{w}x{h}-{t}" for (w, h), t in CASES])
async def test_the_queue_paints_what_textual_would(seeded, size, theme):
    db, _ = seeded
    app = make_app(db)
    async with app.run_test(size=size) as pilot:
        await ready(pilot)
        app.theme = theme
        await settle(pilot)
        table = app.screen.query_one(TicketTable)
        width, height = table.size
        crops = [Region(0, 0, width, height),  # everything, header and blank lines included
                 Region(3, 1, width - 7, min(4, height - 1)),  # a cut through cells
                 Region(0, height - 1, width, 1)]
        scrolled = False
        for cursor in (0, 3, table.total - 1):
            table.move_to(cursor)
            for focused in (True, False):
                if focused:
                    table.focus()
                else:
                    app.screen.set_focus(None)
                await pilot.pause()
                scrolled = scrolled or table.scroll_offset.y > 0
                for crop in crops:
                    assert_same(table, crop)
        assert table.paint_count > 0
        assert scrolled == (size[1] < 20)  # the small terminal scrolled to the last row


async def test_a_box_that_is_not_plain_takes_textuals_path(seeded):
    db, _ = seeded
    app = make_app(db)
    async with app.run_test(size=(100, 30)) as pilot:
        await ready(pilot)
        table = app.screen.query_one(TicketTable)
        crop = Region(0, 0, *table.size)
        for rule, value in (("border", ("round", "red")), ("padding", (0, 1))):
            setattr(table.styles, rule, value)
            await settle(pilot)
            assert cached_render_lines(table, crop, table._cached_line) is None
            assert segments(table.render_lines(crop)) == segments(textual_lines(table, crop))
            table.styles.clear_rule(rule)
            await settle(pilot)


LINK = Style(link="https://example.com/docs")


class Linked(ScrollView):
    """Lines with a link and an ANSI colour (which Textual's line filter turns into RGB)."""

    def on_mount(self) -> None:
        self.virtual_size = Size(self.size.width, 40)

    def render_line(self, y: int) -> Strip:
        return Strip([Segment(f"line {y} ", Style(bold=y % 2 == 0)),
                      Segment("docs", LINK), Segment(" warn", Style(color="red")),
                      Segment(" end")])


class LinkedApp(App[None]):
    def compose(self) -> ComposeResult:
        yield Linked()


async def test_links_and_filters_as_textual_paints_them_and_a_hovered_link_declines():
    app = LinkedApp()
    async with app.run_test(size=(60, 10)) as pilot:
        widget = app.query_one(Linked)
        await pilot.pause()
        crop = Region(0, 0, *widget.size)
        cache: dict[int, Strip] = {}

        def cached(y: int) -> Strip | None:
            return cache.get(y)

        assert segments(cached_render_lines(widget, crop, cached)) == segments(
            textual_lines(widget, crop))
        cache.update({y: widget.render_line(y) for y in range(widget.size.height)})
        assert segments(cached_render_lines(widget, crop, cached)) == segments(
            textual_lines(widget, crop))
        widget.hover_style = LINK + Style.from_meta({"@click": "noop()"})  # a hovered link
        assert cached_render_lines(widget, crop, cached) is None
