"""A fuzzy picker: type to filter, up/down to move, Enter to choose, Esc to cancel.

Used for every property (assignee with availability, status, priority, pipeline, team, contact
owner) and for canned replies. Labels are :class:`rich.text.Text` (customer/agent names are
data, never markup).
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.fuzzy import Matcher
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList
from textual.widgets.option_list import Option


@dataclass(frozen=True)
class PickItem:
    value: str | None
    label: Text
    search: str = ""  # extra words to match (defaults to the label's plain text)


class PickerScreen(ModalScreen[PickItem | None]):
    DEFAULT_CSS = """
    PickerScreen { align: center middle; }
    PickerScreen > Vertical { width: 70; max-width: 95%; height: auto; max-height: 80%;
        border: round $primary; background: $surface; padding: 0 1; }
    PickerScreen Label { text-style: bold; color: $primary; }
    PickerScreen Input { margin: 0 0 1 0; }
    PickerScreen OptionList { height: auto; max-height: 20; border: none; }
    """
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="picker.cancel"),
        Binding("down,ctrl+n", "move(1)", "Next", show=False, id="picker.next"),
        Binding("up", "move(-1)", "Previous", show=False, id="picker.previous"),
    ]

    def __init__(self, title: str, items: list[PickItem], *, current: str | None = None) -> None:
        super().__init__()
        self.title_text = title
        self.items = items
        self.current = current
        self.shown: list[PickItem] = list(items)

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(Text(self.title_text))
            yield Input(placeholder="type to filter", id="picker-filter")
            yield OptionList(id="picker-options")

    def on_mount(self) -> None:
        self._fill("")
        if self.current is not None:
            for i, item in enumerate(self.shown):
                if item.value == self.current:
                    self.query_one(OptionList).highlighted = i

    def _fill(self, text: str) -> None:
        options = self.query_one(OptionList)
        options.clear_options()
        if text:
            matcher = Matcher(text)
            scored = [(max(matcher.match(i.label.plain), matcher.match(i.search)), n, i)
                      for n, i in enumerate(self.items)]
            self.shown = [i for s, _, i in sorted(scored, key=lambda x: (-x[0], x[1])) if s > 0]
        else:
            self.shown = list(self.items)
        options.add_options([Option(i.label) for i in self.shown])
        if self.shown:
            options.highlighted = 0

    @on(Input.Changed)
    def _filter(self, event: Input.Changed) -> None:
        self._fill(event.value)

    @on(Input.Submitted)
    def _submit(self) -> None:
        index = self.query_one(OptionList).highlighted
        if index is not None and index < len(self.shown):
            self.dismiss(self.shown[index])

    @on(OptionList.OptionSelected)
    def _selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self.shown[event.option_index])

    def action_move(self, step: int) -> None:
        options = self.query_one(OptionList)
        if not self.shown:
            return
        current = options.highlighted or 0
        options.highlighted = max(0, min(len(self.shown) - 1, current + step))

    def action_cancel(self) -> None:
        self.dismiss(None)
