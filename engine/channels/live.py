"""What a *live* channel (website chat; later Messenger-like ones) needs of the engine beyond
:class:`~engine.channels.host.ChannelHost`: the conversation as the customer sees it, the
events every process follows, identities to link, automatic lines (a bot), and a way out
through another channel (transcripts and away replies by email).

:class:`LiveHost` is the contract; :class:`engine.channels.live_store.StoreLiveMixin` gives
:class:`~engine.channels.host.StoreChannelHost` these members over the store, and
:class:`engine.channels.live_memory.MemoryLiveMixin` gives them to the in-memory host.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from engine.channels.host import ChannelHost

if TYPE_CHECKING:
    import asyncio

    from engine.models import Event
    from engine.store.chat import ThreadLine


@runtime_checkable
class LiveHost(ChannelHost, Protocol):
    """A channel host with the members live conversations need."""

    async def thread(self, ticket_id: int, after: int = 0) -> list[ThreadLine]:
        """The customer-visible lines of a ticket after message ``after`` (no notes)."""
        ...

    async def conversation_ticket(self, key: str) -> int | None:
        """The newest ticket this channel opened for conversation ``key``."""
        ...

    async def ticket_open(self, ticket_id: int) -> bool:
        ...

    async def link_identity(self, kind: str, value: str, new_kind: str, new_value: str,
                            name: str = "") -> int | None:
        """The contact known by ``kind:value`` also has ``new_kind:new_value`` now (merged
        into the contact already holding it)."""
        ...

    async def post(self, ticket_id: int, text: str, author_name: str, key: str) -> int:
        """An automatic line (a bot's) in the thread, delivered, once per ``key``."""
        ...

    async def signal(self, kind: str, ticket_id: int | None, **data: Any) -> None:
        """An event for every process's screens (``chat.presence``, ``chat.typing``)."""
        ...

    def events(self) -> contextlib.AbstractAsyncContextManager[asyncio.Queue[Event]]:
        """Every event committed from now on, this process's and others'."""
        ...

    async def customer_email(self, ticket_id: int) -> str | None:
        ...

    async def enqueue_via(self, channel_name: str, kind: str, *, ticket_id: int | None,
                          payload: dict[str, Any], key: str) -> int | None:
        """Queue an outbound item on another channel (by name); None if there is none."""
        ...

    async def route(self, ticket_id: int) -> int | None:
        """Route the ticket by the channel's rule now (it was held for the bot)."""
        ...

    async def routed_agents_available(self) -> bool:
        """Whether any agent this channel's routing rule names is available now (a rule that
        names nobody: any agent)."""
        ...
