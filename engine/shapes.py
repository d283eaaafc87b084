"""The JSON shapes of tickets and messages: one definition for the CLI's ``--json`` and the
tickets API (``/api/v1``), so a script reads the same fields from either."""

from __future__ import annotations

from typing import Any

from engine.models import Message, Ticket


def ticket_json(t: Ticket) -> dict[str, Any]:
    return {
        "id": t.id, "subject": t.subject, "status": t.status, "is_open": t.is_open,
        "priority": t.priority.value, "pipeline": t.pipeline, "channel": t.channel_name,
        "channel_kind": t.channel_kind,
        "contact": {"email": t.contact_email, "name": t.contact_name, "id": t.contact_id},
        "assignee": t.assignee_email, "assignee_name": t.assignee_name, "team": t.team_name,
        "source": t.source.value, "unread": t.unread, "created_at": t.created_at.isoformat(),
        "updated_at": t.updated_at.isoformat(),
        "last_activity_at": t.last_activity_at.isoformat(),
        "closed_at": t.closed_at.isoformat() if t.closed_at else None,
    }


def message_json(m: Message) -> dict[str, Any]:
    return {
        "id": m.id, "direction": m.direction.value, "author": m.author_name,
        "author_email": m.author_email, "text": m.text, "created_at": m.created_at.isoformat(),
        "delivery_state": m.delivery_state.value, "delivery_error": m.delivery_error,
        "external_id": m.external_id,
        "attachments": [{"filename": a.filename, "content_type": a.content_type, "size": a.size,
                         "sha256": a.sha256} for a in m.attachments],
    }


def ticket_with_messages_json(t: Ticket, messages: list[Message]) -> dict[str, Any]:
    """``tickets show --json``: the ticket and its whole thread."""
    return {**ticket_json(t), "messages": [message_json(m) for m in messages]}
