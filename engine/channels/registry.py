"""One entry per channel kind: everything the rest of ticketty needs to know about a kind.

An entry names its adapter, its settings model and its wizard as ``"module:Class"`` strings,
imported only when used: ``ticketty --help`` loads no protocol code, and the engine never
imports the TUI (the wizard string is resolved by :mod:`tui.screens.wizard`). Adding a kind is
one module set under ``engine/channels/``, one wizard under ``tui/screens/wizard/`` and one
entry here (see ``docs/architecture.md``, "Adding a channel kind"); the contract suite in
``tests/channels/`` runs against every entry.

Generic code asks the registry instead of comparing kind names: which kinds can notify agents
(:func:`able`), which channel answers a ticket that has no sending channel of its own
(:func:`pick_reply_channel`), what the customer's identity is called (``identity_kind``).
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from engine.channels.abilities import Ability

if TYPE_CHECKING:
    from pydantic import BaseModel

    from engine.channels.base import ChannelAdapter
    from engine.models import Channel


class UnknownKind(ValueError):
    """A kind no entry describes; the message lists the known ones."""


def resolve(target: str) -> Any:
    """The object a ``"module:Name"`` string names (imported now)."""
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)


@dataclass(frozen=True)
class ChannelKind:
    """A kind of channel, registered once.

    ``answers_orphans``: the first channel of this kind (enabled first, then oldest) answers
    tickets that have no sending channel of their own — imported, CLI and API tickets.
    ``identity_kind``: the contact identity its customers are known by (email, phone, psid…).
    ``takes_mail``: its raw input is mail (RFC 5322): mail archives import into it and its
    quarantined mail can be parsed again; its settings have an ``address``.
    ``form_first``: settings the edit screen shows first (the rest follow as declared).
    ``tabs``: the edit screen's tabs of settings, ``(title, keys)``, the first one also holding
    the name and any setting no tab names (empty: one Configuration tab); the ticket
    properties and the routing rule follow in their own tab.
    """

    kind: str
    label: str
    adapter: str
    settings_model: str
    wizard: str | None
    abilities: frozenset[Ability]
    identity_kind: str
    answers_orphans: bool = False
    takes_mail: bool = False
    form_first: tuple[str, ...] = ()
    #: the customer is there live (chat): the ticket screen shows them online and typing
    live: bool = False
    tabs: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def can(self, ability: Ability) -> bool:
        return ability in self.abilities

    def adapter_class(self) -> type[ChannelAdapter]:
        return resolve(self.adapter)

    def settings_class(self) -> type[BaseModel]:
        """The settings model, without importing the adapter (no protocol code)."""
        return resolve(self.settings_model)


EMAIL = ChannelKind(
    kind="email",
    label="Team email",
    adapter="engine.channels.email:EmailAdapter",
    settings_model="engine.channels.email_settings:EmailSettings",
    wizard="tui.screens.wizard.email:EmailWizard",
    abilities=frozenset({
        Ability.receive, Ability.send, Ability.notify_agents, Ability.history_import,
        Ability.skip_existing, Ability.sync_now, Ability.test_connection, Ability.sign_in,
    }),
    identity_kind="email",
    answers_orphans=True,
    takes_mail=True,
    form_first=("from_name_mode", "company_name", "address", "signature", "use_original_sender"),
)

CHAT = ChannelKind(
    kind="chat",
    label="Website chat",
    adapter="engine.channels.chat:ChatAdapter",
    settings_model="engine.channels.chat_settings:ChatSettings",
    wizard="tui.screens.wizard.chat:ChatWizard",
    abilities=frozenset({Ability.receive, Ability.send, Ability.web_routes}),
    identity_kind="visitor",
    live=True,
    form_first=("team_name", "accent_color", "position", "agent_avatar", "welcome_message",
                "transcript_from"),
    tabs=(("Configure", ("team_name", "accent_color", "position", "agent_avatar",
                         "welcome_message", "transcript_from", "allowed_origins",
                         "max_message_chars", "visitor_secret")),
          ("Availability", ("availability", "office_hours", "outside_hours", "away_message",
                            "reply_email_channel", "idle_minutes")),
          ("Bot", ("bot_enabled", "bot_collect", "bot_quick_replies"))),
)

FORMS = ChannelKind(
    kind="forms",
    label="Web form",
    adapter="engine.channels.forms:FormsAdapter",
    settings_model="engine.channels.forms_settings:FormsSettings",
    wizard="tui.screens.wizard.forms:FormsWizard",
    abilities=frozenset({Ability.web_routes}),
    identity_kind="email",
    form_first=("form", "reply_channel"),
)

#: Meta's two messaging channels (engine/channels/meta_*.py share the Graph parts)
_META = frozenset({Ability.receive, Ability.send, Ability.sync_now, Ability.test_connection,
                   Ability.web_routes})
MESSENGER = ChannelKind(
    kind="messenger", label="Facebook Messenger",
    adapter="engine.channels.messenger:MessengerAdapter",
    settings_model="engine.channels.meta_settings:MessengerSettings",
    wizard="tui.screens.wizard.meta:MessengerWizard", abilities=_META, identity_kind="psid",
    form_first=("page_id", "page_access_token", "app_secret", "verify_token", "greeting",
                "instant_reply", "gdpr", "consent_text"),
)
WHATSAPP = ChannelKind(
    kind="whatsapp", label="WhatsApp Business",
    adapter="engine.channels.whatsapp:WhatsAppAdapter",
    settings_model="engine.channels.meta_settings:WhatsAppSettings",
    wizard="tui.screens.wizard.meta:WhatsAppWizard", abilities=_META, identity_kind="phone",
    form_first=("phone_number_id", "waba_id", "access_token", "app_secret", "verify_token"),
)

CALLS = ChannelKind(
    kind="calls",
    label="Phone calls",
    adapter="engine.channels.calls:CallsAdapter",
    settings_model="engine.channels.calls_settings:CallsSettings",
    wizard="tui.screens.wizard.calls:CallsWizard",
    abilities=frozenset({Ability.receive, Ability.web_routes, Ability.test_connection}),
    identity_kind="phone",
    form_first=("phone_number", "account_sid", "auth_token", "api_base_url", "office_hours",
                "ring_strategy", "ring_timeout"),
)

#: kind → its entry, in the order kinds are offered (wizard picker, fallbacks)
REGISTRY: dict[str, ChannelKind] = {
    entry.kind: entry for entry in (EMAIL, CHAT, FORMS, MESSENGER, WHATSAPP, CALLS)}


def entry(kind: str) -> ChannelKind:
    """The entry of ``kind``; :class:`UnknownKind` names the known kinds."""
    try:
        return REGISTRY[kind]
    except KeyError:
        raise UnknownKind(f"unknown channel kind {kind!r} (known: {', '.join(kinds())})"
                          ) from None


def kinds() -> list[str]:
    """Every registered kind, sorted (CLI choices)."""
    return sorted(REGISTRY)


def able(ability: Ability) -> list[ChannelKind]:
    """The entries declaring ``ability``, in registry order."""
    return [e for e in REGISTRY.values() if ability in e.abilities]


def can(kind: str, ability: Ability) -> bool:
    """Whether ``kind`` declares ``ability`` (False for an unknown kind)."""
    known = REGISTRY.get(kind)
    return known is not None and ability in known.abilities


def mail_kinds() -> list[str]:
    """The kinds whose raw input is mail (``takes_mail``), in registry order."""
    return [e.kind for e in REGISTRY.values() if e.takes_mail]


def orphan_kinds() -> list[str]:
    """The kinds whose first channel answers tickets without a sending channel, in order."""
    return [e.kind for e in REGISTRY.values() if e.answers_orphans]


def pick_reply_channel(own: Channel | None, channels: Sequence[Channel]) -> Channel | None:
    """The channel a reply on a ticket leaves through.

    The ticket's own channel when its kind sends; else the channel its own names in its
    ``reply_channel`` setting (a form answers by email through the channel its admin chose);
    else the first of ``channels`` (enabled first, then oldest) of the kinds that answer
    orphans (:func:`orphan_kinds`); else the ticket's own channel, whose send then fails
    saying why. ``channels``: the candidates (removed ones left out by the caller).
    """
    if own is not None and can(own.kind, Ability.send):
        return own
    named = own.settings.get("reply_channel") if own is not None else None
    chosen = next((c for c in channels if named and c.name == named
                   and can(c.kind, Ability.send)), None)
    if chosen is not None:
        return chosen
    for kind in orphan_kinds():
        same = sorted((c for c in channels if c.kind == kind),
                      key=lambda c: (not c.enabled, c.id or 0))
        if same:
            return same[0]
    return own


def adapter_class(kind: str) -> type[ChannelAdapter]:
    """The adapter class of ``kind`` (imported now)."""
    return entry(kind).adapter_class()


def settings_model(kind: str) -> type[BaseModel]:
    """The settings model of ``kind``, without importing its adapter."""
    return entry(kind).settings_class()
