"""The row of queue views with their counts: ``1 Unassigned 12  2 Mine 3  3 All open 40 …``.

No view ever drops off the bar. When the names do not fit, the other views' names are
abbreviated ("Unassigned" → "Unass…", down to three letters) while the active one stays
whole; when even that is too wide (dozens of channels) the bar scrolls to keep the active view
in sight and shows ``‹``/``›`` where more views are.
"""

from __future__ import annotations

from rich.style import Style
from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from tui.queue_model import BASE_VIEWS, View
from tui.text import line

__all__ = ["BASE_VIEWS", "View", "ViewBar", "abbreviate"]

SHORTEST = 3  # letters an abbreviated view name keeps


def abbreviate(title: str, limit: int) -> str:
    """``title`` in at most ``limit`` cells, ``…`` marking a cut."""
    return title if len(title) <= limit else title[:max(1, limit - 1)] + "…"


class ViewBar(Widget):
    DEFAULT_CSS = """
    ViewBar { height: 1; background: $panel; }
    ViewBar > .view-bar--active { background: $primary; color: $text; text-style: bold; }
    ViewBar > .view-bar--key { color: $text-muted; }
    ViewBar > .view-bar--count { color: $accent; }
    ViewBar > .view-bar--more { color: $accent; text-style: bold; }
    """
    COMPONENT_CLASSES = {"view-bar--active", "view-bar--key", "view-bar--count",
                         "view-bar--more"}

    active: reactive[str] = reactive("open")
    counts: reactive[dict[str, int]] = reactive(dict, always_update=True)
    views: reactive[list[View]] = reactive(lambda: list(BASE_VIEWS), always_update=True)

    def _piece(self, number: int, view: View, limit: int | None) -> Text:
        style = self.get_component_rich_style
        piece = Text()
        if number <= 9:
            piece.append(f"{number} ", style("view-bar--key"))
        title = line(view.title)
        active = view.key == self.active
        piece.append(title if active or limit is None else abbreviate(title, limit))
        count = self.counts.get(view.key)
        if count is not None:
            piece.append(f" {count:,}", style("view-bar--count"))
        if active:
            piece.stylize(style("view-bar--active"))
        return Text(" ").join([Text(""), piece, Text("")])

    def pieces(self, width: int) -> list[Text]:
        """One piece per view, abbreviated as much as ``width`` needs (never fewer pieces)."""
        longest = max((len(line(v.title)) for v in self.views), default=0)
        for limit in [None, *range(longest - 1, SHORTEST - 1, -1)]:
            pieces = [self._piece(n, v, limit) for n, v in enumerate(self.views, start=1)]
            if sum(p.cell_len for p in pieces) <= width:
                return pieces
        return pieces

    def render(self) -> Text:
        width = self.size.width
        pieces = self.pieces(width)
        if sum(p.cell_len for p in pieces) <= width:
            return Text("").join(pieces)
        return self._scrolled(pieces, width)

    def _scrolled(self, pieces: list[Text], width: int) -> Text:
        """The views around the active one, with ``‹``/``›`` where more are off the bar."""
        keys = [v.key for v in self.views]
        first = last = keys.index(self.active) if self.active in keys else 0
        used = pieces[first].cell_len + 2
        while True:  # grow the window to the right, then to the left, while it fits
            if last + 1 < len(pieces) and used + pieces[last + 1].cell_len <= width:
                last += 1
                used += pieces[last].cell_len
            elif first > 0 and used + pieces[first - 1].cell_len <= width:
                first -= 1
                used += pieces[first].cell_len
            else:
                break
        more: Style = self.get_component_rich_style("view-bar--more")
        out = Text("‹" if first > 0 else " ", more, no_wrap=True, overflow="ellipsis")
        out.append_text(Text("").join(pieces[first:last + 1]))
        out.append(" " * max(0, width - used) + ("›" if last + 1 < len(pieces) else " "), more)
        return out
