"""What every ticketty screen shares: engine hooks and the ticket it is about."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from textual.screen import Screen

from engine.models import Event
from engine.store import StoreError
from tui.messages import EngineEvent, EngineReady
from tui.presence import PresenceChanged

if TYPE_CHECKING:
    from engine.store.presence import Presence
    from tui.host import DeskApp


def stored_id(record_id: int | None) -> int:
    """The id of a record read from the store (models leave it None before they are stored)."""
    if record_id is None:
        raise StoreError("that record is not stored yet")
    return record_id


def desk_app(screen: Screen[Any]) -> DeskApp:
    """The app of ``screen`` as screens may use it (:class:`tui.host.DeskApp`)."""
    return cast("DeskApp", screen.app)


class TickettyScreen(Screen[None]):
    """A screen that renders engine state. ``HELP_TITLE`` heads its ``?`` help."""

    HELP_TITLE = "ticketty"

    @property
    def tapp(self) -> DeskApp:
        return desk_app(self)

    def current_ticket_id(self) -> int | None:
        """The ticket commands like ``:assign`` act on (None: there is none here)."""
        return None

    def on_engine_ready(self, message: EngineReady) -> None:
        self.engine_ready()

    def engine_ready(self) -> None:
        """Called once the store is open (or at mount if it already is)."""

    def on_engine_event(self, message: EngineEvent) -> None:
        self.engine_event(message.event)

    def on_presence_changed(self, message: PresenceChanged) -> None:
        from tui.widgets.status_bar import StatusBar

        for bar in self.query(StatusBar):
            bar.refresh()
        self.presence_changed(message.others)

    def presence_changed(self, others: list[Presence]) -> None:
        """Other agents came, went or moved (tui.presence); the status bar is redrawn."""

    def engine_event(self, event: Event) -> None:
        """A change committed anywhere; reload what depends on it."""

    def on_mount(self) -> None:
        if self.tapp.engine_open and self.tapp.agent is not None:
            self.call_later(self.engine_ready)
