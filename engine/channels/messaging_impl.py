"""The two implementations of the messaging channels' host members (see
:mod:`engine.channels.messaging_host`): :class:`StoreMessaging` (mixed into
``StoreChannelHost``) and :class:`MemoryMessaging` (mixed into ``MemoryChannelHost``). Kept
apart from the protocol so ``engine.channels.host`` can import them without a cycle."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from engine.identities import identity

if TYPE_CHECKING:
    from engine.models import InboundMessage
    from engine.store import Store


class StoreMessaging:
    """The messaging members on the store (mixed into ``StoreChannelHost``)."""

    _store: Store

    def _need_id(self) -> int:  # provided by StoreChannelHost
        raise NotImplementedError

    async def inbox_add(self, body: bytes) -> int:
        return await self._store.inbox_add(self._need_id(), body)

    async def inbox_pending(self, limit: int = 50) -> list[tuple[int, bytes]]:
        return await self._store.inbox_pending(self._need_id(), limit)

    async def inbox_done(self, row_id: int, error: str | None = None) -> None:
        await self._store.inbox_done(row_id, error)

    async def inbox_hold(self, body: bytes, held_for: str) -> int:
        return await self._store.inbox_hold(self._need_id(), body, held_for)

    async def inbox_release(self, held_for: str) -> int:
        return await self._store.inbox_release(self._need_id(), held_for)

    async def inbox_prune(self, before: float) -> int:
        return await self._store.inbox_prune(self._need_id(), before)

    async def record_consent(self, identity_kind: str, value: str, kind: str, text: str) -> None:
        await self._store.record_consent(self._need_id(), identity_kind, value, kind, text)

    async def has_consent(self, identity_kind: str, value: str) -> bool:
        return await self._store.has_consent(identity_kind, value)

    async def mark_delivery(self, external_ids: list[str], state: str,
                            error: str | None = None) -> list[int]:
        return await self._store.mark_delivery(self._need_id(), external_ids, state, error)

    async def mark_read_until(self, identity_kind: str, value: str, until: float) -> int:
        return await self._store.mark_read_until(self._need_id(), identity_kind, value, until)

    async def customer_last_wrote(self, identity_kind: str, value: str) -> float | None:
        return await self._store.customer_last_wrote(self._need_id(), identity_kind, value)

    async def message_text(self, external_id: str) -> str | None:
        return await self._store.message_text(self._need_id(), external_id)

    async def name_contact(self, identity_kind: str, value: str, name: str) -> None:
        await self._store.name_contact(identity_kind, value, name)


@dataclass
class MemoryConsent:
    identity_kind: str
    value: str
    kind: str
    text: str
    at: float


class MemoryMessaging:
    """The messaging members in memory (mixed into ``MemoryChannelHost``): lists to assert on."""

    now: float
    messages: list[InboundMessage]

    def _messaging(self) -> dict[str, Any]:
        box = self.__dict__.setdefault("_messaging_state", {
            "inbox": {}, "next": 0, "consents": [], "deliveries": {}})
        return box

    @property
    def inbox(self) -> dict[int, dict[str, Any]]:
        """Inbox rows by id: ``body``, ``state`` (new | done | failed | held), ``held_for``."""
        return self._messaging()["inbox"]

    @property
    def consents(self) -> list[MemoryConsent]:
        return self._messaging()["consents"]

    @property
    def deliveries(self) -> dict[str, tuple[str, str | None]]:
        """external id → (state, error) as receipts left it."""
        return self._messaging()["deliveries"]

    async def inbox_add(self, body: bytes, state: str = "new", held_for: str | None = None) -> int:
        box = self._messaging()
        box["next"] += 1
        box["inbox"][box["next"]] = {"body": bytes(body), "state": state, "held_for": held_for,
                                     "at": self.now}
        return int(box["next"])

    async def inbox_pending(self, limit: int = 50) -> list[tuple[int, bytes]]:
        return [(i, r["body"]) for i, r in sorted(self.inbox.items())
                if r["state"] == "new"][:limit]

    async def inbox_done(self, row_id: int, error: str | None = None) -> None:
        self.inbox[row_id].update(state="failed" if error else "done", error=error)

    async def inbox_hold(self, body: bytes, held_for: str) -> int:
        return await self.inbox_add(body, "held", held_for)

    async def inbox_release(self, held_for: str) -> int:
        rows = [r for r in self.inbox.values()
                if r["state"] == "held" and r["held_for"] == held_for]
        for r in rows:
            r.update(state="new", held_for=None)
        return len(rows)

    async def inbox_prune(self, before: float) -> int:
        gone = [i for i, r in self.inbox.items()
                if r["state"] in ("done", "failed") and r["at"] < before]
        for i in gone:
            del self.inbox[i]
        return len(gone)

    async def record_consent(self, identity_kind: str, value: str, kind: str, text: str) -> None:
        self.consents.append(MemoryConsent(identity_kind, identity(identity_kind).normalize(value),
                                           kind, text, self.now))

    async def has_consent(self, identity_kind: str, value: str) -> bool:
        value = identity(identity_kind).normalize(value)
        return any(c.identity_kind == identity_kind and c.value == value for c in self.consents)

    async def mark_delivery(self, external_ids: list[str], state: str,
                            error: str | None = None) -> list[int]:
        for ext in external_ids:
            self.deliveries[ext] = (state, error)
        return list(range(len(external_ids)))

    async def mark_read_until(self, identity_kind: str, value: str, until: float) -> int:
        self.deliveries[f"read-until:{value}"] = ("read", str(until))
        return 0

    async def customer_last_wrote(self, identity_kind: str, value: str) -> float | None:
        times = [m.received_at.timestamp() for m in self.messages
                 if m.sender_kind == identity_kind and m.sender == value]
        return max(times) if times else None

    async def message_text(self, external_id: str) -> str | None:
        return next((m.text for m in self.messages if m.key == external_id), None)

    async def name_contact(self, identity_kind: str, value: str, name: str) -> None:
        self._messaging().setdefault("names", {})[(identity_kind, value)] = name
