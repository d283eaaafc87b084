"""The one place ticketty reaches into Textual's internals: a faster ``render_lines``.

Textual's ``StylesCache`` wraps every line it gets from ``render_line`` in a new
:class:`~textual.strip.Strip` and re-runs the line filters (``ANSIToTruecolor``) on it — for all
~44 rows each time the queue scrolls, although :class:`~tui.widgets.ticket_table.TicketTable`
keeps its rendered rows. With no border, padding, outline, tint, hatch, opacity or hovered link
(the table's CSS) that wrapper is the identity, so :func:`cached_render_lines` passes the
widget's own cached strip through the filters: ``Strip`` caches filter, crop and divide results
per object, and a row already on screen costs a few dict lookups when the table scrolls.

It reads two private things: the widget's ``_styles_cache`` (for the style that pads a short
line, as Textual's path pads it) and Rich's ``Style._link_id`` (a hovered link, which Textual's
path restyles). tests/tui/test_fast_lines.py compares the result with Textual's own path for
the same rows — themes, widths, cursor, focus, scrolling, crops, links — on each Textual
version pyproject.toml allows.
"""

from __future__ import annotations

from collections.abc import Callable

from textual.geometry import Region
from textual.strip import Strip
from textual.widget import Widget


def cached_render_lines(widget: Widget, crop: Region,
                        cached: Callable[[int], Strip | None]) -> list[Strip] | None:
    """The lines of ``crop`` as ``Widget.render_lines`` would render them, taking line ``y``
    from ``cached(y)`` when it has it and from ``widget.render_line(y)`` otherwise; None when
    the widget's box is not plain (then only Textual's own path is right: call it)."""
    styles = widget.styles
    plain = (not any(styles.gutter) and not styles.border_top[0] and not styles.outline_top[0]
             and not styles.outline_left[0] and not styles.outline_right[0]
             and not styles.outline_bottom[0] and not styles.tint.a and widget.opacity == 1.0
             and styles.text_opacity == 1.0 and widget.content_region.size == widget.region.size
             and not (styles.has_rule("hatch") and styles.hatch != "none")
             and not (widget.auto_links and widget.hover_style._link_id))
    if not plain:
        return None
    width = widget.region.width
    base_background, background = widget.background_colors
    filters = widget.get_line_filters()
    x1, x2 = crop.column_span
    cropped = (x1, x2) != (0, width)
    out = []
    for y in crop.line_range:
        strip = cached(y)
        if strip is None:
            strip = widget.render_line(y)
        if strip.cell_length != width:
            inner, _ = widget._styles_cache.get_inner_outer(base_background, background)
            strip = strip.adjust_cell_length(width, inner.rich_style)
        for line_filter in filters:
            strip = strip.apply_filter(line_filter, background)
        if cropped:
            strip = strip.crop(x1, x2)
        out.append(strip)
    return out
