"""Admin screens (agents, teams, pipelines, canned replies) and the admins-only gate.

Every wizard and admin screen is opened through :func:`require_admin`, which tells an agent
in words that the screen is for admins only (the CLI's ``ctx.require_admin`` says the same).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine.models import Role

if TYPE_CHECKING:
    from tui.host import DeskApp


def is_admin(app: DeskApp) -> bool:
    return app.agent is not None and app.agent.role == Role.admin


def require_admin(app: DeskApp, what: str) -> bool:
    """True for an admin; otherwise notify "<what> is for admins only." and return False."""
    if is_admin(app):
        return True
    app.notify(f"{what} is for admins only.", title="Admins only", severity="warning",
               markup=False)
    return False
