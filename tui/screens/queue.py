"""The queue screen (the first screen): views with counts, the virtual ticket table, search.

| key | action (binding id) |
|---|---|
| ``enter`` | open the ticket (``ticket.open``) |
| ``tab`` / ``shift+tab`` | next / previous view (``queue.next_view`` / ``queue.previous_view``) |
| ``1``…``9`` | view by number (``queue.view_1``…) |
| ``/`` | search: words + ``status:`` ``channel:`` ``assignee:`` ``priority:`` (``queue.search``) |
| ``escape`` | clear the search (``queue.clear_search``) |
| ``o`` | sort: activity → created → priority (``queue.sort``) |
| ``n`` / ``N`` | next / previous unread ticket (``queue.next_unread`` / ``queue.previous_unread``) |
| ``a`` / ``A`` | assign the ticket under the cursor / take it (``ticket.assign`` / ``ticket.take``) |
| ``c`` | close it at once; ``u`` (app-wide ``app.undo``) takes it back for 10 s (``ticket.close``) |
| ``q`` | quit (``queue.quit``) |

A ticket another agent has open shows their initial in the mark column (tui.presence).

The table's own keys (``queue.down`` …) are in :mod:`tui.widgets.ticket_table`; ``a``, ``A``
and ``c`` are shared with the ticket screen (:mod:`tui.screens.ticket_actions`).
"""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Input, Label, Static

from engine.models import Agent, Channel, Event, Ticket
from engine.presence import open_tickets
from engine.store import StoreError, TicketQuery
from engine.store.presence import Presence
from tui import search
from tui.queue_model import (
    BASE_VIEWS,
    View,
    checked_sort,
    named_view,
    next_sort,
    next_unread,
    numbered_view,
    position,
    step_view,
    view_query,
    views_for,
)
from tui.screens.ticket_actions import ASSIGN, CLOSE, TAKE, TicketActions
from tui.text import line
from tui.widgets.key_footer import KeyFooter
from tui.widgets.status_bar import StatusBar
from tui.widgets.ticket_table import TicketTable
from tui.widgets.view_bar import ViewBar

TICKET_KINDS = ("ticket.", "message.added", "message.delivery")


class QueueScreen(TicketActions):
    SCREEN_KIND = "queue"
    HELP_TITLE = "queue"
    DEFAULT_CSS = """
    QueueScreen #search-row { height: 1; background: $panel; }
    QueueScreen #search-row Label { width: 2; color: $accent; text-style: bold; }
    QueueScreen #search-row Input { border: none; height: 1; padding: 0; width: 1fr;
        background: $panel; }
    QueueScreen #filter-line { height: 1; color: $accent; background: $surface; }
    """
    BINDINGS = [
        Binding("slash", "search", "Search", id="queue.search",
                tooltip="Search: words and status: channel: assignee: priority:"),
        Binding("escape", "clear_search", "Clear search", show=False, id="queue.clear_search",
                tooltip="Clear the search"),
        Binding("tab", "next_view", "Next view", id="queue.next_view",
                tooltip="Next view"),
        Binding("shift+tab", "previous_view", "Previous view", show=False,
                id="queue.previous_view"),
        *[Binding(str(n), f"view_number({n})", f"View {n}", show=False, id=f"queue.view_{n}")
          for n in range(1, 10)],
        Binding("o", "sort", "Sort", id="queue.sort",
                tooltip="Sort by activity, created or priority"),
        Binding("n", "unread(1)", "Next unread", show=False, id="queue.next_unread",
                tooltip="Next unread ticket"),
        Binding("N", "unread(-1)", "Previous unread", show=False, id="queue.previous_unread",
                tooltip="Previous unread ticket"),
        ASSIGN,
        TAKE,
        CLOSE,
        Binding("q", "app.quit", "Quit", id="queue.quit",
                tooltip="Quit ticketty (from the queue; ctrl+q from anywhere)"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.views: list[View] = list(BASE_VIEWS)
        self.view_key = "open"
        self.sort = "activity"
        self.search = search.Search()
        self.channels: list[Channel] = []
        self.agents: list[Agent] = []
        self.statuses: list[str] = []  # every pipeline's status names, for search's status:
        self._counts_loading = False
        self._counts_dirty = False
        self._reload_scheduled = False  # a reload for the events just posted is on its way
        self._ready = False
        self._opened: int | None = None  # the ticket Enter opened (Esc comes back to it)

    def compose(self) -> ComposeResult:
        yield ViewBar(id="views")
        with Horizontal(id="search-row", classes="hidden"):
            yield Label("/")
            yield Input(placeholder="words status:open channel:NAME assignee:me|EMAIL|none "
                        "priority:high", id="search")
        yield Static(Text(""), id="filter-line", classes="hidden")
        yield TicketTable(clock=self.tapp.clock, id="tickets")
        yield StatusBar(id="status")
        yield KeyFooter()

    @property
    def table(self) -> TicketTable:
        return self.query_one(TicketTable)

    @property
    def dirty(self) -> bool:
        return self.table.busy or self._counts_loading or self._counts_dirty

    def current_ticket_id(self) -> int | None:
        ticket = self.table.current_ticket
        return ticket.id if ticket else None

    def acted_ticket(self) -> Ticket | None:
        return self.table.current_ticket

    def help_views(self) -> list[str]:
        """The views' names, in number order, for ``?``."""
        return [line(v.title) for v in self.views]

    # ---------------------------------------------------------------- loading
    def engine_ready(self) -> None:
        if self._ready:
            return
        self._ready = True
        self.table.set_open_by(open_tickets(self.tapp.others()))
        self.table.focus()
        self.load_table()
        self.run_worker(self._load_directory(), group="queue-directory", exclusive=True,
                        exit_on_error=False)

    async def _load_directory(self) -> None:
        self.channels = await self.tapp.store.channels()
        self.agents = await self.tapp.store.agents()
        self.statuses = list(dict.fromkeys(
            s.name for p in await self.tapp.store.pipelines() for s in p.statuses))
        self.views = views_for(self.channels)
        self.query_one(ViewBar).views = self.views
        if self.table.painted.is_set():
            self.request_counts()
        # else: counts wait for the first rows (``_painted``) — one reader connection serves
        # both, and the rows are what the agent is waiting for

    def base_query(self) -> TicketQuery:
        agent = self.tapp.agent
        return view_query(self.views, self.view_key, agent.id if agent else None, self.sort)

    def query_for(self, text: search.Search) -> TicketQuery:
        return search.apply(self.base_query(), text, channels=self.channels, agents=self.agents,
                            me=self.tapp.agent, statuses=self.statuses)

    def load_table(self, *, keep: bool = False) -> None:
        table = self.table
        table.empty_text = ("No tickets match this search — Esc clears it." if not
                            self.search.empty else "No tickets in this view — Tab switches views.")
        current = table.current_ticket
        table.load(self.tapp.store, self.query_for(self.search),
                   keep=current.id if keep and current else None)
        self.query_one(ViewBar).active = self.view_key
        self._update_filter_line()

    def request_counts(self) -> None:
        if self._counts_loading:
            self._counts_dirty = True
            return
        self._counts_loading = True
        self.run_worker(self._load_counts(), group="queue-counts", exit_on_error=False)

    async def _load_counts(self) -> None:
        try:
            agent = self.tapp.agent
            counts = await self.tapp.store.view_counts(agent.id if agent else None)
            self.query_one(ViewBar).counts = counts
        finally:
            self._counts_loading = False
            if self._counts_dirty:
                self._counts_dirty = False
                self.request_counts()

    def engine_event(self, event: Event) -> None:
        if not self._ready:
            return
        if event.kind.startswith(TICKET_KINDS):
            # one commit brings several events (a new ticket: ticket.created, message.added,
            # ticket.assigned), posted back to back: read the queue once for all of them
            if not self._reload_scheduled:
                self._reload_scheduled = True
                self.call_later(self._reload_for_events)
        elif event.kind.startswith(("channel.", "agent.", "pipeline.")) and event.kind != "channel.health":
            self.run_worker(self._load_directory(), group="queue-directory", exclusive=True,
                            exit_on_error=False)

    def _reload_for_events(self) -> None:
        self._reload_scheduled = False
        self.table.request_reload()
        self.request_counts()

    def presence_changed(self, others: list[Presence]) -> None:
        if self._ready:
            self.table.set_open_by(open_tickets(others))

    @on(TicketTable.RowsPainted)
    def _painted(self, message: TicketTable.RowsPainted) -> None:
        self.tapp.rows_painted()
        if not self.query_one(ViewBar).counts:
            self.request_counts()

    @on(TicketTable.Highlighted)
    def _highlighted(self, message: TicketTable.Highlighted) -> None:
        self._update_status()

    def _update_status(self) -> None:
        table = self.table
        self.query_one(StatusBar).info = f"{position(table.cursor, table.total)} · sort: {self.sort}"

    def _update_filter_line(self) -> None:
        bar = self.query_one("#filter-line", Static)
        if self.search.empty:
            bar.add_class("hidden")
            return
        text = Text(" search: ")
        text.append(line(self.query_one("#search", Input).value), "bold")
        text.append("   (/ edit · esc clear)", "dim")
        bar.update(text)
        bar.remove_class("hidden")

    # ------------------------------------------------------------------ views
    def switch_view(self, key: str) -> None:
        self.view_key = key
        self.load_table()

    def action_next_view(self) -> None:
        self._step_view(1)

    def action_previous_view(self) -> None:
        self._step_view(-1)

    def _step_view(self, step: int) -> None:
        self.switch_view(step_view(self.views, self.view_key, step))

    def action_view_number(self, number: int) -> None:
        key = numbered_view(self.views, number)
        if key is not None:
            self.switch_view(key)

    def action_sort(self) -> None:
        self.sort = next_sort(self.sort)
        self.load_table()
        self.notify(f"sorted by {self.sort}", timeout=1.5)

    def action_unread(self, step: int) -> None:
        table = self.table
        index = next_unread(table.loaded_rows(), table.cursor, forward=step > 0)
        if index is not None:
            table.move_to(index)
            return
        self.notify("no more unread tickets here", timeout=1.5)

    # ----------------------------------------------------------------- search
    def action_search(self) -> None:
        self.query_one("#search-row").remove_class("hidden")
        self.query_one("#search", Input).focus()

    @on(Input.Submitted, "#search")
    def _search_submitted(self, event: Input.Submitted) -> None:
        self.apply_search(event.value)

    def apply_search(self, text: str) -> None:
        box = self.query_one("#search", Input)
        box.value = text
        parsed = search.parse(text)
        try:
            self.query_for(parsed)
        except StoreError as exc:
            self.notify(str(exc), severity="error", markup=False)
            return
        self.search = parsed
        self.query_one("#search-row").add_class("hidden")
        self.table.focus()
        self.load_table()

    def action_clear_search(self) -> None:
        self.query_one("#search-row").add_class("hidden")
        self.query_one("#search", Input).value = ""
        self.table.focus()
        if not self.search.empty:
            self.search = search.Search()
            self.load_table()

    # ------------------------------------------------------------- ticket ops
    @on(TicketTable.Opened)
    def _open(self, message: TicketTable.Opened) -> None:
        self._opened = message.ticket.id
        self.tapp.open_ticket(message.ticket.id)

    def on_screen_resume(self) -> None:
        """Back from a ticket opened here: the cursor is on that ticket's row, even if it left
        the view and came back meanwhile (closed, then the close undone)."""
        opened, self._opened = self._opened, None
        current = self.table.current_ticket
        if opened is not None and self._ready and (current is None or current.id != opened):
            self.table.load(self.tapp.store, self.table.requested_query, keep=opened,
                            cursor=self.table.cursor)

    def ticket_restored(self, ticket_id: int) -> None:
        """An undone close brought ``ticket_id`` back: the cursor goes back to it."""
        self.table.load(self.tapp.store, self.table.requested_query, keep=ticket_id,
                        cursor=self.table.cursor)

    # ------------------------------------------------------------- : commands
    def command_view(self, arg: str) -> None:
        self.switch_view(named_view(self.views, arg))

    def command_search(self, arg: str) -> None:
        if arg.strip():
            self.apply_search(arg)
        else:
            self.action_clear_search()

    def command_sort(self, arg: str) -> None:
        self.sort = checked_sort(arg)
        self.load_table()
