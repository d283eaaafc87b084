"""The ``:`` commands of the admin part: ``:connect``, ``:agents``, ``:teams``,
``:pipelines``, ``:canned``, ``:quarantine``, ``:workspace``. :func:`admin_commands` builds them for :mod:`tui.commands`
(``Command`` is imported when called, so either module may be imported first)."""

from __future__ import annotations

import importlib
from typing import Any

from tui.screens.admin import require_admin

#: command → (screen "module:Class", what the admins-only message says)
SCREENS: dict[str, tuple[str, str]] = {
    "agents": ("tui.screens.admin.agents:AgentsScreen", "Managing agents"),
    "teams": ("tui.screens.admin.teams:TeamsScreen", "Managing teams"),
    "pipelines": ("tui.screens.admin.pipelines:PipelinesScreen", "Managing pipelines"),
    "canned": ("tui.screens.admin.canned:CannedScreen", "Managing canned replies"),
    "quarantine": ("tui.screens.admin.quarantine:QuarantineScreen", "The quarantine"),
}


def open_admin_screen(app: Any, name: str) -> None:
    """Push an admin screen by command name — admins only."""
    target, what = SCREENS[name]
    if not require_admin(app, what):
        return
    module, _, cls = target.partition(":")
    app.push_screen(getattr(importlib.import_module(module), cls)())


def connect(app: Any, args: list[str]) -> None:
    from tui.screens.wizard import start_wizard

    start_wizard(app, args[0].lower() if args else None)


def admin_commands() -> list[Any]:
    from tui.commands import Command

    helps = {"agents": "Agents: roles, seats, skills, teams, hours (admins)",
             "teams": "Teams and their members (admins)",
             "pipelines": "Pipelines and statuses (admins)",
             "canned": "Canned replies (admins)",
             "quarantine": "Input that could not be ingested: show, retry, delete (admins)"}
    from tui.screens.admin.workspace import open_workspace

    out = [Command("connect", "connect <email>", "Connect a channel with a wizard (admins)",
                   connect),
           Command("workspace", "workspace", "Workspace settings: assign on reply … (admins)",
                   open_workspace)]
    for name in SCREENS:
        out.append(Command(name, name, helps[name],
                           lambda app, a, _n=name: open_admin_screen(app, _n)))
    return out
