"""The channel adapter: how one kind of channel receives, sends and is configured.

One class per kind, registered in :mod:`engine.channels.registry` and built by
:func:`engine.channels.build_adapter`. An adapter gets its channel and a
:class:`~engine.channels.host.ChannelHost` — everything it may use of the engine — never the
engine or the store. The settings model (pydantic) is declared once and drives the CLI's
``--set`` keys, the TUI settings form and the wizard.

Optional abilities (:class:`~engine.channels.abilities.Ability`) are declared in the kind's
registry entry; each optional method below raises
:class:`~engine.channels.abilities.NotSupported` unless a kind that declares the ability
overrides it. Callers ask :meth:`ChannelAdapter.can` first.

Class-level hooks (``address_of``, ``prepare_reply``, ``signature_preview``,
``composer_spec``) are pure: they read the channel's stored settings and plain data, never the
network or the secrets, so the ticket screen and the desk call them without building an
adapter.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel

from engine.channels.abilities import Ability, NotSupported, cannot
from engine.channels.contract import ComposerSpec, ReplyContext, ReplyPlan, ReplyWindow

if TYPE_CHECKING:
    from engine.channels.host import ChannelHost
    from engine.models import Channel, InboundMessage, Ticket
    from engine.outbox import OutboxItem


class ChannelAdapter:
    """Base class for channel adapters. Subclasses set ``kind``, ``abilities`` (their registry
    entry's) and ``settings_model``, and override the methods of the abilities they declare."""

    kind: ClassVar[str] = ""
    abilities: ClassVar[frozenset[Ability]] = frozenset()
    settings_model: ClassVar[type[BaseModel]]
    #: outbox item kinds this kind delivers besides replies (``send``), → the method that
    #: delivers one (calls: ``{"call": "place_call"}``); the outbox asks this, never the kind
    delivers: ClassVar[dict[str, str]] = {}

    def __init__(self, channel: Channel, host: ChannelHost, *,
                 settings: dict[str, Any] | None = None) -> None:
        """``settings``: the channel's settings with secrets opened (the factory passes them);
        without, the channel's own settings are used as they are."""
        self.channel = channel
        self.host = host
        self.settings = self.settings_model.model_validate(
            channel.settings if settings is None else settings)

    @classmethod
    def can(cls, ability: Ability) -> bool:
        """Whether this kind declares ``ability`` (check before calling its method)."""
        return ability in cls.abilities

    def _unsupported(self, ability: Ability) -> NotSupported:
        return NotSupported(self.kind, ability, self.channel.name)

    # ------------------------------------------------------------------ abilities
    async def run(self) -> None:
        """Receive until cancelled (poll, IDLE, listen). Raise to be restarted with backoff."""
        raise self._unsupported(Ability.receive)

    async def send(self, item: OutboxItem) -> str | None:
        """Deliver one outbox item; return the external id. Raise PermanentError for no-retry."""
        raise self._unsupported(Ability.send)

    async def send_notification(self, item: OutboxItem) -> str | None:
        """Deliver an automatic message to an agent (a ticket routed to them while away)."""
        raise self._unsupported(Ability.notify_agents)

    async def import_history(self, *, since: date | None = None, status: str = "closed",
                             progress: Callable[[int, int], None] | None = None
                             ) -> dict[str, int]:
        """Take in the conversations already there as tickets in ``status``; the report
        has ``found`` plus :meth:`engine.importers.ImportReport.as_dict`."""
        raise self._unsupported(Ability.history_import)

    async def skip_existing(self) -> int:
        """Make receiving start after what is already there (no history)."""
        raise self._unsupported(Ability.skip_existing)

    async def sync_once(self) -> dict[str, Any]:
        """One full fetch now (``ticketty channels sync``); returns what it took in."""
        raise self._unsupported(Ability.sync_now)

    async def test_connection(self) -> list[str]:
        """Problems found connecting with the current settings (empty: all good)."""
        raise self._unsupported(Ability.test_connection)

    def routes(self) -> list[Any]:
        """HTTP routes to mount on the engine's web app (webhooks, widgets)."""
        raise self._unsupported(Ability.web_routes)

    async def close(self) -> None:
        """Release what the adapter started itself (worker processes, connections)."""

    def address(self) -> str:
        """What the channels screen shows as this channel's address."""
        return self.address_of(self.channel)

    # ------------------------------------------------------------ pure kind hooks
    @classmethod
    def address_of(cls, channel: Channel) -> str:
        """A channel's address in words, from its stored settings (no secrets needed)."""
        return ""

    @classmethod
    def public_links(cls, channel: Channel, base_url: str) -> dict[str, str]:
        """What customers and platforms reach this channel by, built from the engine's
        ``public_url`` (``base_url``, no trailing slash): web kinds answer ``webhook_url``
        and/or ``embed_code`` (``channels show NAME --json``, the wizards, the edit screen).
        Kinds without web routes have none."""
        return {}

    @classmethod
    def prepare_reply(cls, ctx: ReplyContext) -> ReplyPlan:
        """The outbox payload for an agent's reply. This default answers the customer at
        their Reply-To or first identity of the kind's ``identity_kind``; kinds with
        threading ids or subjects override it."""
        from engine.channels.registry import entry

        to = ctx.reply_to or ctx.identity(entry(cls.kind).identity_kind)
        return ReplyPlan(payload={"to": to, "text": ctx.body, "html": ctx.html,
                                  "agent_name": ctx.agent_name, "agent_email": ctx.agent_email,
                                  "ticket_id": ctx.ticket_id})

    @classmethod
    def attribute(cls, msg: InboundMessage, channel: Channel,
                  agents: set[str]) -> InboundMessage:
        """A received message as ``channel`` credits it before ingest (email: mail forwarded
        in by one of ``agents`` goes to its original sender); also for quarantine retries."""
        return msg

    @classmethod
    def signature_preview(cls, channel: Channel, agent_name: str) -> str:
        """The signature a reply by ``agent_name`` carries, as the composer previews it."""
        return ""

    @classmethod
    def reply_templates(cls, channel: Channel, ticket: Ticket,
                        customer_name: str = "") -> list[tuple[str, str]]:
        """Approved messages the composer offers (WhatsApp templates outside its window):
        ``(label, text to send)`` pairs, their values filled in for ``ticket``. Pure."""
        return []

    @classmethod
    def composer_spec(cls, channel: Channel | None, ticket: Ticket) -> ComposerSpec:
        """How the composer looks for a reply on ``ticket`` through ``channel`` (None: there
        is no channel to send it yet; this kind would answer it)."""
        if not cls.can(Ability.send):
            return ComposerSpec(window=ReplyWindow(False, cannot(cls.kind, Ability.send)))
        return ComposerSpec()
