"""A choice of one among a few, shown as radio buttons (Textual's ``RadioSet``)."""

from __future__ import annotations

from textual.widgets import RadioSet


class ChoiceSet(RadioSet):
    """A ``RadioSet`` whose keyboard cursor can be put on the pressed button.

    ``RadioSet`` starts its cursor on the first button; a wizard step showing an earlier answer
    wants it on that answer. Textual offers no public way to move it, so this sets the
    RadioSet's own cursor (``_selected``) — the one place ticketty touches it
    (tests/tui_admin/test_wizard_focus.py checks the result).
    """

    def cursor_to_pressed(self) -> None:
        if self.pressed_index >= 0:
            self._selected = self.pressed_index
