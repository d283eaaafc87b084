"""A live conversation on the ticket screen (website chat): "● visitor online", "typing…",
and telling the visitor that the agent is typing.

The engine says who is online and who types with events (``chat.presence``, ``chat.typing``,
see :mod:`engine.channels.chat`); this keeps the latest of them for one ticket and renders
them for the header. Typing marks fade after :data:`TYPING_FADES` seconds without news, and
the agent's own typing is signalled at most every :data:`TYPING_EVERY` seconds.
"""

from __future__ import annotations

import time

from rich.text import Text

from engine.models import Event

TYPING_FADES = 6.0
TYPING_EVERY = 2.0


class ChatLive:
    """The live state of one chat ticket."""

    def __init__(self) -> None:
        self.online: bool | None = None
        self.typing_at: float = 0.0
        self.sent_typing_at: float = 0.0

    def take(self, event: Event) -> bool:
        """Take a ``chat.*`` event in; True when it was one (the header needs repainting)."""
        if event.kind == "chat.presence":
            self.online = bool(event.data.get("online"))
            if not self.online:
                self.typing_at = 0.0
            return True
        if event.kind == "chat.typing":
            if event.data.get("who") == "visitor":
                self.typing_at = time.monotonic() if event.data.get("on") else 0.0
                self.online = True
            return True
        return False

    @property
    def typing(self) -> bool:
        return bool(self.typing_at) and time.monotonic() - self.typing_at < TYPING_FADES

    def header(self) -> Text:
        """`` ● visitor online · typing…`` (or offline), for the title line."""
        text = Text()
        if self.online:
            text.append("  ● visitor online", "bold green")
        elif self.online is False:
            text.append("  ○ visitor offline", "dim")
        if self.typing:
            text.append(" · typing…", "italic")
        return text

    def should_signal_typing(self) -> bool:
        """Whether the agent's keystroke now should tell the visitor (throttled)."""
        now = time.monotonic()
        if now - self.sent_typing_at < TYPING_EVERY:
            return False
        self.sent_typing_at = now
        return True
