"""Agent actions on tickets: the calls behind every key, palette command and CLI verb.

The TUI, the CLI and the tests all go through :class:`Desk`, so a behaviour is written once.
"""

from __future__ import annotations

import json
import re
import secrets
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from engine.ingest import ingest
from engine.models import (
    Agent,
    DeliveryState,
    Direction,
    InboundMessage,
    IngestResult,
    Source,
    normalize_email,
)
from engine.outbox import enqueue
from engine.store import Store, StoreError
from engine.store import tickets as T
from engine.store.db import Tx, acting
from engine.store.directory import require_agent
from engine.store.workflow import get_pipeline, load_workspace


@dataclass(frozen=True)
class CloseUndo:
    """What :meth:`Desk.undo_close` needs to take a close back."""

    ticket_id: int
    previous: str
    closed_as: str


_CANNED_RE = re.compile(r"\{(first_name|full_name|agent_name|ticket_id)\}")


def fill_canned(text: str, *, customer_name: str, customer_email: str | None, agent_name: str,
                ticket_id: int) -> str:
    """Fill ``{first_name}`` and ``{full_name}`` (the customer's; a customer without a name is
    called by the part of their address before the ``@``), ``{agent_name}`` and
    ``{ticket_id}``. Other braces stay as written."""
    full = " ".join(customer_name.split()) or (customer_email or "").split("@", 1)[0]
    values = {"first_name": full.split(" ", 1)[0], "full_name": full,
              "agent_name": " ".join(agent_name.split()), "ticket_id": str(ticket_id)}
    return _CANNED_RE.sub(lambda m: values[m.group(1)], text)


def _domain(address: str | None) -> str:
    return address.split("@", 1)[1] if address and "@" in address else "ticketty.invalid"


class Desk:
    """Ticket actions performed by an agent (``actor``), each one transaction + events.

    ``acting`` (see :meth:`engine.identity.Identity.acting`) is set when an admin works on
    behalf of ``actor``: every event the desk writes then names the admin as ``actor`` and
    the agent as ``on_behalf_of``.
    """

    def __init__(self, store: Store, actor: Agent | None = None,
                 acting: dict[str, str] | None = None):
        self.store = store
        self.actor = actor
        self.acting = acting

    async def _write(self, fn: Any, *args: Any) -> Any:
        with acting(self.acting):
            return await self.store.write(fn, *args)

    @property
    def actor_id(self) -> int | None:
        return self.actor.id if self.actor else None

    # --------------------------------------------------------------- creating
    async def create_ticket(self, *, subject: str, from_email: str, name: str = "", body: str = "",
                            source: Source = Source.manual, channel_id: int | None = None,
                            key: str | None = None, received_at: datetime | None = None,
                            priority: str | None = None) -> IngestResult:
        """A ticket on behalf of a customer (CLI, API, automation): through the ingest pipeline.
        ``key`` makes it idempotent (the same key and content give the same ticket);
        ``priority`` overrides the default."""
        if not subject.strip():
            raise StoreError("a ticket needs a subject")
        email = normalize_email(from_email)
        msg = InboundMessage(
            channel_id=channel_id, key=key or f"{source}:{secrets.token_hex(12)}",
            sender=email, sender_name=name, subject=subject, text=body, source=source,
            **({"received_at": received_at} if received_at else {}),
            **({"extra": {"priority": priority}} if priority else {}),
        )
        with acting(self.acting):
            return await ingest(self.store, msg)

    # --------------------------------------------------------------- replying
    async def reply(self, ticket_id: int, body: str, html: str | None = None, *,
                    status: str | None = None) -> tuple[int, int | None]:
        """Queue a reply to the customer; returns ``(message_id, outbox_id)``.

        In the same transaction the ticket takes ``status`` ("send as"; default: its
        pipeline's status after an agent reply, :meth:`~engine.models.Pipeline.reply_status`)
        and, when nobody has it and the workspace's ``assign_on_reply`` is on, is assigned to
        the agent who replied.
        """
        if not body.strip():
            raise StoreError("a reply needs a body")
        actor = self._need_actor()

        def fn(tx: Tx) -> tuple[int, int | None]:
            ticket = T.require_ticket(tx, ticket_id)
            target = self._send_as(tx, ticket, status)
            mid, oid = self._queue_reply(tx, ticket, actor, body, html)
            if target is not None and target != ticket["status"]:
                T.set_status(tx, ticket_id, target, actor.id)
            if ticket["assignee_id"] is None and actor.seat and load_workspace(tx.conn).assign_on_reply:
                T.assign(tx, ticket_id, actor.id, None, actor.id, reason="by replying")
                tx.execute("DELETE FROM routing_pending WHERE ticket_id=?", (ticket_id,))
            return mid, oid

        return await self._write(fn)

    @staticmethod
    def _send_as(tx: Tx, ticket: Any, status: str | None) -> str | None:
        """The status a reply leaves the ticket in (checked before anything is written)."""
        pipeline = get_pipeline(tx, ticket["pipeline"])
        if status is None:
            return pipeline.reply_status()
        if pipeline.status(status) is None:
            names = ", ".join(s.name for s in pipeline.statuses)
            raise StoreError(f"status {status!r} is not in pipeline {pipeline.name!r} ({names})")
        return status

    @staticmethod
    def _queue_reply(tx: Tx, ticket: Any, actor: Agent, body: str,
                     html: str | None) -> tuple[int, int | None]:
        """The outbound message and its outbox row, with the headers fixed at queue time."""
        from engine.channels.email_compose import make_message_id, reply_subject

        ticket_id = ticket["id"]
        channel = None
        if ticket["channel_id"] is not None:
            channel = tx.one("SELECT * FROM channels WHERE id=?", (ticket["channel_id"],))
        if channel is None or channel["kind"] != "email":
            # tickets from imports/CLI answer by email through the first email channel
            channel = tx.one("SELECT * FROM channels WHERE kind='email' AND removed=0"
                             " ORDER BY enabled DESC, id LIMIT 1") or channel
        contact_email = tx.one(
            "SELECT value FROM contact_identities WHERE contact_id=? AND kind='email' LIMIT 1",
            (ticket["contact_id"],),
        )
        mid = T.add_message(
            tx, ticket_id, direction=Direction.outbound, text=body, html=html,
            author_name=actor.name, author_email=actor.email, agent_id=actor.id,
            channel_id=channel["id"] if channel else None,
            delivery_state=DeliveryState.queued,
        )
        tx.execute("UPDATE tickets SET unread=0 WHERE id=?", (ticket_id,))
        settings = json.loads(channel["settings"]) if channel else {}
        # the same Message-ID compose_reply derives from the outbox key: fixed at queue time
        msgid = make_message_id(ticket_id, mid, f"reply:{mid}", _domain(settings.get("address")))
        tx.execute("UPDATE messages SET external_id=? WHERE id=?", (msgid, mid))
        tx.execute("INSERT OR IGNORE INTO thread_ids VALUES (?,?,?)", (msgid, ticket_id, mid))
        refs = [r[0] for r in tx.all(
            "SELECT msgid FROM thread_ids WHERE ticket_id=? AND msgid != ? ORDER BY message_id",
            (ticket_id, msgid))]
        last_in = tx.one(
            "SELECT external_id FROM messages WHERE ticket_id=? AND direction='inbound'"
            " AND external_id LIKE '<%' ORDER BY created_at DESC, id DESC LIMIT 1", (ticket_id,))
        # the customer's latest Reply-To, when it was not their own address (email)
        reply_to = tx.one(
            "SELECT reply_to FROM messages WHERE ticket_id=? AND direction='inbound'"
            " AND contact_id=? ORDER BY created_at DESC, id DESC LIMIT 1",
            (ticket_id, ticket["contact_id"]))
        payload = {
            "to": (reply_to[0] if reply_to and reply_to[0] else None)
            or (contact_email[0] if contact_email else None),
            "subject": reply_subject(ticket["subject"], ticket_id), "text": body, "html": html,
            "message_id_header": msgid,
            "in_reply_to": last_in[0] if last_in else (refs[-1] if refs else None),
            "references": refs[-20:], "agent_name": actor.name, "agent_email": actor.email,
            "ticket_id": ticket_id,
        }
        if channel is None:
            tx.execute("UPDATE messages SET delivery_state='failed', delivery_error=? WHERE id=?",
                       ("no channel to send this reply through (connect an email channel)", mid))
            return mid, None
        oid = enqueue(tx, kind="reply", payload=payload, channel_id=channel["id"],
                      ticket_id=ticket_id, message_id=mid, key=f"reply:{mid}")
        return mid, oid

    async def canned_reply(self, ticket_id: int, canned_id: int) -> str:
        """A canned reply's text for this ticket, placeholders filled (see :func:`fill_canned`)."""
        actor = self._need_actor()

        def fn(conn: sqlite3.Connection) -> str:
            T.require_ticket(conn, ticket_id)
            row = conn.execute("SELECT body FROM canned_replies WHERE id=?", (canned_id,)).fetchone()
            if row is None:
                raise StoreError(f"no canned reply #{canned_id}")
            who = conn.execute(
                "SELECT ct.name, (SELECT value FROM contact_identities ci WHERE"
                " ci.contact_id = ct.id AND ci.kind='email' LIMIT 1) FROM tickets t"
                " LEFT JOIN contacts ct ON ct.id = t.contact_id WHERE t.id=?", (ticket_id,)).fetchone()
            return fill_canned(row[0], customer_name=who[0] or "", customer_email=who[1],
                               agent_name=actor.name, ticket_id=ticket_id)

        return await self.store.read(fn)

    async def note(self, ticket_id: int, body: str) -> int:
        if not body.strip():
            raise StoreError("a note needs a body")
        actor = self._need_actor()

        def fn(tx: Tx) -> int:
            T.require_ticket(tx, ticket_id)
            return T.add_message(tx, ticket_id, direction=Direction.note, text=body,
                                 author_name=actor.name, author_email=actor.email,
                                 agent_id=actor.id)

        return await self._write(fn)

    # -------------------------------------------------------------- properties
    async def assign(self, ticket_id: int, agent_email: str | None = None,
                     team: str | None = None) -> bool:
        """Assign to an agent (by email), a team, or nobody (both None)."""

        def fn(tx: Tx) -> bool:
            agent_id = team_id = None
            if agent_email:
                agent = require_agent(tx.conn, normalize_email(agent_email))
                if not agent.seat:
                    raise StoreError(f"{agent.name} <{agent.email}> has no seat and cannot be assigned")
                agent_id = agent.id
            if team:
                row = tx.one("SELECT id FROM teams WHERE name=?", (team,))
                if row is None:
                    raise StoreError(f"no team named {team!r}")
                team_id = row[0]
                if agent_id is None:
                    current = T.require_ticket(tx, ticket_id)
                    agent_id = current["assignee_id"]
            changed = T.assign(tx, ticket_id, agent_id, team_id, self.actor_id)
            if changed:
                tx.execute("DELETE FROM routing_pending WHERE ticket_id=?", (ticket_id,))
            return changed

        return await self._write(fn)

    async def set_status(self, ticket_id: int, status: str) -> bool:
        return await self._write(T.set_status, ticket_id, status, self.actor_id)

    async def close(self, ticket_id: int) -> bool:
        return await self._write(T.close, ticket_id, self.actor_id)

    async def close_with_undo(self, ticket_id: int) -> CloseUndo | None:
        """Close at once (no confirmation) and say how to take it back; None: already closed."""

        def fn(tx: Tx) -> CloseUndo | None:
            before = T.require_ticket(tx, ticket_id)["status"]
            if not T.close(tx, ticket_id, self.actor_id):
                return None
            return CloseUndo(ticket_id, before, T.require_ticket(tx, ticket_id)["status"])

        return await self._write(fn)

    async def undo_close(self, undo: CloseUndo) -> None:
        """Give the ticket back the status it had before :meth:`close_with_undo` — only while
        nobody changed it since (else the undo would overwrite their change)."""

        def fn(tx: Tx) -> None:
            now = T.require_ticket(tx, undo.ticket_id)["status"]
            if now != undo.closed_as:
                raise StoreError(f"#{undo.ticket_id} changed since it was closed (it is {now});"
                                 " nothing undone")
            T.set_status(tx, undo.ticket_id, undo.previous, self.actor_id,
                         reason=f"close undone: back to {undo.previous}")

        await self._write(fn)

    async def reopen(self, ticket_id: int) -> bool:
        return await self._write(T.reopen, ticket_id, self.actor_id)

    async def set_priority(self, ticket_id: int, priority: str) -> bool:
        return await self._write(T.set_priority, ticket_id, priority, self.actor_id)

    async def set_pipeline(self, ticket_id: int, pipeline: str) -> bool:
        return await self._write(T.set_pipeline, ticket_id, pipeline, self.actor_id)

    async def mark_read(self, ticket_id: int) -> None:
        def fn(tx: Tx) -> None:
            cur = tx.execute("UPDATE tickets SET unread=0 WHERE id=? AND unread=1", (ticket_id,))
            if cur.rowcount:
                tx.event("ticket.read", ticket_id)

        await self._write(fn)

    async def set_availability(self, availability: str) -> Agent:
        actor = self._need_actor()
        with acting(self.acting):
            updated = await self.store.update_agent(actor.email, availability=availability)
        self.actor = updated.model_copy(update={"id": actor.id})
        return self.actor

    def _need_actor(self) -> Agent:
        if self.actor is None or self.actor.id is None:
            raise StoreError("no agent identity: this needs an agent to act")
        return self.actor


async def ensure_first_admin(store: Store, email: str, name: str,
                             os_user: str | None = None) -> Agent:
    """Seed a workspace's first admin (the demo, tests, benchmarks).

    On an empty database ``email`` becomes its admin, working as ``os_user`` — by default the
    running OS user, exactly as on a first run (:func:`engine.identity.claim_first_admin`).
    On a database that has agents it returns the agent with that email: never anyone else.
    """
    from engine.identity import os_user as running_os_user

    login = os_user or running_os_user().login
    created = await store.create_first_admin(email, name, login)
    if created is not None:
        return created
    existing = await store.agent(email)
    if existing is None:
        raise StoreError(f"this database has agents already and none with email {email!r}")
    return existing
