"""The row of queue views with their counts: ``1 Unassigned 12  2 Mine 3  3 All open 40 …``."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from tui.text import line


@dataclass(frozen=True)
class View:
    key: str  # unassigned | mine | open | closed | all | channel:<id>
    title: str
    channel_id: int | None = None


BASE_VIEWS = [
    View("unassigned", "Unassigned"),
    View("mine", "Mine"),
    View("open", "All open"),
    View("closed", "Closed"),
]


class ViewBar(Widget):
    DEFAULT_CSS = """
    ViewBar { height: 1; background: $panel; }
    ViewBar > .view-bar--active { background: $primary; color: $text; text-style: bold; }
    ViewBar > .view-bar--key { color: $text-muted; }
    ViewBar > .view-bar--count { color: $accent; }
    """
    COMPONENT_CLASSES = {"view-bar--active", "view-bar--key", "view-bar--count"}

    active: reactive[str] = reactive("open")
    counts: reactive[dict[str, int]] = reactive(dict, always_update=True)
    views: reactive[list[View]] = reactive(lambda: list(BASE_VIEWS), always_update=True)

    def render(self) -> Text:
        out = Text(no_wrap=True, overflow="ellipsis")
        key_style = self.get_component_rich_style("view-bar--key")
        count_style = self.get_component_rich_style("view-bar--count")
        active_style = self.get_component_rich_style("view-bar--active")
        for number, view in enumerate(self.views, start=1):
            count = self.counts.get(view.key)
            piece = Text()
            if number <= 9:
                piece.append(f"{number} ", key_style)
            piece.append(line(view.title))
            if count is not None:
                piece.append(f" {count:,}", count_style)
            if view.key == self.active:
                piece.stylize(active_style)
            out.append(" ")
            out.append(piece)
            out.append(" ")
        return out
