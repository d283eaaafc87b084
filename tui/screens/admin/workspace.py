"""``:workspace``: the settings of the whole help desk in a form (admins), rendered from the
same :class:`~engine.models.WorkspaceSettings` declaration as ``ticketty workspace show|set``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from engine.models import WorkspaceSettings
from tui.screens.admin import require_admin
from tui.screens.admin.base import FormScreen
from tui.widgets.settings_form import specs_from_model

if TYPE_CHECKING:
    from tui.host import DeskApp


def open_workspace(app: DeskApp, args: list[str]) -> None:
    if require_admin(app, "Changing workspace settings"):
        app.run_worker(_edit(app), group="admin-op", exit_on_error=False)


async def _edit(app: DeskApp) -> None:
    current = await app.store.workspace()

    async def save(values: dict[str, Any]) -> None:
        await app.store.update_workspace(**values)

    saved = await app.push_screen_wait(FormScreen(
        "Workspace settings", specs_from_model(WorkspaceSettings), current.model_dump(), save))
    if saved:
        app.notify("Workspace settings saved", markup=False)
