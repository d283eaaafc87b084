"""The channel adapter protocol: how a kind of channel receives, sends and is configured.

One class per kind, registered in :data:`engine.channels.KINDS`. The settings model (pydantic)
is declared once and drives the CLI's ``--set`` keys, the TUI settings form and the wizard.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel

if TYPE_CHECKING:
    from engine.engine import Engine
    from engine.models import Channel
    from engine.outbox import OutboxItem


class ChannelAdapter:
    """Base class for channel adapters. Subclasses override what their kind supports."""

    kind: ClassVar[str] = ""
    label: ClassVar[str] = ""
    settings_model: ClassVar[type[BaseModel]]

    def __init__(self, channel: Channel, engine: Engine | None = None, *,
                 reveal_secrets: bool = True):
        """``reveal_secrets=False`` leaves sealed secrets sealed: for showing a channel (its
        address, health), which needs no password and must work without the secrets key."""
        from engine.vault import open_settings

        self.channel = channel
        self.engine = engine
        vault = engine.store.vault if engine is not None and hasattr(engine, "store") else None
        settings = open_settings(channel, vault) if reveal_secrets else channel.settings
        self.settings = self.settings_model.model_validate(settings)

    async def run(self) -> None:
        """Receive until cancelled (poll, IDLE, listen). Raise to be restarted with backoff."""
        raise NotImplementedError

    async def send(self, item: OutboxItem) -> str | None:
        """Deliver one outbox item; return the external id. Raise PermanentError for no-retry."""
        raise NotImplementedError

    async def sync_once(self) -> dict[str, Any]:
        """One full fetch now (``ticketty channels sync``); returns what it took in."""
        return {"fetched": 0}

    async def test_connection(self) -> list[str]:
        """Problems found connecting with the current settings (empty: all good)."""
        return []

    def address(self) -> str:
        """What the channels screen shows as this channel's address."""
        return ""
