"""What a channel kind can do beyond existing: declared, never discovered by trying.

A kind lists its abilities once, in its registry entry (:mod:`engine.channels.registry`).
Every optional method of :class:`~engine.channels.base.ChannelAdapter` raises
:class:`NotSupported` unless the kind declares the ability, and every caller (the engine, the
CLI, the wizards, the channels screen) checks first and says in words when a kind cannot —
:func:`cannot` is that sentence, so the words are the same everywhere.
"""

from __future__ import annotations

from enum import StrEnum


class Ability(StrEnum):
    """One optional thing a channel kind can do."""

    receive = "receive"  # run(): take messages in (poll, listen, webhook)
    send = "send"  # send(): deliver replies and acknowledgements
    notify_agents = "notify_agents"  # send_notification(): tell an agent about a ticket
    history_import = "history_import"  # import_history(): the conversations already there
    skip_existing = "skip_existing"  # skip_existing(): start after what is already there
    sync_now = "sync_now"  # sync_once(): one full fetch now
    test_connection = "test_connection"  # test_connection(): problems, in words
    web_routes = "web_routes"  # routes(): HTTP routes mounted on the engine's web app
    sign_in = "sign_in"  # an OAuth sign-in (``ticketty channels signin``) instead of passwords


#: each ability as the words after "cannot" / "can" in messages
WORDS: dict[Ability, str] = {
    Ability.receive: "receive messages",
    Ability.send: "send replies",
    Ability.notify_agents: "send agent notifications",
    Ability.history_import: "import history",
    Ability.skip_existing: "skip the messages already there",
    Ability.sync_now: "sync now",
    Ability.test_connection: "test its connection",
    Ability.web_routes: "serve web routes",
    Ability.sign_in: "sign in instead of using passwords",
}


def cannot(kind: str, ability: Ability, name: str | None = None) -> str:
    """The sentence for a kind lacking an ability, naming the channel when given:
    ``'Support' is a chat channel; it cannot import history (email channels can)``."""
    from engine.channels.registry import able

    who = f"{name!r} is a {kind} channel; it" if name else f"a {kind} channel"
    kinds = [entry.kind for entry in able(ability)]
    hint = f" ({' or '.join(kinds)} channels can)" if kinds else ""
    return f"{who} cannot {WORDS[ability]}{hint}"


class NotSupported(Exception):
    """A kind was asked for an ability it does not declare. Callers check
    :meth:`~engine.channels.base.ChannelAdapter.can` first; reaching this is a bug there."""

    def __init__(self, kind: str, ability: Ability, name: str | None = None) -> None:
        super().__init__(cannot(kind, ability, name))
        self.kind = kind
        self.ability = ability
