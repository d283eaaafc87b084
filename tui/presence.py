"""Presence in the TUI: who else is here, shown where the agent looks.

The app keeps one :class:`engine.presence.PresenceSession` and posts :class:`PresenceChanged`
to every screen when the list of other sessions changes. What each place shows:

- the ticket screen's header: "Sam Lee is viewing" / "Sam Lee is replying…" (:func:`header`);
- the queue: a letter in the mark column on tickets another agent has open;
- the status bar: "online: Sam, Bob";
- ``:who`` (:class:`WhoScreen`): every agent, their availability and what they have open.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Static

from engine.presence import on_ticket
from engine.store.presence import Presence
from tui.text import line

if TYPE_CHECKING:
    from textual.screen import Screen

    from engine.models import Agent
    from engine.presence import PresenceSession
    from engine.store import Store


class PresenceChanged(Message):
    """The other sessions changed (someone came, went, opened or started replying)."""

    def __init__(self, others: list[Presence]) -> None:
        super().__init__()
        self.others = others


def header(others: list[Presence], ticket_id: int) -> Text:
    """"Sam Lee is viewing · Bob is replying…" for the sessions on ``ticket_id`` (empty: none)."""
    out = Text()
    seen: set[str] = set()
    for p in on_ticket(others, ticket_id):
        if p.agent_email in seen:
            continue
        seen.add(p.agent_email)
        if out:
            out.append(" · ")
        replying = p.state == "replying"
        out.append(line(p.agent_name), "bold")
        out.append(" is replying…" if replying else " is viewing")
    return out


def who_lines(agents: list[Agent], everyone: list[Presence], subjects: dict[int, str],
              me_session: str | None) -> Text:
    """``:who``: one line per agent — online or not, availability, what they have open."""
    out = Text()
    for agent in sorted(agents, key=lambda a: (a.name.lower(), a.email)):
        sessions = [p for p in everyone if p.agent_id == agent.id]
        state = agent.availability.value
        out.append("● " if sessions else "○ ", "green" if sessions else "dim")
        out.append(line(agent.name), "bold")
        out.append(f" <{agent.email}> · {state}")
        if not sessions:
            out.append(" · offline", "dim")
        for p in sessions:
            you = " (this session)" if p.session == me_session else ""
            if p.ticket_id is None:
                where = "on the queue"
            else:
                doing = "replying on" if p.state == "replying" else "viewing"
                where = f"{doing} #{p.ticket_id} {line(subjects.get(p.ticket_id, ''))}".rstrip()
            out.append(f"\n    {where} · via {p.via}{you}", "dim" if you else "")
        out.append("\n")
    return out


class PresenceHost:
    """The app's side (mixed into :class:`tui.app.TickettyApp`): start this session's
    :class:`~engine.presence.PresenceSession` once the agent is known, pass changes to every
    screen as :class:`PresenceChanged`, and answer ``place`` / ``others`` for the screens."""

    presence: PresenceSession | None
    via: str
    agent: Agent | None
    screen_stack: list[Screen[Any]]

    async def _start_presence(self, store: Store) -> None:
        """Publish this session's presence and follow everyone else's (tui.presence)."""
        from engine.presence import PresenceSession

        if self.agent is None or self.agent.id is None:
            return
        self.presence = PresenceSession(store, self.agent.id, via=self.via,
                                        on_change=self._presence_changed)
        await self.presence.start()

    def _presence_changed(self, others: list[Presence]) -> None:
        for screen in self.screen_stack:
            screen.post_message(PresenceChanged(others))

    def place(self, ticket_id: int | None, state: str = "viewing") -> None:
        """Where this session is: the ticket open (None: the queue), viewing or replying."""
        if self.presence is not None:
            self.presence.place(ticket_id, state)

    def others(self) -> list[Presence]:
        """The other live sessions (empty before the engine is open)."""
        return self.presence.others if self.presence is not None else []


class WhoScreen(ModalScreen[None]):
    """``:who``: the team at a glance (``escape``/``q`` closes it)."""

    DEFAULT_CSS = """
    WhoScreen { align: center middle; }
    WhoScreen > VerticalScroll { width: 90%; max-width: 110; height: auto; max-height: 80%;
        border: round $primary; background: $surface; padding: 0 1; }
    """
    BINDINGS = [Binding("escape,q", "dismiss", "Close", id="who.close")]

    def __init__(self, body: Text) -> None:
        super().__init__()
        self.body = body

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(Text("Who is here", "bold"))
            yield Static(self.body, id="who-body")
