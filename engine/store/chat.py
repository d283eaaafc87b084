"""The live conversation room: what chat-like channels read and write besides ingest.

- a ticket's **customer-visible lines** after a message id (inbound, and outbound once sent —
  never notes or system lines), for a widget that resumes from the last message it saw;
- the ticket a **conversation key** last opened (a visitor's returning session);
- **linking identities**: a visitor who gives their email becomes the contact that email
  already belongs to (tickets, messages and identities move over), else the email joins
  their contact;
- **automatic lines** (a bot's greeting and answers) stored as delivered outbound messages,
  once per key;
- **signals**: an event with no row behind it (a visitor online, typing), for the agents'
  screens in every process.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from engine.ingest_rules import identity_value
from engine.models import DeliveryState, Direction
from engine.store import tickets as T
from engine.store.db import Tx

#: external ids of automatic lines start with this (the widget shows them as the bot's)
BOT_PREFIX = "bot:"


@dataclass(frozen=True)
class ThreadLine:
    """One line of a conversation as the customer sees it."""

    id: int
    author: str  # visitor | agent | bot
    name: str
    text: str
    at: float

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "author": self.author, "name": self.name, "text": self.text,
                "at": self.at}


def _author(row: sqlite3.Row) -> str:
    if row["direction"] == "inbound":
        return "visitor"
    return "bot" if (row["external_id"] or "").startswith(BOT_PREFIX) else "agent"


def thread_lines(conn: sqlite3.Connection, ticket_id: int, after: int, limit: int
                 ) -> list[ThreadLine]:
    rows = conn.execute(
        "SELECT id, direction, author_name, text, external_id, created_at FROM messages"
        " WHERE ticket_id=? AND id>? AND (direction='inbound' OR"
        " (direction='outbound' AND delivery_state='sent')) ORDER BY id LIMIT ?",
        (ticket_id, after, limit)).fetchall()
    return [ThreadLine(r["id"], _author(r), r["author_name"], r["text"], r["created_at"])
            for r in rows]


def conversation_ticket(conn: sqlite3.Connection, channel_id: int, key: str) -> int | None:
    row = conn.execute("SELECT id FROM tickets WHERE thread_key=? ORDER BY id DESC LIMIT 1",
                       (f"{channel_id}:{key}",)).fetchone()
    return row[0] if row else None


def link_identity(tx: Tx, kind: str, value: str, new_kind: str, new_value: str,
                  name: str = "") -> int | None:
    """Give the contact known by ``kind:value`` the identity ``new_kind:new_value``; when that
    identity is already another contact's, the first contact merges into it. Returns the
    contact that holds both now (None: nobody is known by ``kind:value``)."""
    value, new_value = identity_value(kind, value), identity_value(new_kind, new_value)
    row = tx.one("SELECT contact_id FROM contact_identities WHERE kind=? AND value=?",
                 (kind, value))
    if row is None:
        return None
    source = row[0]
    other = tx.one("SELECT contact_id FROM contact_identities WHERE kind=? AND value=?",
                   (new_kind, new_value))
    target = other[0] if other else source
    if other is None:
        tx.execute("INSERT INTO contact_identities VALUES (?,?,?)", (new_kind, new_value, source))
    elif target != source:
        tx.execute("UPDATE contact_identities SET contact_id=? WHERE contact_id=?",
                   (target, source))
        tx.execute("UPDATE tickets SET contact_id=? WHERE contact_id=?", (target, source))
        tx.execute("UPDATE messages SET contact_id=? WHERE contact_id=?", (target, source))
        tx.execute("DELETE FROM contacts WHERE id=?", (source,))
    if name:
        tx.execute("UPDATE contacts SET name=? WHERE id=? AND name IN ('', ?)",
                   (name, target, value))
    tx.event("contact.updated", contact_id=target, merged=source if target != source else None)
    return int(target)


def post_line(tx: Tx, ticket_id: int, channel_id: int | None, text: str, author_name: str,
              key: str) -> int:
    """An automatic line (a bot's) as a delivered outbound message, once per ``key``."""
    external = BOT_PREFIX + key
    seen = tx.one("SELECT id FROM messages WHERE external_id=? AND ticket_id=?",
                  (external, ticket_id))
    if seen:
        return int(seen[0])
    return T.add_message(tx, ticket_id, direction=Direction.outbound, text=text,
                         author_name=author_name, external_id=external, channel_id=channel_id,
                         delivery_state=DeliveryState.sent, touch=False)


def route_ticket(tx: Tx, ticket_id: int) -> int | None:
    """Route a ticket by its channel's rule now (a chat's hand-off from the bot); returns the
    assignee (None: nobody yet — it waits like any ticket no agent could take)."""
    from engine.store.ingest import _Batch, _routing_decision, apply_decision

    row = tx.one("SELECT channel_id, contact_id, subject, assignee_id, is_open FROM tickets"
                 " WHERE id=?", (ticket_id,))
    if row is None or row["assignee_id"] is not None or not row["is_open"]:
        return row["assignee_id"] if row else None
    batch = _Batch()
    channel = batch.channel(tx, row["channel_id"])
    if channel is None or channel.id is None:
        return None
    decision = _routing_decision(tx, batch, channel.routing, channel.id, row["contact_id"])
    apply_decision(tx, ticket_id, channel.id, decision, row["subject"])
    return decision.assignee_id


def customer_email(conn: sqlite3.Connection, ticket_id: int) -> str | None:
    row = conn.execute(
        "SELECT i.value FROM tickets t JOIN contact_identities i ON i.contact_id=t.contact_id"
        " WHERE t.id=? AND i.kind='email' LIMIT 1", (ticket_id,)).fetchone()
    return row[0] if row else None


def last_presence(conn: sqlite3.Connection, ticket_id: int) -> bool | None:
    row = conn.execute("SELECT data FROM events WHERE ticket_id=? AND kind='chat.presence'"
                       " ORDER BY id DESC LIMIT 1", (ticket_id,)).fetchone()
    return bool(json.loads(row[0]).get("online")) if row else None


class ChatMixin:
    """Store methods of the live conversation room."""

    async def thread_lines(self, ticket_id: int, after: int = 0, limit: int = 500
                           ) -> list[ThreadLine]:
        """The customer-visible lines of ``ticket_id`` after message ``after``, oldest first."""
        return await self.read(thread_lines, ticket_id, after, limit)  # type: ignore[attr-defined]

    async def conversation_ticket(self, channel_id: int, key: str) -> int | None:
        """The newest ticket of a channel's conversation ``key`` (None: none yet)."""
        return await self.read(conversation_ticket, channel_id, key)  # type: ignore[attr-defined]

    async def link_identity(self, kind: str, value: str, new_kind: str, new_value: str,
                            name: str = "") -> int | None:
        """See :func:`link_identity`."""
        return await self.write(  # type: ignore[attr-defined]
            link_identity, kind, value, new_kind, new_value, name)

    async def post_line(self, ticket_id: int, channel_id: int | None, text: str,
                        author_name: str, key: str) -> int:
        """See :func:`post_line`."""
        return await self.write(  # type: ignore[attr-defined]
            post_line, ticket_id, channel_id, text, author_name, key)

    async def signal(self, kind: str, ticket_id: int | None, **data: Any) -> None:
        """An event only (``kind``, e.g. ``chat.typing``) for every process's screens."""

        def fn(tx: Tx) -> None:
            tx.event(kind, ticket_id, **data)

        await self.write(fn)  # type: ignore[attr-defined]

    async def route_ticket(self, ticket_id: int) -> int | None:
        """See :func:`route_ticket`."""
        return await self.write(route_ticket, ticket_id)  # type: ignore[attr-defined]

    async def chat_presence(self, ticket_id: int) -> bool | None:
        """Whether the ticket's visitor had the widget open at the last word (None: never said)."""
        return await self.read(last_presence, ticket_id)  # type: ignore[attr-defined]

    async def customer_email(self, ticket_id: int) -> str | None:
        """The ticket's contact's email address, if they gave one."""
        return await self.read(customer_email, ticket_id)  # type: ignore[attr-defined]


def when(at: float) -> str:
    """A line's time as the transcript shows it (UTC)."""
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d %H:%M UTC")
