"""Channel adapters, one module per kind. ``adapter_class(kind)`` imports lazily."""

from __future__ import annotations

import importlib

from engine.channels.base import ChannelAdapter

#: kind → "module:Class" of its adapter
KINDS: dict[str, str] = {
    "email": "engine.channels.email:EmailAdapter",
}


def adapter_class(kind: str) -> type[ChannelAdapter]:
    try:
        target = KINDS[kind]
    except KeyError:
        raise ValueError(
            f"unknown channel kind {kind!r} (known: {', '.join(sorted(KINDS))})"
        ) from None
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)


__all__ = ["KINDS", "ChannelAdapter", "adapter_class"]
