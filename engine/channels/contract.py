"""The data a channel kind's hooks take and give: plain values, no I/O.

Generic code (the desk, the ticket screen) knows nothing about a kind's wire format. It reads
the facts (:class:`ReplyContext`) and lets the kind decide (``prepare_reply`` →
:class:`ReplyPlan`, ``composer_spec`` → :class:`ComposerSpec`). The store builds a
``ReplyContext`` inside the reply's transaction, so these types import nothing but the models.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from engine.models import Channel


@dataclass(frozen=True)
class ReplyContext:
    """Everything a kind may use to plan one agent reply, read in the reply's transaction.

    ``key``: the outbox idempotency key the reply is queued under (a kind deriving ids from
    it gets the same ids on a resend). ``identities``: the contact's ``(kind, value)``
    pairs, sorted by kind, then value. ``reply_to``: where the customer's latest message
    asked answers to go.
    ``thread_ids``: the ids this ticket's messages are known by, oldest first.
    ``inbound_ids``: the external ids of the ticket's inbound messages, newest first.
    """

    ticket_id: int
    subject: str
    message_id: int
    key: str
    channel: Channel | None
    body: str
    html: str | None
    agent_name: str
    agent_email: str
    identities: tuple[tuple[str, str], ...] = ()
    reply_to: str | None = None
    thread_ids: tuple[str, ...] = ()
    inbound_ids: tuple[str, ...] = ()

    def identity(self, kind: str) -> str | None:
        """The contact's first identity of ``kind`` (None: it has none)."""
        return next((value for k, value in self.identities if k == kind), None)


@dataclass(frozen=True)
class ReplyPlan:
    """What a kind decided for one reply: the outbox payload its ``send`` reads, the external
    id fixed now (so a resend reuses it) and the ids later messages may refer to it by."""

    payload: dict[str, Any]
    external_id: str | None = None
    thread_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class ReplyWindow:
    """Whether a reply may be sent now (messaging apps close a conversation after a while)."""

    open: bool = True
    reason: str = ""
    closes_at: datetime | None = None


@dataclass(frozen=True)
class ComposerSpec:
    """How the composer looks for a reply on this kind: the subject shown (``has_subject``),
    whether attachments can go along, and the reply window."""

    has_subject: bool = False
    subject: str = ""
    attachments: bool = False
    window: ReplyWindow = field(default_factory=ReplyWindow)
