"""Pydantic models shared by every part of the engine.

These are the contracts between rooms: channels hand an :class:`InboundMessage` to ingest,
the store returns :class:`Ticket`, :class:`Message` and friends, routing reads
:class:`RoutingRule` and :class:`Agent`. Nothing here does I/O.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, time
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

EMAIL_RE = re.compile(r"^[^@\s<>\"]+@[^@\s<>\"]+\.[^@\s<>\"]+$")
#: an OS login name: the POSIX portable set, plus ``@`` (directory users such as
#: ``alice@corp.example``) and ``$`` (machine accounts)
OS_USER_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.@$-]{0,255}$")


def utcnow() -> datetime:
    """The current time, timezone-aware, in UTC (the store keeps UTC only)."""
    return datetime.now(UTC)


def saved_id(item: Agent | Team | Contact | Channel | Ticket | Message) -> int:
    """The id of a row read from the store (models built before saving have none; passing
    one of those where a stored row is meant is a bug, raised here by name)."""
    if item.id is None:
        raise ValueError(f"{type(item).__name__} {getattr(item, 'name', '')!r} is not saved yet")
    return item.id


def normalize_os_user(value: str | None) -> str | None:
    """An OS login name as stored for an agent (``None``/empty: no OS user); raise
    ``ValueError`` for something that cannot be a login name."""
    v = (value or "").strip()
    if not v:
        return None
    if not OS_USER_RE.match(v):
        raise ValueError(f"not a valid OS user name: {value!r}")
    return v


def normalize_email(value: str) -> str:
    """Lower-case and strip an address; raise ``ValueError`` if it is not one."""
    v = (value or "").strip().lower()
    if not EMAIL_RE.match(v):
        raise ValueError(f"not a valid email address: {value!r}")
    return v


class Role(StrEnum):
    admin = "admin"
    agent = "agent"


class Availability(StrEnum):
    available = "available"
    away = "away"


class Direction(StrEnum):
    inbound = "inbound"
    outbound = "outbound"
    note = "note"
    system = "system"


class DeliveryState(StrEnum):
    none = "none"  # inbound, notes and system messages are not delivered
    queued = "queued"
    sending = "sending"
    sent = "sent"
    failed = "failed"
    delivered = "delivered"  # messaging apps' receipts (WhatsApp statuses, Messenger delivery)
    read = "read"


class Source(StrEnum):
    channel = "channel"
    import_ = "import"
    api = "api"
    manual = "manual"
    automation = "automation"


class Priority(StrEnum):
    low = "low"
    normal = "normal"
    high = "high"
    urgent = "urgent"


PRIORITY_RANK = {"low": 0, "normal": 1, "high": 2, "urgent": 3}


class RoutingMode(StrEnum):
    nobody = "nobody"
    users_teams = "users_teams"
    contact_owner = "contact_owner"


class Strategy(StrEnum):
    round_robin = "round_robin"
    least_open = "least_open"


class WorkingHours(BaseModel):
    """Weekly working hours. ``days`` are ISO weekdays (1=Monday). Empty ``days`` = always."""

    model_config = ConfigDict(extra="forbid")
    days: list[int] = Field(default_factory=list)
    start: time = time(0, 0)
    end: time = time(23, 59, 59)
    tz: str = "UTC"

    def contains(self, when: datetime) -> bool:
        if not self.days:
            return True
        from zoneinfo import ZoneInfo

        local = when.astimezone(ZoneInfo(self.tz))
        if local.isoweekday() not in self.days:
            return False
        t = local.time().replace(tzinfo=None)
        if self.start <= self.end:
            return self.start <= t <= self.end
        return t >= self.start or t <= self.end  # overnight shift


class Agent(BaseModel):
    id: int | None = None
    email: str
    name: str
    role: Role = Role.agent
    seat: bool = True
    availability: Availability = Availability.available
    working_hours: WorkingHours | None = None
    skills: list[str] = Field(default_factory=list)
    teams: list[int] = Field(default_factory=list)
    os_user: str | None = None
    """The OS login this agent works as on this host (``ticketty`` run by that uid)."""
    phone: str | None = None
    """The agent's phone number (E.164): calls ring it; agents without one are never rung."""

    @field_validator("email")
    @classmethod
    def _email(cls, v: str) -> str:
        return normalize_email(v)

    @field_validator("os_user")
    @classmethod
    def _os_user(cls, v: str | None) -> str | None:
        return normalize_os_user(v)

    @field_validator("phone")
    @classmethod
    def _phone(cls, v: str | None) -> str | None:
        if not (v or "").strip():
            return None
        from engine.phones import PhoneError, normalize_phone

        try:
            return normalize_phone(v or "")
        except PhoneError as exc:
            raise ValueError(str(exc)) from None

    @property
    def first_name(self) -> str:
        return self.name.split()[0] if self.name.split() else ""

    @property
    def last_name(self) -> str:
        parts = self.name.split()
        return " ".join(parts[1:]) if len(parts) > 1 else ""


class Team(BaseModel):
    id: int | None = None
    name: str
    members: list[int] = Field(default_factory=list)


class Consent(BaseModel):
    channel_id: int | None = None
    kind: str  # e.g. "gdpr_messaging"
    granted: bool
    at: datetime = Field(default_factory=utcnow)


class Contact(BaseModel):
    id: int | None = None
    name: str = ""
    emails: list[str] = Field(default_factory=list)
    phones: list[str] = Field(default_factory=list)
    identities: dict[str, str] = Field(default_factory=dict)  # "kind" -> value
    owner_id: int | None = None
    consents: list[Consent] = Field(default_factory=list)
    created_at: datetime | None = None
    # Created from an address recovered from a malformed header: not proven to be theirs.
    unverified: bool = False

    @property
    def email(self) -> str | None:
        return self.emails[0] if self.emails else None


class Status(BaseModel):
    name: str
    closed: bool = False


WAITING_STATUSES = ("pending", "waiting")  # what "waiting for the customer" is called


class Pipeline(BaseModel):
    """A ticket's workflow: its statuses in order, and how replies move a ticket through them.

    ``after_reply`` is the status an agent's reply gives the ticket (the composer's "send as",
    Zendesk's "submit as"); ``on_customer_reply`` the status it takes when the customer writes
    back. ``None`` means the default: see :meth:`reply_status` and :meth:`customer_status`.
    """

    id: int | None = None
    name: str
    statuses: list[Status]
    after_reply: str | None = None
    on_customer_reply: str | None = None

    def status(self, name: str) -> Status | None:
        for s in self.statuses:
            if s.name == name:
                return s
        return None

    def reply_status(self) -> str | None:
        """Status after an agent reply: the setting, else the pipeline's open waiting/pending
        status where one exists, else ``open`` (None: the reply leaves the status alone)."""
        if self.after_reply and self.status(self.after_reply):
            return self.after_reply
        for name in (*WAITING_STATUSES, "open"):
            st = self.status(name)
            if st is not None and not st.closed:
                return name
        return None

    def customer_status(self) -> str:
        """Status when the customer writes back: the setting, else ``open``, else the first
        open status."""
        wanted = self.on_customer_reply or "open"
        st = self.status(wanted)
        return wanted if st is not None and not st.closed else self.first_open

    def check_reply_statuses(self) -> None:
        """Raise ``ValueError`` when a reply setting names a status this pipeline lacks."""
        names = ", ".join(s.name for s in self.statuses)
        if self.after_reply is not None and self.status(self.after_reply) is None:
            raise ValueError(f"status after a reply {self.after_reply!r} is not one of the "
                             f"pipeline's statuses ({names})")
        if self.on_customer_reply is not None:
            st = self.status(self.on_customer_reply)
            if st is None or st.closed:
                opened = ", ".join(s.name for s in self.statuses if not s.closed)
                raise ValueError(f"status when the customer writes back {self.on_customer_reply!r}"
                                 f" must be an open status ({opened})")

    @property
    def first_open(self) -> str:
        return next(s.name for s in self.statuses if not s.closed)

    @property
    def first_closed(self) -> str:
        return next(s.name for s in self.statuses if s.closed)


DEFAULT_PIPELINE = Pipeline(
    name="Support",
    statuses=[
        Status(name="new"),
        Status(name="open"),
        Status(name="pending"),
        Status(name="on_hold"),
        Status(name="solved", closed=True),
        Status(name="closed", closed=True),
    ],
)


class TicketDefaults(BaseModel):
    """Properties a channel gives each new ticket."""

    model_config = ConfigDict(extra="forbid")
    pipeline: str = "Support"
    status: str = "new"
    priority: Priority = Priority.normal


class RoutingRule(BaseModel):
    """How a channel assigns its new tickets (see :mod:`engine.routing`)."""

    model_config = ConfigDict(extra="forbid")
    mode: RoutingMode = RoutingMode.nobody
    agent_ids: list[int] = Field(default_factory=list)
    team_ids: list[int] = Field(default_factory=list)
    only_available: bool = True
    only_seated: bool = True
    skills: list[str] = Field(default_factory=list)
    strategy: Strategy = Strategy.round_robin
    cap: int | None = None  # max open tickets an agent may hold to be chosen


class Channel(BaseModel):
    id: int | None = None
    kind: str
    name: str
    enabled: bool = True
    settings: dict[str, Any] = Field(default_factory=dict)
    defaults: TicketDefaults = Field(default_factory=TicketDefaults)
    routing: RoutingRule = Field(default_factory=RoutingRule)
    health: dict[str, Any] = Field(default_factory=dict)
    created_at: datetime | None = None


class Attachment(BaseModel):
    id: int | None = None
    filename: str
    content_type: str = "application/octet-stream"
    size: int = 0
    sha256: str = ""
    data: bytes | None = Field(default=None, exclude=True, repr=False)


class Message(BaseModel):
    id: int | None = None
    ticket_id: int
    direction: Direction
    author_name: str = ""
    author_email: str | None = None
    agent_id: int | None = None
    contact_id: int | None = None
    text: str = ""
    html: str | None = None
    external_id: str | None = None
    channel_id: int | None = None
    delivery_state: DeliveryState = DeliveryState.none
    delivery_error: str | None = None
    created_at: datetime
    attachments: list[Attachment] = Field(default_factory=list)


class Ticket(BaseModel):
    id: int  # the ticket number
    subject: str
    pipeline: str
    status: str
    is_open: bool
    priority: Priority
    channel_id: int | None = None
    channel_name: str | None = None
    channel_kind: str | None = None
    contact_id: int | None = None
    contact_name: str | None = None
    contact_email: str | None = None
    assignee_id: int | None = None
    assignee_email: str | None = None
    assignee_name: str | None = None
    team_id: int | None = None
    team_name: str | None = None
    source: Source = Source.channel
    unread: bool = False
    created_at: datetime
    updated_at: datetime
    last_activity_at: datetime
    closed_at: datetime | None = None
    #: when the customer last wrote on this ticket (one ticket read; lists leave it None):
    #: messaging channels' reply windows are counted from it
    customer_wrote_at: datetime | None = None


class WorkspaceSettings(BaseModel):
    """Settings of the whole help desk (every agent), kept in the database.

    Edited by admins with ``ticketty workspace set KEY VALUE`` or ``:workspace`` in the TUI.
    """

    model_config = ConfigDict(extra="forbid")

    assign_on_reply: bool = Field(
        True, description="Replying to an unassigned ticket assigns it to you.")


class CannedReply(BaseModel):
    id: int | None = None
    title: str
    body: str


class InboundFlags(BaseModel):
    auto_reply: bool = False
    bounce: bool = False
    list_mail: bool = False
    forwarded_by: str | None = None  # address of who forwarded it in, if credited to original


class InboundAttachment(BaseModel):
    filename: str
    content_type: str = "application/octet-stream"
    data: bytes = Field(repr=False)


class InboundMessage(BaseModel):
    """The only thing a channel hands to :func:`engine.ingest.ingest`.

    ``key`` is the idempotency key within the channel (Message-ID, Meta ``mid``, CallSid,
    submission id ...): ingesting the same ``(channel_id, key)`` twice changes nothing.
    """

    channel_id: int | None
    key: str
    sender_kind: Literal["email", "phone", "psid", "wa_id", "visitor", "other"] = "email"
    sender: str
    sender_name: str = ""
    # Where answers go when it is not ``sender`` (an email Reply-To). Who the customer is —
    # sender or reply_to — is the channel's ``customer_address`` setting, applied by ingest.
    reply_to: str | None = None
    subject: str = ""
    text: str = ""
    html: str | None = None
    attachments: list[InboundAttachment] = Field(default_factory=list)
    in_reply_to: str | None = None
    references: list[str] = Field(default_factory=list)
    conversation_key: str | None = None  # e.g. chat session, Messenger thread
    ticket_hint: int | None = None  # our own ticket token found in the mail
    received_at: datetime = Field(default_factory=utcnow)
    flags: InboundFlags = Field(default_factory=InboundFlags)
    extra: dict[str, Any] = Field(default_factory=dict)
    # History imports: land in this status, skip routing and notifications.
    import_status: str | None = None
    source: Source = Source.channel
    # The raw input, carried only where ingest may have to quarantine it (a bounce nobody can
    # place): quarantine always keeps the bytes that arrived, never a decoded summary.
    raw: bytes | None = Field(default=None, exclude=True, repr=False)


class IngestResult(BaseModel):
    ticket_id: int | None
    message_id: int | None
    created_ticket: bool = False
    duplicate: bool = False
    reopened: bool = False
    assignee_id: int | None = None
    bounce_marked: bool = False
    quarantined: bool = False  # a bounce that matched nothing we sent, kept in quarantine
    collision: bool = False  # a different mail under an already-seen key, ingested anew


class Event(BaseModel):
    id: int
    at: datetime
    kind: str
    ticket_id: int | None = None
    data: dict[str, Any] = Field(default_factory=dict)
