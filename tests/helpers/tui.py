"""Helpers the TUI tests import: the seed's fixed times, the frozen clock, the app and ways to
wait on it without sleeping (the fixtures, and the seed itself, live in tests/tui/conftest.py).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from textual.pilot import Pilot
    from textual.widget import Widget

    from tui.app import TickettyApp


__all__ = ["BASE", "NOW", "TRICKY_SUBJECT", "frozen_clock", "make_app", "notifications", "pick",
           "press_text", "ready", "settle", "type_text", "widget_text"]

BASE = datetime(2025, 3, 4, 12, 0, tzinfo=UTC)
NOW = BASE + timedelta(hours=1)
TRICKY_SUBJECT = "[bold]Invoice[/bold] \x1b[31mred alert\x1b[0m"


def frozen_clock() -> datetime:
    return NOW


def make_app(db: Path, **kwargs: Any) -> TickettyApp:
    from engine.config import Config, EngineConfig
    from tui.app import TickettyApp

    config = kwargs.pop("config", None) or Config(engine=EngineConfig(http_port=0))
    return TickettyApp(config, db, agent_email=kwargs.pop("agent_email", "ada@example.com"),
                       clock=frozen_clock, tz=UTC, run_channels=False, **kwargs)


def _screen_ready(screen: Any) -> bool:
    if hasattr(screen, "ctx"):
        return screen.ctx is not None
    table = getattr(screen, "table", None)
    if table is not None:
        return table.loaded and table.shown_generation == table.generation
    return True


async def ready(pilot: Pilot[Any]) -> None:
    """Wait until the engine is open and the queue painted rows (no sleeps: poll the app)."""
    app = pilot.app
    for _ in range(500):
        await pilot.pause()
        if app.engine is not None and _screen_ready(app.screen):
            break
    await app.settle()
    await pilot.pause()


async def settle(pilot: Pilot[Any]) -> None:
    await pilot.pause()
    await pilot.app.settle()
    await pilot.pause()


async def type_text(pilot: Pilot[Any], text: str) -> None:
    """Type into the focused Input/TextArea in one go (typing key by key is slow in Pilot)."""
    from textual.widgets import Input, TextArea

    focused = pilot.app.focused
    if isinstance(focused, Input):
        focused.insert_text_at_cursor(text)
        await pilot.pause()
        return
    if isinstance(focused, TextArea):
        focused.insert(text)
        await pilot.pause()
        return
    await press_text(pilot, text)


async def press_text(pilot: Pilot[Any], text: str) -> None:
    """Type key by key."""
    keys = {" ": "space", ":": "colon", "/": "slash", "?": "question_mark", "@": "at",
            ".": "full_stop", "-": "minus", "#": "number_sign", ",": "comma"}
    await pilot.press(*[keys.get(ch, ch) for ch in text])


def notifications(app: Any) -> list[str]:
    return [str(n.message) for n in app._notifications]


def widget_text(widget: Widget) -> str:
    """What a widget shows right now, as plain text lines."""
    from textual.geometry import Region

    strips = widget.render_lines(Region(0, 0, widget.size.width, widget.size.height))
    return "\n".join(strip.text.rstrip() for strip in strips)


async def pick(pilot: Pilot[Any], text: str) -> None:
    """In the open picker: filter by ``text`` and choose the first match."""
    pilot.app.screen.query_one("#picker-filter").value = text
    await pilot.pause()
    await pilot.press("enter")
    await settle(pilot)
