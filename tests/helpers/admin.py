"""Helpers of the admin TUI tests (fixtures live in tests/tui_admin/conftest.py)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

BASE = datetime(2025, 3, 4, 9, 0, tzinfo=UTC)
NOW = BASE + timedelta(hours=4)
SIZE = (120, 44)


def frozen_clock() -> datetime:
    return NOW


def make_app(db: Path, *, agent: str = "ada@example.com", run_channels: bool = False) -> Any:
    from engine.config import Config, EngineConfig
    from tui.app import TickettyApp

    # an app running the channels opens the web front door: never on the real port 8780
    return TickettyApp(Config(engine=EngineConfig(http_port=0)), db, agent_email=agent,
                       clock=frozen_clock, tz=UTC, run_channels=run_channels)


async def until(pilot: Any, predicate: Callable[[], Any], what: str = "",
                limit: float = 15.0) -> None:
    """Let the app run until ``predicate()`` holds (workers first, then a short pause)."""
    import asyncio
    import time

    app = pilot.app
    deadline = time.monotonic() + limit
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or predicate}")
        busy = [w for w in app.workers if w.group not in ("engine", "events", "wizard")
                and not w.is_finished]
        tasks = [w._task for w in busy if w._task is not None]
        if tasks:  # a worker waiting on a dialog never ends: wait a little (never cancel it)
            await asyncio.wait(tasks, timeout=0.2, return_when=asyncio.FIRST_COMPLETED)
        await pilot.pause(0.02)


async def started(pilot: Any) -> None:
    app = pilot.app
    await until(pilot, lambda: app.engine is not None and app.agent is not None, "the engine")
    await pilot.pause()


def notifications(app: Any) -> list[str]:
    return [str(n.message) for n in app._notifications]


async def push_step(pilot: Any, step: type, values: dict[str, Any], *, name: str = "helpdesk",
                    extra: dict[str, Any] | None = None) -> Any:
    """Open one step of the email wizard directly (snapshots of a single step), numbered as
    the wizard would number it given ``values`` and ``extra``."""
    from tui.screens.wizard.email import EmailWizard

    app = pilot.app
    wizard = EmailWizard(app)
    await wizard.load()
    wizard.name = name
    wizard.values.update(values)
    wizard.extra.update(extra or {})
    active = wizard.active_steps()
    number = active.index(step) + 1 if step in active else 1
    await app.push_screen(step(wizard, number, len(active)))
    await pilot.pause()
    return wizard


async def run_command(pilot: Any, text: str, *, typed: bool = False) -> None:
    """Run a ``:`` command: typed key by key into the command line, or (faster) directly."""
    if not typed:
        pilot.app.execute(text)
        await pilot.pause()
        return
    keys = {" ": "space", ":": "colon", "/": "slash", "@": "at", ".": "full_stop",
            "-": "minus", ",": "comma"}
    await pilot.press("colon", *[keys.get(ch, ch) for ch in text], "enter")
    await pilot.pause()


def choose(screen: Any, radio_id: str, name: str) -> None:
    """Press the radio button ``name`` of the RadioSet ``radio_id``."""
    radio = screen.query_one(f"#{radio_id}")
    for button in radio.query("RadioButton"):
        if button.name == name:
            button.value = True


async def next_step(pilot: Any, expected: type) -> Any:
    """Press Next (ctrl+n) and wait for the step ``expected``."""
    await pilot.press("ctrl+n")
    await until(pilot, lambda: isinstance(pilot.app.screen, expected), expected.__name__)
    await pilot.pause()
    return pilot.app.screen


async def open_email_wizard(pilot: Any, provider: str, name: str = "helpdesk",
                            address: str = "help@acme.test") -> Any:
    """``:connect email`` with step 1 answered (provider, name, address); returns step 1."""
    from tui.screens.wizard.email import MailboxStep

    app = pilot.app
    await run_command(pilot, "connect email")
    await until(pilot, lambda: isinstance(app.screen, MailboxStep), "step 1")
    step = app.screen
    choose(step, "provider", provider)
    step.query_one("#name-form").set_value("name", name)
    step.query_one("#mailbox-form").set_value("address", address)
    return step
