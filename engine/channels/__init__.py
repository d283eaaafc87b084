"""Channel adapters, one module per kind. ``adapter_class(kind)`` imports lazily."""

from __future__ import annotations

import importlib

from engine.channels.base import ChannelAdapter

#: kind → "module:Class" of its adapter
KINDS: dict[str, str] = {
    "email": "engine.channels.email:EmailAdapter",
}


#: kind → "module:Class" of its settings model (cheap to import: no protocol code), for what
#: needs only the declaration, e.g. which settings are secret (engine/vault.py)
SETTINGS: dict[str, str] = {
    "email": "engine.channels.email_settings:EmailSettings",
}


def settings_model(kind: str) -> type:
    """The settings model of a kind, without importing its adapter."""
    target = SETTINGS.get(kind)
    if target is None:
        return adapter_class(kind).settings_model
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)


def adapter_class(kind: str) -> type[ChannelAdapter]:
    try:
        target = KINDS[kind]
    except KeyError:
        raise ValueError(
            f"unknown channel kind {kind!r} (known: {', '.join(sorted(KINDS))})"
        ) from None
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)


__all__ = ["KINDS", "SETTINGS", "ChannelAdapter", "adapter_class", "settings_model"]
