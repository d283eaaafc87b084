"""What messaging channels (Messenger, WhatsApp) use of the engine beyond the common host.

:class:`MessagingHost` extends :class:`~engine.channels.host.ChannelHost` with the webhook
inbox (deliveries kept raw before the platform's 200, processed after), consent records,
delivery receipts and the one fact reply windows are counted from (when the person last
wrote). :class:`StoreMessaging` is the store-backed half of
:class:`~engine.channels.host.StoreChannelHost`; :class:`MemoryMessaging` the in-memory half
of :class:`~engine.channels.testing.MemoryChannelHost`. Both are mixins, so the hosts stay
one class each and an adapter still sees one ``self.host``.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from engine.channels.host import ChannelHost
from engine.channels.messaging_impl import MemoryMessaging, StoreMessaging


@runtime_checkable
class MessagingHost(ChannelHost, Protocol):
    """A channel host with the messaging channels' members."""

    async def inbox_add(self, body: bytes) -> int:
        """Keep a webhook delivery raw (one short write); processed after it was answered."""
        ...

    async def inbox_pending(self, limit: int = 50) -> list[tuple[int, bytes]]:
        ...

    async def inbox_done(self, row_id: int, error: str | None = None) -> None:
        ...

    async def inbox_hold(self, body: bytes, held_for: str) -> int:
        """Keep one event until ``held_for`` consents."""
        ...

    async def inbox_release(self, held_for: str) -> int:
        ...

    async def inbox_prune(self, before: float) -> int:
        """Forget processed deliveries kept before ``before`` (the raw audit trail's age)."""
        ...

    async def record_consent(self, identity_kind: str, value: str, kind: str, text: str) -> None:
        ...

    async def has_consent(self, identity_kind: str, value: str) -> bool:
        ...

    async def mark_delivery(self, external_ids: list[str], state: str,
                            error: str | None = None) -> list[int]:
        ...

    async def mark_read_until(self, identity_kind: str, value: str, until: float) -> int:
        ...

    async def customer_last_wrote(self, identity_kind: str, value: str) -> float | None:
        ...

    async def message_text(self, external_id: str) -> str | None:
        ...

    async def name_contact(self, identity_kind: str, value: str, name: str) -> None:
        """Name the contact of an identity that has no name yet."""
        ...


__all__ = ["MemoryMessaging", "MessagingHost", "StoreMessaging"]
