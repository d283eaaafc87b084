"""What the tickets API takes (request bodies, validated) and gives (documented shapes).

The answers are built by :mod:`engine.shapes` — the CLI's ``--json`` — and sent as they are;
the ``…Out`` models here only describe them in the OpenAPI document (a test checks that they
name exactly the fields the shapes give, so the document cannot drift from the answers).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from engine.models import Priority, normalize_email


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _text(value: str, what: str) -> str:
    if not value.strip():
        raise ValueError(what)
    return value


class NewTicket(_In):
    """A ticket on behalf of a customer."""

    subject: str = Field(max_length=998, description="The ticket's subject.")
    from_email: str = Field(max_length=320, description="The customer's email address; their"
                            " contact is found or created by it.")
    from_name: str = Field("", max_length=200, description="The customer's name.")
    body: str = Field("", description="What the customer wrote (plain text).")
    priority: Priority | None = Field(None, description="Default: normal.")

    @field_validator("subject")
    @classmethod
    def _subject(cls, v: str) -> str:
        return _text(v, "a ticket needs a subject").strip()

    @field_validator("from_email")
    @classmethod
    def _from_email(cls, v: str) -> str:
        return normalize_email(v)


class ReplyIn(_In):
    body: str = Field(description="The reply to the customer (plain text).")
    status: str | None = Field(None, description="Send as this status (default: the pipeline's"
                               " status after an agent reply, e.g. pending).")

    @field_validator("body")
    @classmethod
    def _body(cls, v: str) -> str:
        return _text(v, "a reply needs a body")


class NoteIn(_In):
    body: str = Field(description="The internal note (never sent to the customer).")

    @field_validator("body")
    @classmethod
    def _body(cls, v: str) -> str:
        return _text(v, "a note needs a body")


class AssignIn(_In):
    """Give at least one: ``assignee`` (an agent's email, ``me``, or null for nobody) and/or
    ``team`` (a team's name)."""

    assignee: str | None = Field(None, description="An agent's email, `me`, or null: nobody.")
    team: str | None = Field(None, description="A team's name.")


class StatusIn(_In):
    status: str = Field(description="A status of the ticket's pipeline.")


# ------------------------------------------------------------------ answers (documentation)
class ContactRef(BaseModel):
    email: str | None
    name: str | None
    id: int | None


class TicketOut(BaseModel):
    """A ticket, as ``ticketty tickets list --json`` gives it."""

    id: int
    subject: str
    status: str
    is_open: bool
    priority: Priority
    pipeline: str
    channel: str | None
    channel_kind: str | None
    contact: ContactRef
    assignee: str | None
    assignee_name: str | None
    team: str | None
    source: str = Field(description="channel, import, api, manual or automation.")
    unread: bool
    created_at: str
    updated_at: str
    last_activity_at: str
    closed_at: str | None


class AttachmentOut(BaseModel):
    filename: str
    content_type: str
    size: int
    sha256: str


class MessageOut(BaseModel):
    id: int
    direction: str = Field(description="inbound, outbound or note.")
    author: str
    author_email: str | None
    text: str
    created_at: str
    delivery_state: str
    delivery_error: str | None
    external_id: str | None
    attachments: list[AttachmentOut]


class TicketThreadOut(TicketOut):
    """A ticket and its thread, as ``ticketty tickets show N --json`` gives it."""

    messages: list[MessageOut]


class TicketPage(BaseModel):
    items: list[TicketOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on"
                                    " the last page.")


class ReplyOut(BaseModel):
    ticket: int
    message_id: int
    outbox_id: int | None
    state: str = Field(description="queued (the engine sends it) or failed.")
    error: str | None


class NoteOut(BaseModel):
    ticket: int
    message_id: int


class ContactOut(BaseModel):
    id: int
    name: str
    emails: list[str]
    owner: str | None
    tickets: int
    unverified: bool


class TokenOut(BaseModel):
    name: str
    agent: str
    created_at: str
    created_by: str | None
    last_used_at: str | None
    revoked_at: str | None


class ErrorOut(BaseModel):
    error: str = Field(description="`<field>: <reason>`, or the reason alone.")
    field: str | None = None
