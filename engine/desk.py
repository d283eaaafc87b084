"""Agent actions on tickets: the calls behind every key, palette command and CLI verb.

The TUI, the CLI and the tests all go through :class:`Desk`, so a behaviour is written once.
"""

from __future__ import annotations

import json
import secrets
from datetime import datetime

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
from engine.store.db import Tx
from engine.store.directory import find_agent, require_agent


def _domain(address: str | None) -> str:
    return address.split("@", 1)[1] if address and "@" in address else "ticketty.invalid"


class Desk:
    """Ticket actions performed by an agent (``actor``), each one transaction + events."""

    def __init__(self, store: Store, actor: Agent | None = None):
        self.store = store
        self.actor = actor

    @property
    def actor_id(self) -> int | None:
        return self.actor.id if self.actor else None

    # --------------------------------------------------------------- creating
    async def create_ticket(self, *, subject: str, from_email: str, name: str = "", body: str = "",
                            source: Source = Source.manual, channel_id: int | None = None,
                            key: str | None = None, received_at: datetime | None = None
                            ) -> IngestResult:
        """A ticket on behalf of a customer (CLI, API, automation): through the ingest pipeline."""
        if not subject.strip():
            raise StoreError("a ticket needs a subject")
        email = normalize_email(from_email)
        msg = InboundMessage(
            channel_id=channel_id, key=key or f"{source}:{secrets.token_hex(12)}",
            sender=email, sender_name=name, subject=subject, text=body, source=source,
            **({"received_at": received_at} if received_at else {}),
        )
        return await ingest(self.store, msg)

    # --------------------------------------------------------------- replying
    async def reply(self, ticket_id: int, body: str, html: str | None = None) -> tuple[int, int | None]:
        """Queue a reply to the customer; returns ``(message_id, outbox_id)``."""
        if not body.strip():
            raise StoreError("a reply needs a body")
        actor = self._need_actor()

        def fn(tx: Tx) -> tuple[int, int | None]:
            ticket = T.require_ticket(tx, ticket_id)
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
            from engine.channels.email_compose import make_message_id

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
                "subject": ticket["subject"], "text": body, "html": html,
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

        return await self.store.write(fn)

    async def note(self, ticket_id: int, body: str) -> int:
        if not body.strip():
            raise StoreError("a note needs a body")
        actor = self._need_actor()

        def fn(tx: Tx) -> int:
            T.require_ticket(tx, ticket_id)
            return T.add_message(tx, ticket_id, direction=Direction.note, text=body,
                                 author_name=actor.name, author_email=actor.email,
                                 agent_id=actor.id)

        return await self.store.write(fn)

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

        return await self.store.write(fn)

    async def set_status(self, ticket_id: int, status: str) -> bool:
        return await self.store.write(T.set_status, ticket_id, status, self.actor_id)

    async def close(self, ticket_id: int) -> bool:
        return await self.store.write(T.close, ticket_id, self.actor_id)

    async def reopen(self, ticket_id: int) -> bool:
        return await self.store.write(T.reopen, ticket_id, self.actor_id)

    async def set_priority(self, ticket_id: int, priority: str) -> bool:
        return await self.store.write(T.set_priority, ticket_id, priority, self.actor_id)

    async def set_pipeline(self, ticket_id: int, pipeline: str) -> bool:
        return await self.store.write(T.set_pipeline, ticket_id, pipeline, self.actor_id)

    async def mark_read(self, ticket_id: int) -> None:
        def fn(tx: Tx) -> None:
            cur = tx.execute("UPDATE tickets SET unread=0 WHERE id=? AND unread=1", (ticket_id,))
            if cur.rowcount:
                tx.event("ticket.read", ticket_id)

        await self.store.write(fn)

    async def set_availability(self, availability: str) -> Agent:
        actor = self._need_actor()
        updated = await self.store.update_agent(actor.email, availability=availability)
        self.actor = updated.model_copy(update={"id": actor.id})
        return self.actor

    def _need_actor(self) -> Agent:
        if self.actor is None or self.actor.id is None:
            raise StoreError("no agent identity: pass --as AGENT_EMAIL")
        return self.actor


async def ensure_first_admin(store: Store, email: str, name: str) -> Agent:
    """On an empty database, create the OS user as an admin agent (no prompt)."""
    from engine.models import Role

    def fn(tx: Tx) -> Agent | None:
        from engine.store.directory import ensure_default_pipeline

        ensure_default_pipeline(tx)
        if tx.one("SELECT 1 FROM agents LIMIT 1"):
            return None
        tx.execute(
            "INSERT INTO agents(email, name, role, seat, availability, skills, created_at)"
            " VALUES (?,?,?,?,?,?,?)", (email, name, "admin", 1, "available", "[]", tx.now))
        tx.event("agent.added", email=email)
        return find_agent(tx.conn, email)

    created = await store.write(fn)
    if created is not None:
        return created
    existing = await store.agent(email)
    if existing is not None:
        return existing
    agents = await store.agents()
    admins = [a for a in agents if a.role == Role.admin]
    return (admins or agents)[0]
