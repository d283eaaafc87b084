"""The decisions of the ingest pipeline, as pure functions (no I/O, no store).

The store runs the ingest transaction (:mod:`engine.store.ingest`); what it decides on the way
— who the customer is, what content a key stands for, when a conversation carries on, what a
new ticket is called, whether a ticket is routed, what an owner's notification says — is
decided here, so a second storage backend reuses every rule and the rules are tested without
a database. Routing itself (which agent) is :func:`engine.routing.route`.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

from engine.identities import identity
from engine.models import Channel, InboundMessage

REOPEN_WINDOW = timedelta(days=7)  # a conversation key older than this starts a new ticket


def customer_of(msg: InboundMessage, channel: Channel | None) -> tuple[str, str]:
    """``(address, name)`` of the customer: the sender, or Reply-To when the channel says so."""
    if msg.reply_to and channel is not None and \
            channel.settings.get("customer_address") == "reply_to":
        return msg.reply_to, str(msg.extra.get("reply_to_name") or "")
    return msg.sender, msg.sender_name


def identity_value(kind: str, address: str) -> str:
    """How an identity is stored and looked up (email addresses case-insensitively)."""
    return identity(kind).normalize(address)


def content_digest(msg: InboundMessage) -> str:
    """What arrived under a key, for telling a re-delivery from a reused key: the channel's
    own digest (email: raw From + body) or one over sender, text and attachments."""
    given = msg.extra.get("content_digest")
    if given:
        return str(given)
    h = hashlib.sha256()
    for part in (msg.sender_kind, msg.sender, msg.subject, msg.text):
        h.update(part.encode("utf-8", "surrogatepass") + b"\x00")
    for a in msg.attachments:
        h.update(hashlib.sha256(a.data).digest())
    return h.hexdigest()[:32]


def collision_key(key: str, digest: str) -> str:
    """The key a different message arriving under an already used key is stored under."""
    return f"{key}#{digest[:16]}"


def thread_refs(msg: InboundMessage) -> list[str]:
    """The message ids a message answers, the most direct first (In-Reply-To, then
    References from the newest)."""
    return [r.strip() for r in [msg.in_reply_to, *reversed(msg.references)] if r]


def thread_key(chan_key: int, msg: InboundMessage) -> str | None:
    """The conversation key of a channel's message (chat sessions, form threads …)."""
    return f"{chan_key}:{msg.conversation_key}" if msg.conversation_key else None


def conversation_continues(is_open: bool, activity_at: float, now: float,
                           reopen: bool = True) -> bool:
    """Whether a message under a known conversation key joins its last ticket. ``reopen``
    False (messaging apps: one open ticket per person): a closed ticket is never continued."""
    return bool(is_open) or (reopen and now - activity_at < REOPEN_WINDOW.total_seconds())


def first_line(text: str) -> str:
    """A subject for a message without one: its first non-blank line."""
    for line in (text or "").splitlines():
        if line.strip():
            return line.strip()[:120]
    return "(no subject)"


def should_route(msg: InboundMessage, created: bool) -> bool:
    """A new ticket from a channel is routed — unless it is history (an import) or automatic
    mail (auto-replies, lists), which waits for a person — or a chat a bot answers first
    (``extra["route_later"]``: routed at the hand-off, :meth:`engine.store.Store.route_ticket`)."""
    automatic = msg.flags.auto_reply or msg.flags.list_mail
    return created and msg.import_status is None and not automatic \
        and not msg.extra.get("route_later")


def notification_payload(agent_name: str, agent_email: str, ticket_id: int,
                         subject: str) -> dict[str, str]:
    """The mail telling an agent that a ticket was routed to them while they were away."""
    first = agent_name.split()[0] if agent_name else ""
    return {
        "to": agent_email, "to_name": agent_name,
        "subject": f"[#{ticket_id}] assigned to you: {subject}",
        "text": (f"Hi {first},\n\n"
                 f"Ticket #{ticket_id} \"{subject}\" from one of your contacts was assigned to you"
                 " while you were away.\n\n— ticketty"),
    }
