"""Channel adapters, one module set per kind, registered in :mod:`engine.channels.registry`.

:func:`build_adapter` is the one way the engine, the CLI and the wizards make an adapter: it
gives it a :class:`~engine.channels.host.StoreChannelHost` and its settings with the secrets
opened. This package's import stays light (no protocol code): adapters load when built.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine.channels.abilities import Ability, NotSupported, cannot
from engine.channels.registry import (
    REGISTRY,
    ChannelKind,
    UnknownKind,
    adapter_class,
    entry,
    kinds,
    settings_model,
)

if TYPE_CHECKING:
    from engine.channels.base import ChannelAdapter
    from engine.channels.host import HostServices
    from engine.models import Channel
    from engine.store import Store


def build_adapter(channel: Channel, store: Store, *,
                  services: HostServices | None = None) -> ChannelAdapter:
    """An adapter for ``channel`` on ``store``, its secrets opened with the store's key.

    ``services``: what a running engine lends (shared worker processes, their budget);
    without, the adapter starts its own workers and stops them in ``close()``. Raises
    :class:`~engine.vault.SecretError` when a secret cannot be opened, :class:`UnknownKind`
    for a kind nothing registers.
    """
    from engine.channels.host import StoreChannelHost
    from engine.vault import open_settings

    cls = adapter_class(channel.kind)
    host = StoreChannelHost(store, channel.id, kind=channel.kind, services=services)
    return cls(channel, host, settings=open_settings(channel, store.vault))


__all__ = ["REGISTRY", "Ability", "ChannelKind", "NotSupported", "UnknownKind",
           "adapter_class", "build_adapter", "cannot", "entry", "kinds", "settings_model"]
