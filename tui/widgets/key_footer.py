"""A one-line footer of the screen's main keys: one widget, one ``Text``, no children.

Textual's ``Footer`` builds a widget per key and recomposes them whenever the bindings change
(focus moves, a screen opens), which costs ~0.2 s of CSS work at start-up and a few
milliseconds on every focus change. Agents only need to *read* the hints, so this renders them
as a single line, refreshed when the screen's bindings change.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.screen import Screen
from textual.widget import Widget


class KeyFooter(Widget):
    """Keys with ``show=True`` in the focused chain's bindings, then the palette key.

    On a narrow screen only whole hints are shown, and ``?`` (help, which lists every key)
    always among them."""

    DEFAULT_CSS = """
    KeyFooter { height: 1; dock: bottom; background: $footer-background; }
    """

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)

    def _bindings_changed(self, screen: Screen[Any]) -> None:
        if self.is_attached and screen is self.screen:
            self.refresh()

    def render(self) -> Text:
        app = self.app
        variables = app.theme_variables
        key = f"bold {variables.get('footer-key-foreground', variables.get('accent', 'yellow'))}"
        desc = variables.get("footer-description-foreground", "")
        pieces: list[tuple[Text, bool]] = []  # (hint, is it help)
        seen: set[str] = set()
        palette = None
        for _node, binding, enabled, _tooltip in self.screen.active_bindings.values():
            if binding.action == "command_palette":
                palette = binding
                continue
            if not binding.show or binding.action in seen:
                continue
            seen.add(binding.action)
            piece = Text()
            piece.append(f" {app.get_key_display(binding)}", style=key if enabled else "dim")
            piece.append(f" {binding.description} ", style=desc if enabled else "dim")
            pieces.append((piece, binding.action == "help"))
        width = self.size.width
        if sum(p.cell_len for p, _ in pieces) > width:
            room = width - sum(p.cell_len for p, is_help in pieces if is_help)
            kept = []
            for piece, is_help in pieces:
                if not is_help and piece.cell_len > room:
                    room = -1  # keep the order: nothing after the first hint that does not fit
                    continue
                room -= 0 if is_help else piece.cell_len
                kept.append((piece, is_help))
            pieces = kept
        text = Text(no_wrap=True, overflow="ellipsis")
        for piece, _ in pieces:
            text.append_text(piece)
        if palette is not None and app.ENABLE_COMMAND_PALETTE:
            hint = Text(f" {app.get_key_display(palette)}", style=key)
            hint.append(f" {palette.description} ", style=desc)
            gap = width - text.cell_len - hint.cell_len
            if gap > 0:
                text.append(" " * gap)
                text.append_text(hint)
        return text
