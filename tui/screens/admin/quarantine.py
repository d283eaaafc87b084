"""The quarantine (``:quarantine``, admins): input that could not be ingested, and what to do.

Each row is one item — when, where from, why, how big. The item's header fields are the
sender's text: shown as :class:`rich.text.Text` after :func:`tui.text.clean`, never markup.

| key | action (binding id) |
|---|---|
| ``enter`` | the item's reason and header fields (``quarantine.show``) |
| ``r`` | ingest it again, after an upgrade fixed the cause (``quarantine.retry``) |
| ``d`` | delete it, after confirmation (``quarantine.delete``) |
| ``j`` / ``k`` | down / up (``quarantine.down`` / ``quarantine.up``) |
| ``escape`` / ``q`` | back (``quarantine.back``) |
"""

from __future__ import annotations

from typing import Any

from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

from engine.models import Event
from engine.store import StoreError
from tui.screens.admin.base import AdminListScreen
from tui.screens.confirm import ConfirmScreen
from tui.text import line
from tui.timefmt import ago, stamp


def _size(n: int) -> str:
    return f"{n} B" if n < 1024 else f"{n / 1024:.1f} KB" if n < 1024 * 1024 \
        else f"{n / 1024 / 1024:.1f} MB"


class QuarantineItemScreen(ModalScreen[None]):
    """One item: where it came from, why it is here, its header fields."""

    DEFAULT_CSS = """
    QuarantineItemScreen { align: center middle; }
    QuarantineItemScreen > VerticalScroll { width: 110; max-width: 98%; height: auto;
        max-height: 90%; border: round $warning; background: $surface; padding: 0 1; }
    QuarantineItemScreen .item-title { text-style: bold; color: $warning; padding-bottom: 1; }
    """
    BINDINGS = [
        Binding("escape,q,enter", "close", "Close", id="quarantine_item.close"),
        Binding("j,down", "scroll(1)", "Scroll down", show=False, id="quarantine_item.down"),
        Binding("k,up", "scroll(-1)", "Scroll up", show=False, id="quarantine_item.up"),
    ]

    def __init__(self, item: dict[str, Any], headers: list[tuple[str, str]], when: str) -> None:
        super().__init__()
        self.item, self.headers, self.when = item, headers, when

    def compose(self) -> ComposeResult:
        item = self.item
        with VerticalScroll():
            yield Static(Text(f"Quarantined item {item['id']}"), classes="item-title")
            facts = Table.grid(padding=(0, 2))
            facts.add_column(style="bold", no_wrap=True)
            facts.add_column()
            for label, value in (("When", self.when), ("Source", item["source"]),
                                 ("Channel", item["channel"] or "-"),
                                 ("Size", _size(item["size"])), ("Reason", item["reason"])):
                facts.add_row(Text(label), Text(line(value)))
            yield Static(facts, id="item-facts")
            fields = Table.grid(padding=(0, 1))
            fields.add_column(style="bold", no_wrap=True)
            fields.add_column()
            for name, value in self.headers:
                fields.add_row(Text(line(name) + ":"), Text(line(value)))
            if not self.headers:
                fields.add_row(Text("(no header fields)"), Text(""))
            yield Static(Text(""))
            yield Static(fields, id="item-headers")

    def action_close(self) -> None:
        self.dismiss(None)

    def action_scroll(self, step: int) -> None:
        self.query_one(VerticalScroll).scroll_relative(y=step, animate=False)


class QuarantineScreen(AdminListScreen, inherit_bindings=False):
    """The quarantine list (keys in the module docstring); no add/edit: items come in by
    themselves."""

    HELP_TITLE = "quarantine"
    TITLE = "Quarantine — input that could not be ingested"
    NOUN = "quarantined item"
    COLUMNS = ["When", "Source", "Reason", "Size"]
    BINDINGS = [
        Binding("enter", "show", "Show", id="quarantine.show",
                tooltip="The item's reason and header fields"),
        Binding("r", "retry", "Retry", id="quarantine.retry",
                tooltip="Ingest it again (after an upgrade fixed the cause)"),
        Binding("d", "remove", "Delete", id="quarantine.delete",
                tooltip="Delete it for good (asks first)"),
        Binding("j", "cursor(1)", "Down", show=False, id="quarantine.down"),
        Binding("k", "cursor(-1)", "Up", show=False, id="quarantine.up"),
        Binding("escape,q", "back", "Back", id="quarantine.back"),
    ]

    async def load(self) -> tuple[list[Any], list[list[Any]]]:
        items = await self.tapp.store.quarantine(500)
        rows = [[self._when(i), i["source"], i["reason"], _size(i["size"])] for i in items]
        count = f"{len(items)} item{'s' if len(items) != 1 else ''}" if items else "empty"
        self.query_one(".admin-title", Static).update(f"{self.TITLE} · {count}")
        return items, rows

    def _when(self, item: dict[str, Any]) -> str:
        return f"{stamp(item['at'], self.tapp.tz)} ({ago(item['at'], self.tapp.clock())})"

    def describe(self, item: dict[str, Any]) -> str:
        return str(item["id"])

    def engine_event(self, event: Event) -> None:
        if event.kind.startswith("quarantine."):
            self.reload()

    async def delete_item(self, item: dict[str, Any]) -> None:
        await self.tapp.store.delete_quarantined(item["id"])

    # ------------------------------------------------------------------- actions
    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_show()

    def action_show(self) -> None:
        item = self.current()
        if item is not None:
            self._show(item["id"])

    @work(group="admin-op", exit_on_error=False)
    async def _show(self, item_id: int) -> None:
        from engine.quarantine import headers

        item = await self.tapp.store.quarantined(item_id)
        if item is None:
            self.notify(f"Quarantined item {item_id} is gone.", severity="warning", markup=False)
            return
        await self.app.push_screen_wait(
            QuarantineItemScreen(item, headers(item["raw"]), self._when(item)))

    def action_retry(self) -> None:
        item = self.current()
        if item is not None:
            self._retry(item["id"])

    @work(group="admin-op", exit_on_error=False)
    async def _retry(self, item_id: int) -> None:
        from engine.quarantine import retry

        try:
            done = await retry(self.tapp.store, item_id)
        except (StoreError, ValueError) as exc:
            self.notify(str(exc), severity="error", markup=False)
            self.reload()
            return
        self.notify(done.describe().capitalize() + ".", markup=False)
        self.reload()

    @work(group="admin-op", exit_on_error=False)
    async def _remove(self, item: Any) -> None:
        sure = await self.app.push_screen_wait(ConfirmScreen(
            f"Delete quarantined item {item['id']}?",
            f"{line(item['source'])} · {_size(item['size'])} — its raw bytes are dropped for good.",
            yes="Delete"))
        if not sure:
            return
        try:
            await self.delete_item(item)
        except (StoreError, ValueError) as exc:
            self.notify(str(exc), severity="error", markup=False)
            return
        self.notify(f"Quarantined item {item['id']} deleted.", markup=False)
        self.reload()
