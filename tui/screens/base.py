"""What every ticketty screen shares: engine hooks and the ticket it is about."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.screen import Screen

from tui.messages import EngineEvent, EngineReady

if TYPE_CHECKING:
    from tui.app import TickettyApp


class TickettyScreen(Screen):
    """A screen that renders engine state. ``HELP_TITLE`` heads its ``?`` help."""

    HELP_TITLE = "ticketty"

    @property
    def tapp(self) -> TickettyApp:
        return self.app  # type: ignore[return-value]

    def current_ticket_id(self) -> int | None:
        """The ticket commands like ``:assign`` act on (None: there is none here)."""
        return None

    def on_engine_ready(self, message: EngineReady) -> None:
        self.engine_ready()

    def engine_ready(self) -> None:
        """Called once the store is open (or at mount if it already is)."""

    def on_engine_event(self, message: EngineEvent) -> None:
        self.engine_event(message.event)

    def engine_event(self, event) -> None:  # noqa: ANN001 - engine.models.Event
        """A change committed anywhere; reload what depends on it."""

    def on_mount(self) -> None:
        if self.tapp.engine is not None and self.tapp.agent is not None:
            self.call_later(self.engine_ready)
