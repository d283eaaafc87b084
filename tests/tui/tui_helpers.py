"""Helpers the TUI tests import (fixtures live in conftest.py)."""

from __future__ import annotations

from datetime import UTC
from pathlib import Path

from conftest import NOW, frozen_clock

__all__ = ["NOW", "make_app", "notifications", "pick", "press_text", "ready", "settle",
           "type_text", "widget_text"]


def make_app(db: Path, **kwargs):  # noqa: ANN201 - TickettyApp
    from engine.config import Config, EngineConfig
    from tui.app import TickettyApp

    config = kwargs.pop("config", None) or Config(engine=EngineConfig(http_port=0))
    return TickettyApp(config, db, agent_email=kwargs.pop("agent_email", "ada@example.com"),
                       clock=frozen_clock, tz=UTC, run_channels=False, **kwargs)


def _screen_ready(screen) -> bool:  # noqa: ANN001
    if hasattr(screen, "ctx"):
        return screen.ctx is not None
    table = getattr(screen, "table", None)
    if table is not None:
        return table.loaded and table.shown_generation == table.generation
    return True


async def ready(pilot) -> None:  # noqa: ANN001
    """Wait until the engine is open and the queue painted rows (no sleeps: poll the app)."""
    app = pilot.app
    for _ in range(500):
        await pilot.pause()
        if app.engine is not None and _screen_ready(app.screen):
            break
    await app.settle()
    await pilot.pause()


async def settle(pilot) -> None:  # noqa: ANN001
    await pilot.pause()
    await pilot.app.settle()
    await pilot.pause()


async def type_text(pilot, text: str) -> None:  # noqa: ANN001
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


async def press_text(pilot, text: str) -> None:  # noqa: ANN001
    """Type key by key."""
    keys = {" ": "space", ":": "colon", "/": "slash", "?": "question_mark", "@": "at",
            ".": "full_stop", "-": "minus", "#": "number_sign", ",": "comma"}
    await pilot.press(*[keys.get(ch, ch) for ch in text])


def notifications(app) -> list[str]:  # noqa: ANN001
    return [str(n.message) for n in app._notifications]


def widget_text(widget) -> str:  # noqa: ANN001
    """What a widget shows right now, as plain text lines."""
    from textual.geometry import Region

    strips = widget.render_lines(Region(0, 0, widget.size.width, widget.size.height))
    return "\n".join(strip.text.rstrip() for strip in strips)


async def pick(pilot, text: str) -> None:  # noqa: ANN001
    """In the open picker: filter by ``text`` and choose the first match."""
    pilot.app.screen.query_one("#picker-filter").value = text
    await pilot.pause()
    await pilot.press("enter")
    await settle(pilot)
