"""The live members of :class:`~engine.channels.host.StoreChannelHost` over the store (see
:class:`engine.channels.live.LiveHost`, the contract)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import asyncio

    from engine.models import Event
    from engine.store import Store
    from engine.store.chat import ThreadLine


class StoreLiveMixin:
    """:class:`LiveHost` members over a :class:`~engine.store.Store` (``self._store``)."""

    _store: Store
    channel_id: int | None

    def _cid(self) -> int:
        if self.channel_id is None:
            raise RuntimeError("this channel is not saved yet")
        return self.channel_id

    async def thread(self, ticket_id: int, after: int = 0) -> list[ThreadLine]:
        return await self._store.thread_lines(ticket_id, after)

    async def conversation_ticket(self, key: str) -> int | None:
        return await self._store.conversation_ticket(self._cid(), key)

    async def ticket_open(self, ticket_id: int) -> bool:
        ticket = await self._store.ticket(ticket_id)
        return ticket is not None and ticket.is_open

    async def link_identity(self, kind: str, value: str, new_kind: str, new_value: str,
                            name: str = "") -> int | None:
        return await self._store.link_identity(kind, value, new_kind, new_value, name)

    async def post(self, ticket_id: int, text: str, author_name: str, key: str) -> int:
        return await self._store.post_line(ticket_id, self.channel_id, text, author_name, key)

    async def signal(self, kind: str, ticket_id: int | None, **data: Any) -> None:
        await self._store.signal(kind, ticket_id, channel_id=self.channel_id, **data)

    @contextlib.asynccontextmanager
    async def events(self) -> AsyncIterator[asyncio.Queue[Event]]:
        async with self._store.events() as queue:
            yield queue

    async def customer_email(self, ticket_id: int) -> str | None:
        return await self._store.customer_email(ticket_id)

    async def enqueue_via(self, channel_name: str, kind: str, *, ticket_id: int | None,
                          payload: dict[str, Any], key: str) -> int | None:
        found = [c for c in await self._store.channels(include_disabled=False)
                 if c.name == channel_name]
        if not found:
            return None
        return await self._store.enqueue_outbound(
            kind, channel_id=found[0].id, ticket_id=ticket_id, payload=payload, key=key,
            limit=None)

    async def route(self, ticket_id: int) -> int | None:
        return await self._store.route_ticket(ticket_id)

    async def routed_agents_available(self) -> bool:
        from datetime import UTC, datetime

        from engine.routing import is_available

        channel = await self._store.channel(self._cid())
        rule = channel.routing if channel else None
        agents = await self._store.agents()
        named = set(rule.agent_ids) if rule else set()
        teams = set(rule.team_ids) if rule else set()
        if named or teams:
            agents = [a for a in agents if a.id in named or teams & set(a.teams)]
        now = datetime.now(UTC)
        return any(is_available(a, now) for a in agents)
