"""``?``: the keys of the screen underneath, in words, with the keys the keymap gave them.

A screen with numbered views (the queue) names them in one row — ``1–7  views: Unassigned,
Mine, …`` — rather than nine rows of "View 1 … View 9" (its ``help_views()``).
"""

from __future__ import annotations

from typing import Any

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

from tui.screens.base import desk_app


class HelpScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll { width: 76; max-width: 95%; height: auto; max-height: 90%;
        border: round $primary; background: $surface; padding: 0 1; }
    HelpScreen .help-title { text-style: bold; color: $primary; padding-bottom: 1; }
    """
    BINDINGS = [
        Binding("escape,q,question_mark", "close", "Close help", id="help.close"),
        Binding("j,down", "scroll(1)", "Scroll down", show=False, id="help.down"),
        Binding("k,up", "scroll(-1)", "Scroll up", show=False, id="help.up"),
    ]

    def __init__(self, screen: Screen[Any]) -> None:
        super().__init__()
        self.for_screen = screen

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            title = getattr(self.for_screen, "HELP_TITLE", "ticketty")
            yield Static(Text(f"Keys — {title}"), classes="help-title")
            yield Static(self._keys_table(), id="help-keys")
            yield Static(self._commands_table(), id="help-commands")

    def _keys_table(self) -> Table:
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold", no_wrap=True)
        table.add_column()
        groups: dict[str, tuple[list[str], Binding]] = {}
        for key, active in self.for_screen.active_bindings.items():
            binding = active.binding
            if not binding.id or not binding.description:
                continue
            keys, _ = groups.setdefault(binding.id, ([], binding))
            keys.append(key)
        views: list[str] = list(getattr(self.for_screen, "help_views", list)())
        numbered = {f"queue.view_{n}" for n in range(1, 10)}
        for binding_id, (keys, binding) in groups.items():
            if views and binding_id in numbered:
                if binding_id == "queue.view_1":
                    table.add_row(*self._views_row(views, groups))
                continue
            shown = " ".join(self.app.get_key_display(Binding(k, "")) for k in keys)
            table.add_row(Text(shown), Text(binding.tooltip or binding.description))
        return table

    def _views_row(self, views: list[str],
                   groups: dict[str, tuple[list[str], Binding]]) -> tuple[Text, Text]:
        """``1–7`` and ``views: Unassigned, Mine, …`` (the number keys the keymap gave them)."""
        keys = [self.app.get_key_display(Binding(groups[f"queue.view_{n}"][0][0], ""))
                for n in range(1, min(len(views), 9) + 1) if f"queue.view_{n}" in groups]
        digits = [str(n) for n in range(1, len(keys) + 1)]
        shown = f"{keys[0]}–{keys[-1]}" if keys == digits and len(keys) > 1 else " ".join(keys)
        return Text(shown), Text("views: " + ", ".join(views[:len(keys)]))

    def _commands_table(self) -> Table:
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold", no_wrap=True)
        table.add_column()
        table.add_row(Text(""), Text(""))
        table.add_row(Text("Commands", style="bold"), Text("type : then one of these"))
        kind = getattr(self.for_screen, "SCREEN_KIND", None)
        for c in desk_app(self).commands:
            if c.screen and c.screen != kind:
                continue
            table.add_row(Text(f":{c.usage}"), Text(c.help))
        return table

    def action_close(self) -> None:
        self.dismiss(None)

    def action_scroll(self, step: int) -> None:
        self.query_one(VerticalScroll).scroll_relative(y=step, animate=False)
