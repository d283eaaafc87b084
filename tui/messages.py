"""Messages the app posts to its screens (engine state changes)."""

from __future__ import annotations

from textual.message import Message

from engine.models import Event


class EngineReady(Message):
    """The engine is open and the agent is known: screens may read the store."""


class EngineEvent(Message):
    """A committed change (this process or another) from the store's event log."""

    def __init__(self, event: Event) -> None:
        super().__init__()
        self.event = event


class AgentChanged(Message):
    """The working agent's record changed (e.g. availability)."""
