"""The ``:`` command line: one Input at the bottom, like vim/neomutt/k9s.

Enter runs the command (see :mod:`tui.commands`), Esc cancels, up/down walk the history.
"""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import ModalScreen
from textual.widgets import Input, Label


class CommandLineScreen(ModalScreen[str | None]):
    DEFAULT_CSS = """
    CommandLineScreen { align: left bottom; background: transparent; }
    CommandLineScreen > #command-bar { dock: bottom; height: 1; width: 100%; layout: horizontal;
        background: $panel; }
    CommandLineScreen Label { width: 1; height: 1; color: $accent; text-style: bold; }
    CommandLineScreen Input { border: none; height: 1; padding: 0; width: 1fr; background: $panel; }
    CommandLineScreen Input:focus { border: none; }
    """
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="command_line.cancel"),
        Binding("up", "history(-1)", "Previous command", show=False, id="command_line.previous"),
        Binding("down", "history(1)", "Next command", show=False, id="command_line.next"),
    ]
    history: ClassVar[list[str]] = []

    def __init__(self, prefill: str = "") -> None:
        super().__init__()
        self.prefill = prefill
        self._pos = len(self.history)

    def compose(self) -> ComposeResult:
        from textual.containers import Horizontal

        with Horizontal(id="command-bar"):
            yield Label(":")
            yield Input(self.prefill, placeholder="assign me · status pending · view mine · help",
                        id="command-input", select_on_focus=False)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        if text and (not self.history or self.history[-1] != text):
            self.history.append(text)
        self.dismiss(text or None)

    def action_cancel(self) -> None:
        self.dismiss(None)

    def action_history(self, step: int) -> None:
        if not self.history:
            return
        self._pos = max(0, min(len(self.history), self._pos + step))
        value = self.history[self._pos] if self._pos < len(self.history) else ""
        box = self.query_one(Input)
        box.value = value
        box.cursor_position = len(value)
