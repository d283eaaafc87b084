"""The queue table's rows: column layout, cell text and strips.

:class:`~tui.widgets.ticket_table.TicketTable` owns the data (pages, cursor, caches); this module
turns tickets into :class:`~textual.strip.Strip` rows (pure functions, no widget), and
:mod:`tui.widgets.fast_lines` hands the cached rows to Textual's line pipeline.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip

from engine.models import Ticket
from tui.text import line
from tui.timefmt import ago

COLUMNS: list[tuple[str, str, int, int]] = [
    # key, title, narrowest, widest (the subject takes what is left)
    ("mark", "", 2, 2),
    ("id", "#", 4, 9),
    ("channel", "CHANNEL", 7, 28),
    ("subject", "SUBJECT", 20, 0),
    ("contact", "CONTACT", 7, 32),
    ("status", "STATUS", 6, 14),
    ("priority", "PRIO", 6, 6),
    ("assignee", "ASSIGNEE", 8, 24),
    ("activity", "ACTIVITY", 8, 8),
]
_SQUEEZE = {"channel": 10, "contact": 12, "assignee": 12}  # squeezed down to this for the subject
_DROP_ORDER = ["assignee", "contact", "channel", "priority"]  # then dropped, in this order
SUBJECT_MIN = 24  # below this a column goes
SUBJECT_SHARE = 0.4  # the subject may take this share of the width from wide columns
Layout = list[tuple[str, str, int]]


def content_widths(tickets: Iterable[Ticket], now: datetime,
                   widths: dict[str, int] | None = None) -> dict[str, int]:
    """Each column's natural width: its widest cell (or title) among ``tickets``, within the
    column's limits. ``widths`` (a previous result) only grows, so rows read later never
    make the columns jump narrower."""
    out = dict(widths or {})
    for key, title, low, high in COLUMNS:
        if key in ("mark", "priority", "activity"):
            continue
        high = high or 400  # the subject: as wide as its longest line
        widest = max((cell_len(cell(t, key, now)) for t in tickets), default=0)
        out[key] = max(out.get(key, 0), min(max(low, cell_len(title), widest), high))
    return out


def layout(width: int, natural: dict[str, int] | None = None) -> Layout:
    """The columns that fit ``width`` cells, each as wide as its content (``natural``, from
    :func:`content_widths`) within its limits; the subject takes what is left.

    The subject comes first: columns are dropped (assignee, contact, channel, priority) while
    the subject would get less than :data:`SUBJECT_MIN` even with channel, contact and assignee
    squeezed to :data:`_SQUEEZE`; then, while the subject would be cut and has less than
    :data:`SUBJECT_SHARE` of the width, the widest of those gives up a cell.
    """
    natural = natural or {}
    widths = {key: natural.get(key, low) if high != low else low
              for key, _, low, high in COLUMNS if key != "subject"}
    cols = [c[0] for c in COLUMNS]

    def room(sizes: dict[str, int]) -> int:
        return width - sum(sizes[k] + 1 for k in cols if k != "subject") - 1

    floors = {k: min(w, _SQUEEZE.get(k, w)) for k, w in widths.items()}
    for key in _DROP_ORDER:
        if room(floors) >= SUBJECT_MIN:
            break
        cols.remove(key)
    wanted = min(natural.get("subject", SUBJECT_MIN), max(SUBJECT_MIN, int(width * SUBJECT_SHARE)))
    while room(widths) < wanted:
        squeezable = [k for k in _SQUEEZE if k in cols and widths[k] > floors[k]]
        if not squeezable:
            break
        widths[max(squeezable, key=lambda k: widths[k])] -= 1
    subject = max(8, room(widths))
    titles = {key: title for key, title, _, _ in COLUMNS}
    return [(k, titles[k], subject if k == "subject" else widths[k]) for k in cols]


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


def row_cells(ticket: Ticket, columns: list[tuple[str, str, int]], now: datetime,
              open_by: str | None) -> tuple[list[str], dict[int, str]]:
    """A row's cells, and which cells get a component style (index → ``open-by``, ``urgent``
    or ``high``): another agent's initial in the mark column when ``open_by`` (their name)
    has the ticket open, and the priority (or, without that column, the subject) coloured for
    urgent and high tickets."""
    cells = [cell(ticket, key, now) for key, _, _ in columns]
    marks: dict[int, str] = {}
    if open_by and columns and columns[0][0] == "mark":
        cells[0] = cells[0][:1] + (open_by.strip()[:1].upper() or "?")
        marks[0] = "open-by"
    if ticket.priority.value in ("urgent", "high"):
        keys = [c[0] for c in columns]
        index = keys.index("priority") if "priority" in keys else keys.index("subject")
        marks[index] = ticket.priority.value
    return cells, marks


def fit(text: str, width: int) -> str:
    """``text`` in exactly ``width`` cells; a cut is marked with ``…``."""
    if cell_len(text) <= width:
        return set_cell_size(text, width)
    return set_cell_size(text, width - 1) + "…" if width > 1 else set_cell_size(text, width)


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
        run.append(fit(text, w) + " ")
    if run:
        segments.append(Segment("".join(run), run_style))
    return Strip(segments).adjust_cell_length(width, style)


def message_strip(text: str, style: Style, width: int, center: bool = False) -> Strip:
    """One line of ``text`` (centred if asked) across ``width`` cells."""
    text = set_cell_size(text, width)
    if center:
        text = set_cell_size(" " * max(0, (width - len(text.rstrip())) // 2) + text.rstrip(), width)
    return Strip([Segment(text, style)], width)
