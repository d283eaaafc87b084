"""``?``: the keys of the screen underneath, in words, with the keys the keymap gave them."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

from tui.commands import COMMANDS


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

    def __init__(self, screen: Screen) -> None:
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
        for keys, binding in groups.values():
            shown = " ".join(self.app.get_key_display(Binding(k, "")) for k in keys)
            table.add_row(Text(shown), Text(binding.tooltip or binding.description))
        return table

    def _commands_table(self) -> Table:
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold", no_wrap=True)
        table.add_column()
        table.add_row(Text(""), Text(""))
        table.add_row(Text("Commands", style="bold"), Text("type : then one of these"))
        kind = getattr(self.for_screen, "SCREEN_KIND", None)
        for c in COMMANDS:
            if c.screen and c.screen != kind:
                continue
            table.add_row(Text(f":{c.usage}"), Text(c.help))
        return table

    def action_close(self) -> None:
        self.dismiss(None)

    def action_scroll(self, step: int) -> None:
        self.query_one(VerticalScroll).scroll_relative(y=step, animate=False)
