"""``:channels``: every channel with its health, and the admin actions on it.

Health comes from :func:`engine.channels.health.health_words`, the same words as
``ticketty channels list``: a server that keeps failing reads "failing: <reason>", never fine.
"Today" counts tickets created since midnight of the app's clock (UTC), so tests freeze it.

| key | action (binding id) |
|---|---|
| ``n`` | connect a new channel (``channels.connect``) |
| ``enter`` / ``e`` | edit the channel under the cursor (``channels.edit``) |
| ``space`` | enable / disable it (``channels.toggle``) |
| ``d`` | remove it, after confirmation; its tickets stay (``channels.remove``) |
| ``j`` / ``k`` | down / up (``channels.down`` / ``channels.up``) |
| ``escape`` / ``q`` | back (``channels.back``) |

Connecting, editing, enabling and removing are for admins; agents see the list.
"""

from __future__ import annotations

from datetime import UTC, datetime

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Static

from engine.channels import adapter_class
from engine.channels.health import health_words
from engine.models import Channel, Event
from tui.screens.admin import require_admin
from tui.screens.base import TickettyScreen, stored_id
from tui.screens.confirm import ConfirmScreen
from tui.text import line
from tui.timefmt import ago
from tui.widgets.key_footer import KeyFooter
from tui.widgets.status_bar import StatusBar

COLUMNS = ["Name", "Kind", "Enabled", "Health", "Last sync", "Today", "Address"]


def health_style(words: str) -> str:
    if words.startswith(("failing", "needs")):
        return "bold red"
    if words == "connected":
        return "green"
    if words == "disabled":
        return "dim"
    return "yellow"


class ChannelsScreen(TickettyScreen):
    SCREEN_KIND = "channels"
    HELP_TITLE = "channels"
    DEFAULT_CSS = """
    ChannelsScreen #channels-title { height: 1; padding: 0 1; background: $panel;
        color: $primary; text-style: bold; }
    ChannelsScreen DataTable { height: 1fr; }
    ChannelsScreen #channels-empty { padding: 1 2; color: $text-muted; }
    """
    BINDINGS = [
        Binding("n", "connect", "Connect", id="channels.connect"),
        Binding("enter,e", "edit", "Edit", id="channels.edit"),
        Binding("space", "toggle_enabled", "Enable/disable", id="channels.toggle"),
        Binding("d", "remove", "Remove", id="channels.remove"),
        Binding("j", "cursor(1)", "Down", show=False, id="channels.down"),
        Binding("k", "cursor(-1)", "Up", show=False, id="channels.up"),
        Binding("escape,q", "back", "Back", id="channels.back"),
    ]

    def __init__(self, select: int | None = None) -> None:
        super().__init__()
        self.channels: list[Channel] = []
        self.select = select
        self.loaded = False

    def compose(self) -> ComposeResult:
        yield Static("Channels", id="channels-title")
        table: DataTable[Text] = DataTable(cursor_type="row", zebra_stripes=True, id="channels")
        table.add_columns(*COLUMNS)
        yield table
        yield Static("", id="channels-empty")
        yield StatusBar(id="status")
        yield KeyFooter()

    @property
    def table(self) -> DataTable[Text]:
        return self.query_one("#channels", DataTable)

    def engine_ready(self) -> None:
        self.table.focus()
        self.reload()

    def engine_event(self, event: Event) -> None:
        if event.kind.startswith("channel.") or event.kind.startswith("ticket."):
            self.reload()

    def reload(self, select: int | None = None) -> None:
        if select is not None:
            self.select = select
        self._load()

    @work(exclusive=True, group="channels-load", exit_on_error=False)
    async def _load(self) -> None:
        store = self.tapp.store
        now = self.tapp.clock()
        midnight = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        channels = await store.channels()
        today = await store.tickets_created_since(midnight.timestamp())
        keep = self.select if self.select is not None else self.current_id()
        self.select = None
        self.channels = channels
        table = self.table
        table.clear()
        for ch in channels:
            table.add_row(*self.row(ch, today.get(ch.id or -1, 0), now), key=str(ch.id))
        self.query_one("#channels-empty", Static).update(
            "" if channels else "No channels yet. Press n to connect one (admins).")
        if keep is not None:
            for i, ch in enumerate(channels):
                if ch.id == keep:
                    table.move_cursor(row=i)
        self.loaded = True

    @staticmethod
    def row(ch: Channel, today: int, now: datetime) -> list[Text]:
        try:
            address = adapter_class(ch.kind).address_of(ch)
        except Exception:  # a channel with broken settings still gets listed
            address = "(settings need fixing)"
        words = health_words(ch.health, ch.enabled)
        sync = ch.health.get("last_sync_at")
        when = ago(datetime.fromtimestamp(sync, UTC), now) if sync else "-"
        return [Text(line(ch.name), "bold"), Text(ch.kind),
                Text("on" if ch.enabled else "off", "green" if ch.enabled else "dim"),
                Text(line(words), health_style(words)), Text(when), Text(str(today)),
                Text(line(address))]

    def current_id(self) -> int | None:
        if not self.channels or self.table.row_count == 0:
            return None
        index = self.table.cursor_row
        return self.channels[index].id if 0 <= index < len(self.channels) else None

    def current(self) -> Channel | None:
        cid = self.current_id()
        return next((c for c in self.channels if c.id == cid), None)

    # ------------------------------------------------------------------ actions
    def action_cursor(self, step: int) -> None:
        self.table.move_cursor(row=self.table.cursor_row + step)

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_connect(self) -> None:
        from tui.screens.wizard import start_wizard

        start_wizard(self.tapp)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        """Enter on a row (the table takes Enter before the screen's binding)."""
        event.stop()
        self.action_edit()

    def action_edit(self) -> None:
        channel = self.current()
        if channel is None or not require_admin(self.tapp, "Editing channels"):
            return
        from tui.screens.channel_edit import ChannelEditScreen

        self.app.push_screen(ChannelEditScreen(channel))

    def action_toggle_enabled(self) -> None:
        channel = self.current()
        if channel is None or not require_admin(self.tapp, "Enabling and disabling channels"):
            return
        self._set_enabled(channel, not channel.enabled)

    @work(group="channels-op", exit_on_error=False)
    async def _set_enabled(self, channel: Channel, enabled: bool) -> None:
        fresh = await self.tapp.store.channel(stored_id(channel.id))
        if fresh is None:
            return
        await self.tapp.store.update_channel(fresh.model_copy(update={"enabled": enabled}))
        self.notify(f"Channel {channel.name!r} {'enabled' if enabled else 'disabled'}"
                    + ("." if enabled else ": it stops receiving; nothing received is lost."),
                    markup=False)
        self.reload(select=channel.id)

    def action_remove(self) -> None:
        channel = self.current()
        if channel is None or not require_admin(self.tapp, "Removing channels"):
            return
        self._remove(channel)

    @work(group="channels-op", exit_on_error=False)
    async def _remove(self, channel: Channel) -> None:
        sure = await self.app.push_screen_wait(ConfirmScreen(
            f"Remove channel {line(channel.name)!r}?",
            "It stops receiving and leaves the list. Its tickets stay.", yes="Remove"))
        if not sure:
            return
        await self.tapp.store.remove_channel(stored_id(channel.id))
        self.notify(f"Channel {channel.name!r} removed; its tickets stay.", markup=False)
        self.reload()
