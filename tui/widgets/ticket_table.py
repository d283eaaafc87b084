"""The queue: a Line-API view over SQL windows that stays instant at a million tickets.

Nothing here holds "all the rows". The widget knows the view's row count (``virtual_size``), a
small LRU of *pages* of :class:`~engine.models.Ticket` read by workers, and an LRU of rendered
:class:`~textual.strip.Strip` rows. ``render_line`` only ever reads the caches: a missing page
paints a placeholder and asks a worker for it (plus one page either side of the viewport), and
the worker posts the rows back. Moving the cursor repaints two lines.

Keys: ``j``/``k``, ``g``/``G``, ``ctrl+d``/``ctrl+u`` and ``enter`` (ids ``queue.down``,
``queue.up``, ``queue.first``, ``queue.last``, ``queue.page_down``, ``queue.page_up``,
``ticket.open``; remappable, all listed in ``docs/keys.md``).

For the benchmarks: :attr:`TicketTable.painted` is an :class:`asyncio.Event` set when real rows
of the current load were rendered, :attr:`TicketTable.paint_count` counts rendered row lines,
and :class:`TicketTable.RowsPainted` is posted once per load.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from rich.style import Style
from textual.binding import Binding
from textual.cache import LRUCache
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.worker import Worker, WorkerState

from engine.models import Ticket
from engine.store import TicketQuery
from engine.store.queries import Window
from tui.queue_model import (
    PAGE,
    clamp,
    cursor_after_reload,
    keep_top,
    key_target,
    last_page,
    line_row,
    numbered_rows,
    page_on_screen,
    placer,
    prefetch_pages,
    row_at,
    scroll_to_show,
    visible_rows,
)
from tui.timefmt import system_clock
from tui.widgets.fast_lines import cached_render_lines
from tui.widgets.ticket_rows import (
    build_strip,
    content_widths,
    layout,
    message_strip,
    row_cells,
)

MAX_PAGES = 40  # pages kept in memory (4,000 tickets)
MAX_STRIPS = 600  # rendered rows kept


class TicketSource(Protocol):
    """What the table reads from (the engine's :class:`~engine.store.Store` is one)."""

    async def ticket_window(self, q: TicketQuery, keep: int | None, cursor: int,
                            place: Callable[[int, int], tuple[int, int]],
                            page_size: int) -> Window: ...
    async def page_tickets(self, q: TicketQuery, offset: int, limit: int,
                           total: int | None = None) -> list[Ticket]: ...


class TicketTable(ScrollView, can_focus=True):
    """A virtual table of one queue view (see the module docstring for keys)."""

    DEFAULT_CSS = """
    TicketTable { height: 1fr; overflow-x: hidden; scrollbar-size-vertical: 1; }
    TicketTable > .ticket-table--header { text-style: bold; background: $panel; color: $text-muted; }
    TicketTable > .ticket-table--cursor { background: $block-cursor-blurred-background; }
    TicketTable:focus > .ticket-table--cursor {
        background: $block-cursor-background; color: $block-cursor-foreground;
    }
    TicketTable > .ticket-table--unread { text-style: bold; }
    TicketTable > .ticket-table--open-by { color: $accent; text-style: bold; }
    TicketTable > .ticket-table--closed { color: $text-muted; }
    TicketTable > .ticket-table--urgent { color: $error; text-style: bold; }
    TicketTable > .ticket-table--high { color: $warning; }
    TicketTable > .ticket-table--placeholder { color: $text-disabled; }
    TicketTable > .ticket-table--empty { color: $text-muted; }
    """
    COMPONENT_CLASSES = {
        "ticket-table--header", "ticket-table--cursor", "ticket-table--unread",
        "ticket-table--open-by",
        "ticket-table--closed", "ticket-table--urgent", "ticket-table--high",
        "ticket-table--placeholder", "ticket-table--empty",
    }
    BINDINGS = [
        Binding("j,down", "cursor_down", "Down", show=False, id="queue.down"),
        Binding("k,up", "cursor_up", "Up", show=False, id="queue.up"),
        Binding("g,home", "first", "First", show=False, id="queue.first"),
        Binding("G,end", "last", "Last", show=False, id="queue.last"),
        Binding("ctrl+d,pagedown", "page_down", "Half page down", show=False,
                id="queue.page_down"),
        Binding("ctrl+u,pageup", "page_up", "Half page up", show=False, id="queue.page_up"),
        Binding("enter", "open", "Open", id="ticket.open", tooltip="Open the ticket"),
    ]

    class Opened(Message):
        """Enter on a row."""

        def __init__(self, ticket: Ticket) -> None:
            super().__init__()
            self.ticket = ticket

    class Highlighted(Message):
        """The cursor moved (or the view was reloaded)."""

        def __init__(self, index: int, total: int) -> None:
            super().__init__()
            self.index = index
            self.total = total

    class RowsPainted(Message):
        """Real rows of load ``generation`` were rendered (once per load)."""

        def __init__(self, generation: int, total: int) -> None:
            super().__init__()
            self.generation = generation
            self.total = total

    class _Reloaded(Message):
        def __init__(self, generation: int, query: TicketQuery, total: int, cursor: int,
                     pages: dict[int, list[Ticket]], anchor: int | None) -> None:
            super().__init__()
            self.generation, self.query, self.total = generation, query, total
            self.cursor, self.pages, self.anchor = cursor, pages, anchor

    class _PageLoaded(Message):
        def __init__(self, generation: int, page: int, rows: list[Ticket]) -> None:
            super().__init__()
            self.generation, self.page, self.rows = generation, page, rows

    def __init__(self, *, clock: Callable[[], datetime] = system_clock,
                 empty_text: str = "No tickets here.", name: str | None = None,
                 id: str | None = None, classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.clock = clock
        self.empty_text = empty_text
        self.source: TicketSource | None = None
        self.shown_query = TicketQuery()  # the query of the rows on screen
        self.total = 0
        self.loaded = False
        self.cursor = 0
        self.generation = 0  # the latest load asked for
        self.shown_generation = -1  # the load on screen
        self.requested_query = self.shown_query
        self.paint_count = 0
        self._loading = False
        self._dirty = False
        self.painted = asyncio.Event()
        self._painted_generation = -1
        self._pages: LRUCache[int, list[Ticket]] = LRUCache(MAX_PAGES)
        self._inflight: set[tuple[int, int]] = set()
        self._strips: LRUCache[tuple[int, bool], Strip] = LRUCache(MAX_STRIPS)
        self.open_by: dict[int, str] = {}  # ticket id → another agent who has it open
        self._styles: dict[str, Style] | None = None
        self._layout_width = -1
        self._columns: list[tuple[str, str, int]] = []
        self._natural: dict[str, int] = {}  # columns' content widths (ticket_rows.layout)

    # ------------------------------------------------------------------ loading
    def load(self, source: TicketSource, query: TicketQuery, *, keep: int | None = None,
             cursor: int | None = None) -> None:
        """Show ``query``: count it and read the window around the cursor, in a worker.

        ``keep`` is a ticket id the cursor should stay on (live updates); otherwise the cursor
        goes to ``cursor`` (default: the top).
        """
        self.source = source
        self.requested_query = query
        self._loading = True
        self.generation += 1
        self.painted.clear()
        target = 0 if cursor is None else cursor
        current = self.current_ticket if query == self.shown_query else None
        self.run_worker(self._reload(self.generation, source, query, keep, target,
                                     current.id if current else None),
                        name=str(self.generation), group="ticket-table-load", exclusive=True,
                        exit_on_error=False)

    @property
    def busy(self) -> bool:
        """Whether a load is running or asked for (tests and ``settle`` wait on it)."""
        return self._loading or self._dirty

    def request_reload(self) -> None:
        """Reload soon: at most one load runs; changes during it cause one more (coalescing)."""
        if self._loading:
            self._dirty = True
        else:
            self.reload()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:

        if event.worker.group == "ticket-table-load" and event.state in (
                WorkerState.ERROR, WorkerState.CANCELLED) and event.worker.name == str(self.generation):
            self._loading = False

    def reload(self) -> None:
        """Re-read the current view, keeping the cursor on its ticket."""
        if self.source is not None:
            current = self.current_ticket
            self.load(self.source, self.requested_query, keep=current.id if current else None,
                      cursor=self.cursor)

    async def _reload(self, generation: int, source: TicketSource, query: TicketQuery,
                      keep: int | None, cursor: int, anchor: int | None) -> None:
        place = placer(self.size.height, int(self.scroll_offset.y), self.cursor)
        window = await source.ticket_window(query, keep, cursor, place, PAGE)
        self.post_message(self._Reloaded(generation, query, window.total, window.cursor,
                                         window.pages, anchor))

    def on_ticket_table__reloaded(self, message: _Reloaded) -> None:
        message.stop()
        if message.generation != self.generation:
            return
        current = self.current_ticket
        # keys that moved the cursor while this load ran keep it on the ticket they chose
        cursor = cursor_after_reload(message.cursor, message.pages, message.anchor,
                                     current.id if current else None)
        if cursor is None and current is not None and self.source is not None:
            # that ticket is outside the window read: read again around it
            self._loading = False
            self.load(self.source, self.requested_query, keep=current.id, cursor=self.cursor)
            return
        if cursor is not None:
            message.cursor = cursor
        self._pages.clear()
        self._strips.clear()
        self._inflight.clear()
        for page, rows in message.pages.items():
            self._pages[page] = rows
        self._fit_columns([t for rows in message.pages.values() for t in rows], fresh=True)
        top = self._top_for(message.cursor, message.total)
        self.total = message.total
        self.shown_query = message.query
        self.shown_generation = message.generation
        self.loaded = True
        self.cursor = message.cursor
        self.virtual_size = Size(self.scrollable_content_region.width, self.total + 1)
        self.scroll_to(y=top, animate=False, immediate=True)
        self._prefetch()
        far = last_page(self.total)
        if far is not None:
            self._want(far)  # `G` is instant (read from the far end)
        self.refresh()
        self.post_message(self.Highlighted(self.cursor, self.total))
        self._loading = False
        if self._dirty:
            self._dirty = False
            self.reload()

    def _top_for(self, cursor: int, total: int) -> int:
        """Scroll offset that keeps the cursor where it was on screen
        (:func:`~tui.queue_model.keep_top`)."""
        return keep_top(cursor, total, self.size.height, int(self.scroll_offset.y), self.cursor)

    def _prefetch(self) -> None:
        """Ask for missing pages of the viewport and one page either side of it."""
        if self.source is None or not self.loaded:
            return
        for page in prefetch_pages(int(self.scroll_offset.y), self.size.height, self.total):
            self._want(page)

    def _want(self, page: int) -> None:
        key = (self.shown_generation, page)
        if page in self._pages or key in self._inflight or self.source is None:
            return
        self._inflight.add(key)
        self.run_worker(self._fetch(self.shown_generation, self.source, self.shown_query, page,
                                    self.total),
                        group="ticket-table-page", exit_on_error=False)

    async def _fetch(self, generation: int, source: TicketSource, query: TicketQuery, page: int,
                     total: int) -> None:
        rows = await source.page_tickets(query, page * PAGE, PAGE, total)
        self.post_message(self._PageLoaded(generation, page, rows))

    def on_ticket_table__page_loaded(self, message: _PageLoaded) -> None:
        message.stop()
        self._inflight.discard((message.generation, message.page))
        if message.generation != self.shown_generation:
            return
        self._pages[message.page] = message.rows
        self._fit_columns(message.rows)
        if page_on_screen(message.page, int(self.scroll_offset.y), self.size.height):
            self.refresh()

    def watch_scroll_y(self, old: float, new: float) -> None:
        super().watch_scroll_y(old, new)
        self._prefetch()

    # ------------------------------------------------------------------- access
    def row(self, index: int) -> Ticket | None:
        """The ticket at ``index`` if its page is in memory."""
        return row_at(self._pages, index)

    @property
    def current_ticket(self) -> Ticket | None:
        return self.row(self.cursor) if self.loaded and self.total else None

    def loaded_rows(self) -> list[tuple[int, Ticket]]:
        return numbered_rows({page: self._pages.get(page) or [] for page in self._pages.keys()})

    # ------------------------------------------------------------------- cursor
    def move_to(self, index: int) -> None:
        """Put the cursor on row ``index`` (clamped), scrolling it on screen if it is not."""
        target = clamp(index, self.total) if self.loaded else None
        if target is None or target == self.cursor:
            return
        old, self.cursor = self.cursor, target
        top = int(self.scroll_offset.y)
        new_top = scroll_to_show(target, top, visible_rows(self.size.height))
        if new_top is not None:
            self.scroll_to(y=new_top, animate=False, immediate=True)
        else:
            self.refresh(Region(0, old - top + 1, self.size.width, 1),
                         Region(0, target - top + 1, self.size.width, 1))
        self.post_message(self.Highlighted(self.cursor, self.total))

    def _key(self, action: str) -> None:
        self.move_to(key_target(action, self.cursor, self.total, self.size.height))

    def action_cursor_down(self) -> None:
        self._key("down")

    def action_cursor_up(self) -> None:
        self._key("up")

    def action_first(self) -> None:
        self._key("first")

    def action_last(self) -> None:
        self._key("last")

    def action_page_down(self) -> None:
        self._key("page_down")

    def action_page_up(self) -> None:
        self._key("page_up")

    def action_open(self) -> None:
        ticket = self.current_ticket
        if ticket is not None:
            self.post_message(self.Opened(ticket))

    # ---------------------------------------------------------------- rendering
    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._styles = None
        self._strips.clear()

    def _style(self, component: str = "") -> Style:
        """The widget's style (plus a component's), cached: ``rich_style`` walks the DOM."""
        if self._styles is None:
            base = self.rich_style
            styles = {"": base}
            for name in self.COMPONENT_CLASSES:
                styles[name] = base + self.get_component_rich_style(name)
            self._styles = styles
        return self._styles[component]

    def on_resize(self) -> None:
        self._strips.clear()
        if self.loaded:
            self.virtual_size = Size(self.scrollable_content_region.width, self.total + 1)
            self._prefetch()

    def on_focus(self) -> None:
        self._styles = None
        self._strips.clear()
        self.refresh()

    def on_blur(self) -> None:
        self._styles = None
        self._strips.clear()
        self.refresh()

    def set_open_by(self, open_by: dict[int, str]) -> None:
        """Mark the tickets other agents have open (the mark column gets their initial)."""
        if open_by != self.open_by:
            self.open_by = dict(open_by)
            self._strips.clear()
            self.refresh()

    def refresh_times(self) -> None:
        """Relative times age: drop the rendered rows (cheap: the pages stay)."""
        self._strips.clear()
        self.refresh()

    def _fit_columns(self, rows: list[Ticket], fresh: bool = False) -> None:
        """Size the columns to the rows read (a new load starts over; a page only widens)."""
        natural = content_widths(rows, self.clock(), None if fresh else self._natural)
        if natural != self._natural:
            self._natural = natural
            self._layout_width = -1
            self._strips.clear()
            self.refresh()

    def _columns_for(self, width: int) -> list[tuple[str, str, int]]:
        if width != self._layout_width:
            self._layout_width = width
            self._columns = layout(width, self._natural)
        return self._columns

    def render_lines(self, crop: Region) -> list[Strip]:
        """Textual's per-line pipeline, minus the copies that defeat its own caches (see
        :mod:`tui.widgets.fast_lines`); Textual's own path when the box is not plain."""
        lines = cached_render_lines(self, crop, self._cached_line)
        return super().render_lines(crop) if lines is None else lines

    def _cached_line(self, y: int) -> Strip | None:
        """Line ``y`` of the widget if it is a ticket row already rendered."""
        index = line_row(int(self.scroll_offset.y), y, self.total) if self.loaded else None
        return None if index is None else self._strips.get((index, index == self.cursor))

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        columns = self._columns_for(width)
        base = self._style()
        if y == 0:
            header = self._style("ticket-table--header")
            return self._strip([t for _, t, _ in columns], columns, header, width)
        if not self.loaded:
            text = "Loading…" if y == 1 else ""
            return self._message(text, "ticket-table--placeholder", width)
        if self.total == 0:
            middle = max(2, self.size.height // 2)
            text = self.empty_text if y == middle else ""
            self._mark_painted()
            return self._message(text, "ticket-table--empty", width, center=True)
        index = line_row(int(self.scroll_offset.y), y, self.total)
        if index is None:
            return Strip.blank(width, base)
        is_cursor = index == self.cursor
        key = (index, is_cursor)
        strip = self._strips.get(key)
        if strip is not None:
            self._mark_painted()
            return strip
        ticket = self.row(index)
        if ticket is None:
            self._want(index // PAGE)
            return self._message("  …", "ticket-table--placeholder", width)
        strip = self._render_row(ticket, is_cursor, columns, width)
        self._strips[key] = strip
        self.paint_count += 1
        self._mark_painted()
        return strip

    def _mark_painted(self) -> None:
        if self._painted_generation != self.generation and self.shown_generation == self.generation:
            self._painted_generation = self.generation
            self.painted.set()
            self.post_message(self.RowsPainted(self.generation, self.total))

    def _render_row(self, ticket: Ticket, is_cursor: bool, columns: list[tuple[str, str, int]],
                    width: int) -> Strip:
        style = self._style()
        if not ticket.is_open:
            style += self._style("ticket-table--closed")
        if ticket.unread:
            style += self._style("ticket-table--unread")
        if is_cursor:
            style += self._style("ticket-table--cursor")
        other = self.open_by.get(ticket.id) if ticket.id is not None else None
        cells, marks = row_cells(ticket, columns, self.clock(), other)
        styles = {} if is_cursor else {
            i: style + self._style(f"ticket-table--{component}") for i, component in marks.items()}
        return self._strip(cells, columns, style, width, styles)

    _strip = staticmethod(build_strip)

    def _message(self, text: str, component: str, width: int, center: bool = False) -> Strip:
        return message_strip(text, self._style(component), width, center)
