"""Connect-a-channel wizards: one per channel kind, on the framework in :mod:`.base`.

``start_wizard(app, kind)`` is what ``:connect <kind>`` and the channels screen's connect key
run. It refuses non-admins, runs the kind's wizard in a worker (steps use
``push_screen_wait``) and, when the wizard finishes, shows the channels screen with the new
channel. A kind plugs in through its registry entry (:mod:`engine.channels.registry`): its
``wizard`` is a ``"module:Class"`` string resolved here, so the engine never imports the TUI.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from engine.channels.registry import REGISTRY, resolve
from tui.screens.admin import require_admin

if TYPE_CHECKING:
    from tui.host import DeskApp
    from tui.screens.wizard.base import Wizard

def wizards() -> dict[str, str]:
    """kind → its label, for every kind whose registry entry names a wizard."""
    return {e.kind: e.label for e in REGISTRY.values() if e.wizard}


def wizard_class(kind: str) -> type[Wizard]:
    known = REGISTRY.get(kind)
    if known is None or not known.wizard:
        raise ValueError(f"no wizard for {kind!r} channels (known: "
                         f"{', '.join(sorted(wizards()))})")
    wizard: type[Wizard] = resolve(known.wizard)
    return wizard


def start_wizard(app: DeskApp, kind: str | None = None) -> None:
    """Open the connect wizard of ``kind`` (ask which kind when None) — admins only."""
    if not require_admin(app, "Connecting channels"):
        return
    if kind is not None and kind not in wizards():
        app.notify(f"No wizard for {kind!r} channels (known: {', '.join(sorted(wizards()))}).",
                   severity="error", markup=False)
        return
    app.run_worker(_run(app, kind), name="wizard", group="wizard", exit_on_error=False)


async def _run(app: DeskApp, kind: str | None) -> Any:
    if kind is None:
        from rich.text import Text

        from tui.screens.picker import PickerScreen, PickItem

        item = await app.push_screen_wait(PickerScreen(
            "Connect which kind of channel?", [PickItem(k, Text(label))
                                               for k, label in wizards().items()]))
        if item is None or not item.value:
            return None
        kind = item.value
    channel = await wizard_class(kind)(app).run()
    if channel is None:
        return None
    app.notify(f"Channel {channel.name!r} connected.", markup=False)
    from tui.screens.channels import ChannelsScreen

    if isinstance(app.screen, ChannelsScreen):
        app.screen.reload(select=channel.id)
    else:
        await app.push_screen(ChannelsScreen(select=channel.id))
    return channel
