"""Which adapter delivers an outbox item: the item's channel, or — for agent notifications —
the first enabled channel whose kind declares :attr:`Ability.notify_agents`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine.channels import build_adapter
from engine.channels.abilities import Ability, cannot
from engine.channels.registry import able, can
from engine.outbox import OutboxItem, PermanentError, Sender

if TYPE_CHECKING:
    from engine.channels.base import ChannelAdapter
    from engine.channels.host import HostServices
    from engine.store import Store


async def resolve_sender(store: Store, item: OutboxItem, *, services: HostServices | None = None,
                         adapters: dict[int, ChannelAdapter] | None = None) -> Sender | None:
    """The function that delivers ``item`` (None: the item names no channel). ``adapters``:
    the running ones, reused; others are built for the send."""
    if item.kind == "notify":
        for ch in await store.channels(include_disabled=False):
            if can(ch.kind, Ability.notify_agents):
                return build_adapter(ch, store, services=services).send_notification
        kinds = " or ".join(e.kind for e in able(Ability.notify_agents)) or "notifying"
        raise PermanentError(f"no enabled {kinds} channel to send agent notifications through")
    if item.channel_id is None:
        return None
    channel = await store.channel(item.channel_id)
    if channel is None:
        raise PermanentError("the channel of this message was removed")
    if not channel.enabled:
        raise PermanentError(f"channel {channel.name!r} is disabled")
    running = (adapters or {}).get(channel.id) if channel.id is not None else None
    adapter = running or build_adapter(channel, store, services=services)
    special = adapter.delivers.get(item.kind)
    if special is not None:  # an item of the kind's own (a call-back), not a reply
        deliver: Sender = getattr(adapter, special)
        return deliver
    if not adapter.can(Ability.send):
        raise PermanentError(cannot(channel.kind, Ability.send, channel.name))
    return adapter.send
