"""The ``:`` commands of the admin part: ``:connect``, ``:agents``, ``:teams``,
``:pipelines``, ``:canned``, ``:quarantine``, ``:workspace``. The app adds
:func:`admin_commands` to its command table when it is built (:class:`tui.app.TickettyApp`)."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from tui.commands import Command
from tui.screens.admin import require_admin

if TYPE_CHECKING:
    from textual.screen import Screen

    from tui.host import DeskApp

#: command → (screen "module:Class", what the admins-only message says, its help)
SCREENS: dict[str, tuple[str, str, str]] = {
    "agents": ("tui.screens.admin.agents:AgentsScreen", "Managing agents",
               "Agents: roles, seats, skills, teams, hours (admins)"),
    "teams": ("tui.screens.admin.teams:TeamsScreen", "Managing teams",
              "Teams and their members (admins)"),
    "pipelines": ("tui.screens.admin.pipelines:PipelinesScreen", "Managing pipelines",
                  "Pipelines and statuses (admins)"),
    "canned": ("tui.screens.admin.canned:CannedScreen", "Managing canned replies",
               "Canned replies (admins)"),
    "quarantine": ("tui.screens.admin.quarantine:QuarantineScreen", "The quarantine",
                   "Input that could not be ingested: show, retry, delete (admins)"),
}


def open_admin_screen(app: DeskApp, name: str) -> None:
    """Push an admin screen by command name — admins only (each is imported when opened)."""
    target, what, _ = SCREENS[name]
    if not require_admin(app, what):
        return
    module, _, cls = target.partition(":")
    screen: type[Screen[Any]] = getattr(importlib.import_module(module), cls)
    app.push_screen(screen())


def connect(app: DeskApp, args: list[str]) -> None:
    from tui.screens.wizard import start_wizard

    start_wizard(app, args[0].lower() if args else None)


def _opener(name: str) -> Callable[[DeskApp, list[str]], None]:
    def run(app: DeskApp, args: list[str]) -> None:
        open_admin_screen(app, name)

    return run


def admin_commands() -> list[Command]:
    """The admin part's commands, for the app's command table."""
    from tui.screens.admin.workspace import open_workspace

    out = [Command("connect", "connect <email>", "Connect a channel with a wizard (admins)",
                   connect),
           Command("workspace", "workspace", "Workspace settings: assign on reply … (admins)",
                   open_workspace)]
    for name, (_, _, help_text) in SCREENS.items():
        out.append(Command(name, name, help_text, _opener(name)))
    return out
