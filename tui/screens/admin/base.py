"""What the admin list screens share: a table of records, a form to add or edit one, removal.

A subclass names its ``TITLE`` and ``COLUMNS`` and implements :meth:`AdminListScreen.load`
(rows from the store), :meth:`AdminListScreen.form` (the declaration and current values of a
record) and :meth:`AdminListScreen.save` (validate and store; raise ``SettingError(key, …)`` to
put a message beside a field). Removal is optional (:meth:`AdminListScreen.delete_item`).

| key | action (binding id) |
|---|---|
| ``a`` | add (``admin.add``) |
| ``enter`` / ``e`` | edit the record under the cursor (``admin.edit``) |
| ``d`` | remove it, after confirmation (``admin.remove``) |
| ``j`` / ``k`` | down / up (``admin.down`` / ``admin.up``) |
| ``escape`` / ``q`` | back (``admin.back``) |
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, DataTable, Static

from engine.channels.setup import SettingError
from engine.models import Event
from engine.store import StoreError
from tui.screens.base import TickettyScreen
from tui.screens.confirm import ConfirmScreen
from tui.text import line
from tui.widgets.key_footer import KeyFooter
from tui.widgets.settings_form import FieldSpec, SettingsForm
from tui.widgets.status_bar import StatusBar

Saver = Callable[[dict[str, Any]], Awaitable[None]]


class FormScreen(ModalScreen[bool]):
    """A settings form in a dialog; Save runs ``saver`` and closes only when it succeeds."""

    DEFAULT_CSS = """
    FormScreen { align: center middle; }
    FormScreen > Vertical { width: 110; max-width: 98%; height: 90%; border: round $primary;
        background: $surface; padding: 0 1; }
    FormScreen .form-title { text-style: bold; color: $primary; padding-bottom: 1; }
    FormScreen #form-message { color: $error; height: auto; }
    FormScreen #form-buttons { height: 3; align-horizontal: right; }
    FormScreen #form-buttons Button { margin-left: 2; }
    """
    BINDINGS = [
        Binding("ctrl+s", "save", "Save", id="form.save"),
        Binding("escape", "cancel", "Cancel", id="form.cancel"),
    ]

    def __init__(self, title: str, specs: list[FieldSpec], values: dict[str, Any],
                 saver: Saver) -> None:
        super().__init__()
        self.title_text = title
        self.specs = specs
        self.values = values
        self.saver = saver

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text(self.title_text), classes="form-title")
            with VerticalScroll():
                yield SettingsForm(self.specs, self.values, id="admin-form")
            yield Static("", id="form-message")
            with Horizontal(id="form-buttons"):
                yield Button("Cancel", id="form-cancel")
                yield Button("Save", id="form-save", variant="primary")

    @property
    def form(self) -> SettingsForm:
        return self.query_one("#admin-form", SettingsForm)

    def action_cancel(self) -> None:
        self.dismiss(False)

    def action_save(self) -> None:
        self._save()

    @on(Button.Pressed, "#form-save")
    def _save_pressed(self) -> None:
        self._save()

    @on(Button.Pressed, "#form-cancel")
    def _cancel_pressed(self) -> None:
        self.dismiss(False)

    @work(exclusive=True, group="admin-form", exit_on_error=False)
    async def _save(self) -> None:
        try:
            await self.saver(self.form.values())
        except SettingError as exc:
            if not self.form.show_errors({exc.key: str(exc).removeprefix(f"{exc.key}: ")}):
                self.query_one("#form-message", Static).update(Text(str(exc)))
            return
        except (StoreError, ValueError) as exc:
            self.form.clear_errors()
            self.query_one("#form-message", Static).update(Text(str(exc)))
            return
        self.dismiss(True)


class AdminListScreen(TickettyScreen):
    TITLE: ClassVar[str] = ""
    COLUMNS: ClassVar[list[str]] = []
    NOUN: ClassVar[str] = "record"
    DEFAULT_CSS = """
    AdminListScreen .admin-title { height: 1; padding: 0 1; background: $panel;
        color: $primary; text-style: bold; }
    AdminListScreen DataTable { height: 1fr; }
    """
    BINDINGS = [
        Binding("a", "add", "Add", id="admin.add"),
        Binding("enter,e", "edit", "Edit", id="admin.edit"),
        Binding("d", "remove", "Remove", id="admin.remove"),
        Binding("j", "cursor(1)", "Down", show=False, id="admin.down"),
        Binding("k", "cursor(-1)", "Up", show=False, id="admin.up"),
        Binding("escape,q", "back", "Back", id="admin.back"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.items: list[Any] = []
        self.loaded = False

    def compose(self) -> ComposeResult:
        yield Static(self.TITLE, classes="admin-title")
        table: DataTable[Text] = DataTable(cursor_type="row", zebra_stripes=True,
                                           id="admin-table")
        table.add_columns(*self.COLUMNS)
        yield table
        yield StatusBar(id="status")
        yield KeyFooter()

    @property
    def table(self) -> DataTable[Text]:
        return self.query_one("#admin-table", DataTable)

    def engine_ready(self) -> None:
        self.table.focus()
        self.reload()

    def engine_event(self, event: Event) -> None:
        if event.kind.split(".")[0] in ("agent", "team", "pipeline", "canned"):
            self.reload()

    def reload(self) -> None:
        self._reload()

    @work(exclusive=True, group="admin-load", exit_on_error=False)
    async def _reload(self) -> None:
        cursor = self.table.cursor_row
        items, rows = await self.load()
        self.items = items
        self.table.clear()
        for row in rows:
            self.table.add_row(*[Text(line(c)) if isinstance(c, str) else c for c in row])
        if items:
            self.table.move_cursor(row=min(max(cursor, 0), len(items) - 1))
        self.loaded = True

    def current(self) -> Any:
        index = self.table.cursor_row
        return self.items[index] if self.items and 0 <= index < len(self.items) else None

    # --------------------------------------------------------------- subclass API
    async def load(self) -> tuple[list[Any], list[list[Any]]]:
        raise NotImplementedError

    async def form(self, item: Any) -> tuple[list[FieldSpec], dict[str, Any]]:
        raise NotImplementedError

    async def save(self, values: dict[str, Any], item: Any) -> None:
        raise NotImplementedError

    async def delete_item(self, item: Any) -> None:
        raise StoreError(f"a {self.NOUN} cannot be removed here")

    def describe(self, item: Any) -> str:
        return str(item)

    # ------------------------------------------------------------------- actions
    def action_cursor(self, step: int) -> None:
        self.table.move_cursor(row=self.table.cursor_row + step)

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_add(self) -> None:
        self._open_form(None)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        """Enter on a row (the table takes Enter before the screen's binding)."""
        event.stop()
        self.action_edit()

    def action_edit(self) -> None:
        item = self.current()
        if item is not None:
            self._open_form(item)

    @work(group="admin-op", exit_on_error=False)
    async def _open_form(self, item: Any) -> None:
        specs, values = await self.form(item)
        title = f"Edit {self.NOUN} {self.describe(item)}" if item is not None \
            else f"Add a {self.NOUN}"
        saved = await self.app.push_screen_wait(
            FormScreen(title, specs, values, lambda v: self.save(v, item)))
        if saved:
            self.notify(f"{self.NOUN.capitalize()} saved.", markup=False)
            self.reload()

    def action_remove(self) -> None:
        item = self.current()
        if item is not None:
            self._remove(item)

    @work(group="admin-op", exit_on_error=False)
    async def _remove(self, item: Any) -> None:
        sure = await self.app.push_screen_wait(ConfirmScreen(
            f"Remove {self.NOUN} {self.describe(item)}?", yes="Remove"))
        if not sure:
            return
        try:
            await self.delete_item(item)
        except (StoreError, ValueError) as exc:
            self.notify(str(exc), severity="error", markup=False)
            return
        self.notify(f"{self.NOUN.capitalize()} removed.", markup=False)
        self.reload()
