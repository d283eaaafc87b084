"""What the screens may use of the app: the :class:`DeskApp` protocol.

Screens, widgets, pickers, wizards and ``:`` commands depend on this small interface, never on
:class:`tui.app.TickettyApp` (which implements it), so ``tui.app`` imports them and none of them
imports ``tui.app`` back (an import-linter contract in pyproject.toml keeps it so). A screen
reaches it as ``self.tapp`` (:class:`tui.screens.base.TickettyScreen`); Textual's own ``App``
API (``pop_screen``, ``get_key_display`` …) stays on ``self.app``.

The interface has three parts: who works and when (agent, identity, clock, time zone, the
store and desk they act through), the ticket actions every key, ``:`` command and palette
entry ends in (``op_*``, each a Desk call in a worker), and the few parts of Textual's ``App``
that the functions outside a screen (pickers, commands, wizards) call on it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine, Sequence
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

if TYPE_CHECKING:
    from pathlib import Path

    from textual.notifications import SeverityLevel
    from textual.screen import Screen
    from textual.theme import Theme
    from textual.worker import Worker

    from engine.desk import Desk
    from engine.identity import Identity
    from engine.models import Agent
    from engine.presence import PresenceSession
    from engine.store import Store
    from engine.store.presence import Presence
    from tui.commands import Command

T = TypeVar("T")


class DeskApp(Protocol):
    """The app as the screens see it (see the module docstring)."""

    # ------------------------------------------------------------ who and when
    agent: Agent | None
    """The agent this session works as (None until the engine is open)."""
    identity: Identity | None
    presence: PresenceSession | None
    """This session's presence (None until the engine is open): ``session`` is its id."""
    via: str
    clock: Callable[[], datetime]
    tz: tzinfo | None
    theme: str

    @property
    def store(self) -> Store:
        """The store (while an admin acts on behalf of another agent, a wrapper that records
        the admin in every event it writes)."""

    @property
    def desk(self) -> Desk:
        """Agent actions as the working agent."""

    @property
    def engine_open(self) -> bool:
        """Whether the engine is open (the store can be read)."""

    @property
    def commands(self) -> Sequence[Command]:
        """The ``:`` commands of this app, admin ones included (assembled when it was built)."""

    @property
    def available_themes(self) -> dict[str, Theme]: ...

    # ----------------------------------------------------------- ticket actions
    def desk_call(self, call: Callable[[Desk], Awaitable[Any]],
                  done: str | None = None) -> Worker[Any]: ...
    def op_assign(self, ticket_id: int, email: str | None, team: str | None = None, *,
                  expected: int | None = -1) -> Worker[Any]:
        """Assign; ``expected`` (not -1): only while the assignee id is still that."""
    def op_status(self, ticket_id: int, status: str) -> Worker[Any]: ...
    def op_priority(self, ticket_id: int, priority: str) -> Worker[Any]: ...
    def op_pipeline(self, ticket_id: int, pipeline: str) -> Worker[Any]: ...
    def op_close(self, ticket_id: int) -> Worker[Any]: ...
    def op_reopen(self, ticket_id: int) -> Worker[Any]: ...
    def op_note(self, ticket_id: int, body: str) -> Worker[Any]: ...
    def op_reply(self, ticket_id: int, body: str, status: str | None = None,
                 attachments: Sequence[Path] = ()) -> Worker[Any]: ...
    def op_retry(self, message_id: int) -> Worker[Any]: ...
    def op_contact_owner(self, contact_id: int, email: str | None) -> Worker[Any]: ...
    def op_availability(self, availability: str) -> Worker[Any]: ...

    # --------------------------------------------------------------- presence
    def place(self, ticket_id: int | None, state: str = "viewing") -> None:
        """Publish where this session is (a ticket and viewing/replying; None: the queue)."""
    def others(self) -> list[Presence]:
        """The other live sessions (tui.presence renders them)."""

    # ------------------------------------------------------------- navigation
    def open_ticket(self, ticket_id: int) -> None: ...
    def base_screen(self) -> Screen[Any]:
        """The top ticketty screen (under any modal, picker or palette)."""
    def current_ticket_id(self) -> int | None: ...
    def execute(self, text: str) -> None:
        """Run a ``:`` command line in a worker."""
    def action_command_line_with(self, prefill: str) -> None: ...
    def action_help(self) -> None: ...
    def action_channels(self) -> None: ...
    async def action_quit(self) -> None: ...
    def rows_painted(self) -> None:
        """The queue painted its first real rows (start-up is over)."""
    def key_for(self, binding_id: str, default: str) -> str:
        """How the key bound to ``binding_id`` reads now: the config's keymap, else
        ``default`` (the binding's own keys); the first key, as Textual displays it ("" when
        there is none)."""

    # ------------------------------------------------ Textual's App, as used here
    def notify(self, message: str, *, title: str = "", severity: SeverityLevel = "information",
               timeout: float | None = None, markup: bool = True) -> None: ...
    def push_screen(self, screen: Screen[Any],
                    callback: Callable[[Any], None] | None = None) -> Any: ...
    async def push_screen_wait(self, screen: Screen[T]) -> T: ...
    def run_worker(self, work: Coroutine[Any, Any, T], name: str | None = "",
                   group: str = "default", description: str = "", exit_on_error: bool = True,
                   start: bool = True, exclusive: bool = False,
                   thread: bool = False) -> Worker[T]: ...
    def call_later(self, callback: Callable[..., Any], *args: Any, **kwargs: Any) -> bool: ...
    def search_themes(self) -> None: ...
    @property
    def screen(self) -> Screen[object]:
        """The screen in front."""
