"""The queue table's rows: column layout, cell text, strips and the cached-line fast path.

:class:`~tui.widgets.ticket_table.TicketTable` owns the data (pages, cursor, caches); this module
turns tickets into :class:`~textual.strip.Strip` rows and hands cached rows to Textual's line
pipeline without the copies that defeat its caches.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from rich.cells import set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual.geometry import Region
from textual.strip import Strip

from engine.models import Ticket
from tui.text import line
from tui.timefmt import ago

if TYPE_CHECKING:
    from tui.widgets.ticket_table import TicketTable


COLUMNS: list[tuple[str, str, int]] = [
    # key, title, width (0 = takes the rest)
    ("mark", "", 2),
    ("id", "#", 8),
    ("channel", "CHANNEL", 11),
    ("subject", "SUBJECT", 0),
    ("contact", "CONTACT", 20),
    ("status", "STATUS", 9),
    ("priority", "PRIO", 7),
    ("assignee", "ASSIGNEE", 15),
    ("activity", "ACTIVITY", 9),
]
_DROP_ORDER = ["assignee", "contact", "channel", "priority"]  # dropped first on narrow screens


def layout(width: int) -> list[tuple[str, str, int]]:
    """The columns that fit ``width`` cells, the subject taking what is left."""
    cols = list(COLUMNS)
    for name in _DROP_ORDER:
        fixed = sum(c[2] + 1 for c in cols)
        if width - fixed >= 20:
            break
        cols = [c for c in cols if c[0] != name]
    fixed = sum(c[2] + 1 for c in cols if c[2])
    subject = max(8, width - fixed - 1)
    return [(k, t, w or subject) for k, t, w in cols]


def cell(ticket: Ticket, key: str, now: datetime) -> str:
    if key == "mark":
        return "●" if ticket.unread else " "
    if key == "id":
        return f"#{ticket.id}"
    if key == "channel":
        return line(ticket.channel_name or ticket.source.value)
    if key == "subject":
        return line(ticket.subject) or "(no subject)"
    if key == "contact":
        return line(ticket.contact_name or ticket.contact_email or "-")
    if key == "status":
        return ticket.status
    if key == "priority":
        return ticket.priority.value
    if key == "assignee":
        return line(ticket.assignee_name or "-")
    return ago(ticket.last_activity_at, now)


def build_strip(cells: list[str], columns: list[tuple[str, str, int]], style: Style, width: int,
                styles: dict[int, Style] | None = None) -> Strip:
    # one segment per run of same-styled columns: every segment costs Textual's line
    # filters and the compositor's cuts again on each repaint
    segments = []
    run: list[str] = []
    run_style = style
    for i, (text, (_, _, w)) in enumerate(zip(cells, columns, strict=True)):
        cell_style = styles.get(i, style) if styles else style
        if cell_style is not run_style and run:
            segments.append(Segment("".join(run), run_style))
            run = []
        run_style = cell_style
        run.append(set_cell_size(text, w) + " ")
    if run:
        segments.append(Segment("".join(run), run_style))
    return Strip(segments).adjust_cell_length(width, style)


def message_strip(text: str, style: Style, width: int, center: bool = False) -> Strip:
    """One line of ``text`` (centred if asked) across ``width`` cells."""
    text = set_cell_size(text, width)
    if center:
        text = set_cell_size(" " * max(0, (width - len(text.rstrip())) // 2) + text.rstrip(), width)
    return Strip([Segment(text, style)], width)


def plain_box(table: TicketTable) -> bool:
    """No border, padding, outline, tint, hatch or opacity: Textual's line wrapper is a no-op."""
    styles = table.styles
    return (not any(styles.gutter) and not styles.border_top[0] and not styles.outline_top[0]
            and not styles.outline_left[0] and not styles.outline_right[0]
            and not styles.outline_bottom[0] and not styles.tint.a and table.opacity == 1.0
            and styles.text_opacity == 1.0 and table.content_region.size == table.region.size
            and not (styles.has_rule("hatch") and styles.hatch != "none")
            and not (table.auto_links and table.hover_style._link_id))


def render_cached_lines(table: TicketTable, crop: Region) -> list[Strip]:
    """Textual's per-line pipeline, minus the copies that defeat its own caches.

    Textual's ``StylesCache`` wraps every line it gets from :meth:`render_line` in a new
    :class:`Strip` and re-runs the line filters (``ANSIToTruecolor``) on it — for all ~44
    rows each time the table scrolls, although the rows are cached in ``_strips``. With
    no border, padding, outline, tint, hatch or opacity (the table's CSS) that wrapper is
    the identity, so the cached strip itself goes through the filters: ``Strip`` caches
    filter, crop and divide results per object, and a row already on screen costs a few
    dict lookups when the table scrolls. Callers check :func:`plain_box` first: anything
    else takes Textual's path.
    """
    width = table.region.width
    base_background, background = table.background_colors
    filters = table.get_line_filters()
    x1, x2 = crop.column_span
    cropped = (x1, x2) != (0, width)
    out = []
    top = int(table.scroll_offset.y) - 1
    cached = table._strips.get if table.loaded else None
    for y in crop.line_range:
        index = top + y
        strip = None
        if cached is not None and y and index < table.total:
            strip = cached((index, index == table.cursor))
        if strip is None:
            strip = table.render_line(y)
        if strip.cell_length != width:
            inner, _ = table._styles_cache.get_inner_outer(base_background, background)
            strip = strip.adjust_cell_length(width, inner.rich_style)
        for line_filter in filters:
            strip = strip.apply_filter(line_filter, background)
        if cropped:
            strip = strip.crop(x1, x2)
        out.append(strip)
    return out
