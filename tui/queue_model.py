"""The queue's cursor and views as plain functions: no Textual, no Rich, no I/O.

:class:`~tui.widgets.ticket_table.TicketTable` and :class:`~tui.screens.queue.QueueScreen` are
thin shells over this module: they read the widget's state (scroll offset, height, the pages
in memory), ask a function here what to do, and do it. Keeping the arithmetic here lets fast
unit tests (tests/tui/test_queue_model.py, milliseconds each) pin it down — and lets mutation
testing reach it, which the Pilot tests (seconds each) cannot.

What a view *shows* and in which order is SQL (:meth:`engine.store.TicketQuery.where` and its
``ORDER BY``), like keeping the cursor's ticket across a reload (``read_window`` finds its row in
the same snapshot as the count); this module builds the :class:`~engine.store.TicketQuery` for a
view and places the cursor and the scroll offset from what the engine answered.

Geometry: the table's first line is its header, so a table ``height`` lines tall shows
``height - 1`` rows (:func:`visible_rows`); ``top`` is the index of the first row on screen
(the widget's ``scroll_offset.y``); screen line ``y`` (1-based below the header) shows row
``top + y - 1``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

from engine.listing import SORTS
from engine.store import StoreError, TicketQuery

PAGE = 100  # rows per SQL window


class HasId(Protocol):
    @property
    def id(self) -> int | None: ...


class Unread(HasId, Protocol):
    @property
    def unread(self) -> bool: ...


Row = TypeVar("Row")
IdRow = TypeVar("IdRow", bound=HasId)
Row_co = TypeVar("Row_co", covariant=True)


class Pages(Protocol[Row_co]):
    """Pages in memory by number (a dict, or the widget's LRU cache of them)."""

    def get(self, key: int) -> Sequence[Row_co] | None: ...


# ------------------------------------------------------------------------ cursor geometry
def visible_rows(height: int) -> int:
    """Rows on screen in a table ``height`` lines tall (the header takes one; at least one)."""
    return max(1, height - 1)


def half_page(height: int) -> int:
    """How far ``ctrl+d``/``ctrl+u`` move: half the rows on screen, at least one."""
    return max(1, (height - 1) // 2)


KEY_ACTIONS = ("down", "up", "first", "last", "page_down", "page_up")


def key_target(action: str, cursor: int, total: int, height: int) -> int:
    """The row a cursor key asks for (before :func:`clamp`): ``down``/``up`` one row,
    ``first``/``last`` the ends, ``page_down``/``page_up`` half a screen."""
    if action == "down":
        return cursor + 1
    if action == "up":
        return cursor - 1
    if action == "first":
        return 0
    if action == "last":
        return total - 1
    if action == "page_down":
        return cursor + half_page(height)
    if action == "page_up":
        return cursor - half_page(height)
    raise ValueError(f"unknown cursor action {action!r} ({', '.join(KEY_ACTIONS)})")


def clamp(index: int, total: int) -> int | None:
    """``index`` within the view's rows; ``None`` when the view is empty."""
    if total <= 0:
        return None
    return max(0, min(index, total - 1))


def scroll_to_show(index: int, top: int, visible: int) -> int | None:
    """The new scroll offset that brings row ``index`` on screen, or ``None`` when it is on
    screen already. Past the bottom the row lands on the *last* line (not one below it)."""
    if index < top:
        return index
    if index >= top + visible:
        return index - visible + 1
    return None


def top_for(cursor: int, total: int, visible: int, at_top: bool, on_screen: int) -> int:
    """Scroll offset that keeps the cursor ``on_screen`` rows below the top, clamped.

    A view scrolled to the top (``at_top``) stays at the top while the cursor is still on
    screen, so new tickets appear at the top as they arrive (the cursor moves down with its
    ticket).
    """
    if at_top and cursor < visible:
        return 0
    offset = max(0, min(on_screen, visible - 1))
    return max(0, min(cursor - offset, total - visible))


def keep_top(cursor: int, total: int, height: int, top: int, old_cursor: int) -> int:
    """:func:`top_for` from the widget's state: the offset after a reload that keeps the
    cursor on the screen line it was on (``old_cursor - top``) before."""
    return top_for(cursor, total, visible_rows(height), top == 0, old_cursor - top)


def placer(height: int, top: int, old_cursor: int) -> Callable[[int, int], tuple[int, int]]:
    """The ``place`` a reload hands the engine (``Store.ticket_window``): from the cursor's new
    row and the view's new size, the first row to read and the one after the last — the screen
    :func:`keep_top` puts the cursor on, for a table ``height`` lines tall scrolled to ``top``
    with the cursor on ``old_cursor`` when the load started."""
    def place(cursor: int, total: int) -> tuple[int, int]:
        first = keep_top(cursor, total, height, top, old_cursor)
        return first, first + visible_rows(height)

    return place


def line_row(top: int, y: int, total: int) -> int | None:
    """The row screen line ``y`` shows (line 0 is the header), ``None`` if no row."""
    if y <= 0:
        return None
    index = top + y - 1
    return index if index < total else None


# ------------------------------------------------------------------------------ pages
def row_at(pages: Pages[Row], index: int, page_size: int = PAGE) -> Row | None:
    """Row ``index`` if its page is in ``pages`` (page number → its rows)."""
    rows = pages.get(index // page_size)
    if rows is None:
        return None
    offset = index % page_size
    return rows[offset] if offset < len(rows) else None


def numbered_rows(pages: Mapping[int, Sequence[Row]],
                  page_size: int = PAGE) -> list[tuple[int, Row]]:
    """Every row in ``pages`` with its index, in view order."""
    return [(page * page_size + i, row) for page in sorted(pages)
            for i, row in enumerate(pages[page])]


def index_of(pages: Mapping[int, Sequence[IdRow]], ticket_id: int,
             page_size: int = PAGE) -> int | None:
    """The index of ticket ``ticket_id`` among the rows of ``pages``, if there."""
    return next((index for index, row in numbered_rows(pages, page_size)
                 if row.id == ticket_id), None)


def prefetch_pages(top: int, height: int, total: int, page_size: int = PAGE) -> range:
    """The pages to have in memory: those on screen and one either side."""
    height = max(height, 1)
    first = max(0, (top - page_size) // page_size)
    last = min((total - 1) // page_size, (top + height + page_size) // page_size)
    return range(first, last + 1)


def page_on_screen(page: int, top: int, height: int, page_size: int = PAGE) -> bool:
    """Whether rows of ``page`` can be on a screen ``height`` lines tall from ``top``."""
    return page * page_size <= top + height and (page + 1) * page_size >= top


def last_page(total: int, page_size: int = PAGE) -> int | None:
    """The far end's page, read up front so ``G`` is instant; ``None`` when the first page
    is the whole view."""
    return (total - 1) // page_size if total > page_size else None


def cursor_after_reload(window_cursor: int, pages: Mapping[int, Sequence[IdRow]],
                        anchor: int | None, current: int | None,
                        page_size: int = PAGE) -> int | None:
    """Where the cursor goes when a reload's window arrives.

    ``window_cursor`` is the engine's answer for the ticket the load kept (``anchor``, the
    cursor's ticket when the load started). If keys moved the cursor to another ticket
    (``current``) while the load ran, the cursor stays on the ticket they chose, so every key
    counts once against the rows the agent saw: its index in the new ``pages``, or ``None``
    when it is outside them (the caller reads again around it).
    """
    if anchor is None or current is None or current == anchor:
        return window_cursor
    return index_of(pages, current, page_size)


def next_unread(rows: Iterable[tuple[int, Unread]], cursor: int, forward: bool) -> int | None:
    """The nearest unread row after (``n``, ``forward``) or before (``N``) ``cursor`` among
    ``rows`` (index, ticket, in view order), or ``None``."""
    if forward:
        return next((index for index, ticket in rows if ticket.unread and index > cursor), None)
    return next((index for index, ticket in reversed(list(rows))
                 if ticket.unread and index < cursor), None)


def position(cursor: int, total: int) -> str:
    """The status bar's ``12/340``: the cursor's row, counted from 1, of the view's rows."""
    return f"{cursor + 1:,}/{total:,}" if total else "0"


# ------------------------------------------------------------------------------ views
@dataclass(frozen=True)
class View:
    key: str  # unassigned | mine | open | closed | all | channel:<id>
    title: str
    channel_id: int | None = None


BASE_VIEWS = (
    View("unassigned", "Unassigned"),
    View("mine", "Mine"),
    View("open", "All open"),
    View("closed", "Closed"),
)
VIEW_ALIASES = {"open": "open", "all": "open", "mine": "mine", "me": "mine",
                "unassigned": "unassigned", "closed": "closed"}


class NamedChannel(Protocol):
    @property
    def id(self) -> int | None: ...
    @property
    def name(self) -> str: ...
    @property
    def enabled(self) -> bool: ...


def views_for(channels: Iterable[NamedChannel]) -> list[View]:
    """The base views, then one view per enabled channel (in the order given)."""
    return list(BASE_VIEWS) + [View(f"channel:{c.id}", c.name, c.id)
                               for c in channels if c.enabled]


def step_view(views: Sequence[View], key: str, step: int) -> str:
    """The view ``step`` places after ``key`` (``tab`` 1, ``shift+tab`` -1), round the end;
    from an unknown key, counted from the first view."""
    keys = [v.key for v in views]
    index = keys.index(key) if key in keys else 0
    return keys[(index + step) % len(keys)]


def numbered_view(views: Sequence[View], number: int) -> str | None:
    """The key of view ``number`` (``1`` … ``9``, counted from 1), if there is one."""
    return views[number - 1].key if 1 <= number <= len(views) else None


def view_query(views: Sequence[View], key: str, agent_id: int | None,
               sort: str) -> TicketQuery:
    """The query of view ``key`` (the first view if ``key`` is gone: a channel removed)."""
    view = next((v for v in views if v.key == key), views[0])
    if view.channel_id is not None:
        return TicketQuery(view="channel", channel_id=view.channel_id, sort=sort,
                           agent_id=agent_id)
    return TicketQuery(view=view.key, agent_id=agent_id, sort=sort)


def named_view(views: Sequence[View], arg: str) -> str:
    """The key of the view ``:view ARG`` names: an alias, a title (any case) or a key."""
    wanted = arg.strip().lower()
    if wanted in VIEW_ALIASES:
        return VIEW_ALIASES[wanted]
    for view in views:
        if view.title.lower() == wanted or view.key == wanted:
            return view.key
    raise StoreError(f"no view {arg!r} (unassigned, mine, open, closed or a channel name)")


def next_sort(sort: str) -> str:
    """``o``: activity → created → priority → activity."""
    return SORTS[(SORTS.index(sort) + 1) % len(SORTS)]


def checked_sort(sort: str) -> str:
    """``:sort ARG``: ``sort`` if it is one of :data:`SORTS`, else a one-line error."""
    if sort not in SORTS:
        raise StoreError(f"sort by {', '.join(SORTS)}")
    return sort
