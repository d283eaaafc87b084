"""Helpers the TUI tests import (fixtures live in conftest.py)."""

from __future__ import annotations

from datetime import UTC
from pathlib import Path

from conftest import NOW, frozen_clock

__all__ = ["NOW", "make_app", "ready", "settle"]


def make_app(db: Path, **kwargs):  # noqa: ANN201 - TickettyApp
    from engine.config import Config
    from tui.app import TickettyApp

    config = kwargs.pop("config", None) or Config()
    return TickettyApp(config, db, agent_email=kwargs.pop("agent_email", "ada@example.com"),
                       clock=frozen_clock, tz=UTC, run_channels=False, **kwargs)


async def ready(pilot) -> None:  # noqa: ANN001
    """Wait until the engine is open and the queue painted rows (no sleeps: poll the app)."""
    app = pilot.app
    for _ in range(500):
        await pilot.pause()
        screen = app.screen
        table = getattr(screen, "table", None)
        if app.engine is not None and table is not None and table.loaded \
                and table.shown_generation == table.generation:
            break
    await app.settle()
    await pilot.pause()


async def settle(pilot) -> None:  # noqa: ANN001
    await pilot.pause()
    await pilot.app.settle()
    await pilot.pause()
