"""The ingest transaction: one inbound message → contact, thread, ticket, routing, in one write.

``InboundMessage`` → idempotency → contact → thread → ticket (channel defaults) → routing →
persist → events, all in one transaction: a crash anywhere leaves either nothing or everything,
and the ``(channel, key)`` row makes a second delivery of the same message a no-op.

This module is the SQL of it; every decision on the way is a pure function it calls —
:mod:`engine.ingest_rules` (customer, content digest, collision key, conversation window,
subject, whether to route) and :func:`engine.routing.route` (which agent). The pipeline's
story (idempotency by content, Reply-To, unverified senders) is told in :mod:`engine.ingest`.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field

from engine.identities import identity
from engine.ingest_rules import (
    collision_key,
    content_digest,
    conversation_continues,
    customer_of,
    first_line,
    identity_value,
    should_route,
    thread_key,
    thread_refs,
)
from engine.models import (
    Agent,
    Channel,
    DeliveryState,
    Direction,
    InboundMessage,
    IngestResult,
    RoutingMode,
    RoutingRule,
    Strategy,
    TicketDefaults,
    saved_id,
)
from engine.routing import Decision, RoutingContext, route
from engine.store.db import StoreError, Tx, dt
from engine.store.directory import channel_from_row, get_pipeline, load_agents, put_setting
from engine.store.forms import record_submission
from engine.store.outbox import enqueue_notification
from engine.store.quarantine import resolve_quarantined
from engine.store.tickets import (
    add_message,
    assign,
    create_ticket,
    customer_wrote_back,
    quarantine_raw,
)

log = logging.getLogger("engine.ingest")


class NotPlaced(StoreError):
    """Parsed, but the pipeline still had nowhere to put it (e.g. a bounce for nothing sent)."""


@dataclass
class _Batch:
    """Things loaded once per transaction rather than once per message."""

    channels: dict[int, Channel] = field(default_factory=dict)
    agents: list[Agent] | None = None
    team_members: dict[int, list[int]] | None = None

    def channel(self, tx: Tx, channel_id: int | None) -> Channel | None:
        if channel_id is None:
            return None
        if channel_id not in self.channels:
            row = tx.one("SELECT * FROM channels WHERE id=?", (channel_id,))
            if row is None:
                return None
            self.channels[channel_id] = channel_from_row(row)
        return self.channels[channel_id]

    def load_agents(self, tx: Tx) -> tuple[list[Agent], dict[int, list[int]]]:
        if self.agents is None:
            self.agents = load_agents(tx.conn)
            members: dict[int, list[int]] = {}
            for r in tx.all("SELECT team_id, agent_id FROM team_members"):
                members.setdefault(r[0], []).append(r[1])
            self.team_members = members
        return self.agents, self.team_members or {}


def _find_contact(tx: Tx, kind: str, address: str, name: str, unverified: bool) -> int:
    value = identity_value(kind, address)
    row = tx.one("SELECT contact_id FROM contact_identities WHERE kind=? AND value=?", (kind, value))
    if row:
        cid = row[0]
        if name or not unverified:  # fill in a missing name; a well-formed mail verifies
            tx.execute("UPDATE contacts SET name=CASE WHEN name='' THEN ? ELSE name END,"
                       " unverified=unverified AND ? WHERE id=? AND (name='' OR unverified=1)",
                       (name, int(unverified), cid))
        return cid
    contact_id = tx.insert("INSERT INTO contacts(name, created_at, unverified) VALUES (?,?,?)",
                           (name or "", tx.now, int(unverified)))
    tx.execute("INSERT INTO contact_identities VALUES (?,?,?)", (kind, value, contact_id))
    tx.event("contact.created", contact_id=contact_id)
    return contact_id


def _participates(tx: Tx, ticket_id: int, contact_id: int) -> bool:
    row = tx.one("SELECT contact_id FROM tickets WHERE id=?", (ticket_id,))
    if row is None:
        return False
    if row[0] == contact_id:
        return True
    return tx.one("SELECT 1 FROM messages WHERE ticket_id=? AND contact_id=? LIMIT 1",
                  (ticket_id, contact_id)) is not None


def _find_thread(tx: Tx, msg: InboundMessage, contact_id: int, key: str | None) -> int | None:
    for ref in thread_refs(msg):
        row = tx.one("SELECT ticket_id FROM thread_ids WHERE msgid=?", (ref,))
        if row:
            return row[0]
    if msg.ticket_hint is not None and _participates(tx, msg.ticket_hint, contact_id):
        return msg.ticket_hint
    if key:
        row = tx.one(
            "SELECT id, is_open, activity_at FROM tickets WHERE thread_key=? ORDER BY id DESC LIMIT 1",
            (key,),
        )
        if row and conversation_continues(row["is_open"], row["activity_at"], tx.now,
                                          not msg.extra.get("new_after_close")):
            return row["id"]
    return None


def _asked_for(tx: Tx, msg: InboundMessage, pipeline: str, status: str) -> tuple[str, str]:
    """The pipeline and status a message asks its new ticket to start in (``extra``), where
    they exist; otherwise the channel's."""
    wanted = msg.extra.get("pipeline") or pipeline
    try:
        statuses = [s.name for s in get_pipeline(tx, wanted).statuses]
    except Exception:  # no such pipeline: the channel's default stands
        return pipeline, status
    asked = msg.extra.get("status")
    if asked in statuses:
        return wanted, asked
    return wanted, status if wanted == pipeline and status in statuses else statuses[0]


def _routing_decision(tx: Tx, batch: _Batch, rule: RoutingRule, channel_id: int,
                      contact_id: int) -> Decision:
    """What :func:`engine.routing.route` needs, read from the store, and its decision."""
    agents, members = batch.load_agents(tx)
    owner = tx.one("SELECT owner_id FROM contacts WHERE id=?", (contact_id,))
    counts: dict[int, int] = {}
    if rule.mode == RoutingMode.users_teams and (
        rule.strategy == Strategy.least_open or rule.cap is not None
    ):
        # only these two look at loads; one index seek per agent (ix_t_assignee), not a scan
        # of every assigned ticket, which made ingest quadratic in the size of the desk
        for a in agents:
            counts[saved_id(a)] = tx.scalar(
                "SELECT count(*) FROM tickets WHERE assignee_id=? AND is_open=1", (a.id,))
    cursor = tx.one("SELECT value FROM kv WHERE key=?", (f"rr:{channel_id}",))
    ctx = RoutingContext(
        agents=agents, open_counts=counts, team_members=members,
        contact_owner_id=owner[0] if owner else None, now=dt(tx.now),
        last_assigned_id=json.loads(cursor[0]) if cursor else None,
    )
    return route(rule, ctx)


def apply_decision(tx: Tx, ticket_id: int, channel_id: int, decision: Decision,
                   subject: str) -> None:
    """Write a routing decision: assignment, round-robin cursor, pending mark, owner email."""
    if decision.assignee_id is not None:
        assign(tx, ticket_id, decision.assignee_id, decision.team_id, reason=decision.reason)
        put_setting(tx, f"rr:{channel_id}", json.dumps(decision.assignee_id))
        tx.execute("DELETE FROM routing_pending WHERE ticket_id=?", (ticket_id,))
        if decision.notify_owner:
            enqueue_notification(tx, decision.assignee_id, ticket_id, subject)
    elif decision.pending:
        tx.execute("INSERT INTO routing_pending VALUES (?,?,?) ON CONFLICT DO NOTHING",
                   (ticket_id, channel_id, tx.now))


def _mark_bounce(tx: Tx, msg: InboundMessage) -> IngestResult | None:
    original = msg.extra.get("bounced_message_id")  # none: msgid=NULL matches no row
    row = tx.one("SELECT ticket_id, message_id FROM thread_ids WHERE msgid=?", (original,))
    if row is None or row["message_id"] is None:
        return None
    reason = msg.extra.get("bounce_reason") or "the recipient's mail server bounced this message"
    tx.execute("UPDATE messages SET delivery_state='failed', delivery_error=? WHERE id=?",
               (reason, row["message_id"]))
    tx.event("message.delivery", row["ticket_id"], message_id=row["message_id"],
             state="failed", error=reason)
    return IngestResult(ticket_id=row["ticket_id"], message_id=row["message_id"], bounce_marked=True)


def _claim_key(tx: Tx, chan_key: int, msg: InboundMessage, digest: str
               ) -> tuple[str, IngestResult | None]:
    """The key to store this message under, or the duplicate's result if it was seen."""
    seen = tx.one("SELECT message_id, ticket_id, digest FROM inbound_keys"
                  " WHERE channel_id=? AND key=?", (chan_key, msg.key))
    if seen is None:
        return msg.key, None
    if seen["digest"] is None or seen["digest"] == digest:  # older rows carry no digest
        return msg.key, IngestResult(ticket_id=seen["ticket_id"], message_id=seen["message_id"],
                                     duplicate=True)
    key = collision_key(msg.key, digest)
    again = tx.one("SELECT message_id, ticket_id FROM inbound_keys WHERE channel_id=? AND key=?",
                   (chan_key, key))
    if again:
        return key, IngestResult(ticket_id=again["ticket_id"], message_id=again["message_id"],
                                 duplicate=True)
    return key, None


def _remember_key(tx: Tx, chan_key: int, key: str, message_id: int | None,
                  ticket_id: int | None, digest: str) -> None:
    tx.execute("INSERT INTO inbound_keys(channel_id, key, message_id, ticket_id, digest)"
               " VALUES (?,?,?,?,?)", (chan_key, key, message_id, ticket_id, digest))


def _quarantine_bounce(tx: Tx, msg: InboundMessage) -> None:
    """Keep an unplaced bounce as it arrived (a channel without raw bytes: the message's JSON;
    attachments left out, as bytes that are not UTF-8 cannot be JSON)."""
    raw = msg.raw if msg.raw is not None else \
        msg.model_dump_json(exclude={"attachments"}).encode()
    quarantine_raw(tx, "bounce", "bounce for a message we have no record of sending", raw,
                   msg.channel_id)


def ingest_tx(tx: Tx, msg: InboundMessage, batch: _Batch | None = None) -> IngestResult:
    """Ingest one message inside an open transaction (see module docstring)."""
    batch = batch or _Batch()
    chan_key = msg.channel_id or 0
    digest = content_digest(msg)
    key, duplicate = _claim_key(tx, chan_key, msg, digest)
    if duplicate is not None:
        return duplicate
    collision = key != msg.key

    channel = batch.channel(tx, msg.channel_id)
    if msg.flags.bounce:
        marked = _mark_bounce(tx, msg)
        if marked is None:
            _quarantine_bounce(tx, msg)
            marked = IngestResult(ticket_id=None, message_id=None, quarantined=True)
        _remember_key(tx, chan_key, key, marked.message_id, marked.ticket_id, digest)
        return marked

    address, name = customer_of(msg, channel)
    sender = identity(msg.sender_kind)
    contact_id = _find_contact(tx, msg.sender_kind, address, name,
                               bool(msg.extra.get("sender_unverified")))
    reply_to = msg.reply_to if msg.reply_to and msg.reply_to != address else None
    conversation = thread_key(chan_key, msg)
    at = msg.received_at.timestamp()
    ticket_id = _find_thread(tx, msg, contact_id, conversation)
    created = reopened = False
    assignee_id: int | None = None
    if ticket_id is None:
        defaults = channel.defaults if channel else TicketDefaults()
        pipeline, status = defaults.pipeline, defaults.status
        if msg.extra.get("pipeline") or msg.extra.get("status"):  # a form's ticket fields
            pipeline, status = _asked_for(tx, msg, pipeline, status)
        try:
            get_pipeline(tx, pipeline)
        except Exception:  # a channel pointing at a deleted pipeline still gets its mail in
            pipeline = tx.scalar("SELECT name FROM pipelines ORDER BY id LIMIT 1")
        status = msg.import_status or status
        ticket_id = create_ticket(
            tx, subject=msg.subject or first_line(msg.text), contact_id=contact_id,
            channel_id=msg.channel_id, pipeline=pipeline, status=status,
            priority=msg.extra.get("priority") or defaults.priority, source=msg.source, at=at,
            thread_key=conversation, updated_at=tx.now,
        )
        created = True
    ours = msg.extra.get("history_outbound")  # an imported answer of ours (mail history)
    if ours:
        agent = tx.one("SELECT id, name FROM agents WHERE email=?", (ours["author_email"],))
        message_id = add_message(
            tx, ticket_id, direction=Direction.outbound, text=msg.text, html=msg.html,
            author_name=(agent["name"] if agent else "") or ours.get("author_name")
            or ours["author_email"],
            author_email=ours["author_email"], agent_id=agent["id"] if agent else None,
            external_id=msg.key, channel_id=msg.channel_id, delivery_state=DeliveryState.sent,
            at=at, subject=msg.subject or None,
            attachments=[(a.filename, a.content_type, a.data) for a in msg.attachments],
        )
    else:
        message_id = add_message(
            tx, ticket_id, direction=Direction.inbound, text=msg.text, html=msg.html,
            author_name=name or address,
            author_email=address.lower() if sender.is_address else None,
            contact_id=contact_id, external_id=msg.key, channel_id=msg.channel_id,
            at=at, subject=msg.subject or None,
            attachments=[(a.filename, a.content_type, a.data) for a in msg.attachments],
            # a ticket created just above already has this activity time, unread and
            # updated_at: skip the UPDATE (it rewrote five indexes on activity_at for nothing)
            touch=not created, reply_to=reply_to,
        )
    if not created and msg.import_status is None and not msg.flags.auto_reply:
        reopened = customer_wrote_back(tx, ticket_id)
    if sender.keys_thread:  # a Message-ID: later mail refers to it
        tx.execute("INSERT INTO thread_ids VALUES (?,?,?) ON CONFLICT DO NOTHING",
                   (msg.key, ticket_id, message_id))
    _remember_key(tx, chan_key, key, message_id, ticket_id, digest)
    if msg.extra.get("form_submission") is not None:  # with every field, for the timeline
        record_submission(tx, msg, contact_id, ticket_id, message_id)
    if collision:
        log.warning("channel %s: key %s was already used by a different message; ingested this"
                    " one as message %s (ticket #%s)", chan_key, msg.key, message_id, ticket_id)
        tx.event("inbound.collision", ticket_id, channel_id=msg.channel_id, key=msg.key,
                 stored_as=key, message_id=message_id)

    if channel is not None and should_route(msg, created):
        decision = _routing_decision(tx, batch, channel.routing, saved_id(channel), contact_id)
        apply_decision(tx, ticket_id, saved_id(channel), decision, msg.subject)
        assignee_id = decision.assignee_id
    return IngestResult(
        ticket_id=ticket_id, message_id=message_id, created_ticket=created, reopened=reopened,
        assignee_id=assignee_id, collision=collision,
    )


def ingest_batch(tx: Tx, msgs: Sequence[InboundMessage]) -> list[IngestResult]:
    """A batch in one transaction (imports, IMAP batches). Same key twice → one ticket."""
    batch = _Batch()
    return [ingest_tx(tx, m, batch) for m in msgs]


def ingest_quarantined(tx: Tx, item_id: int, msg: InboundMessage, reason: str) -> IngestResult:
    """Ingest a quarantined item again and mark it resolved; :class:`NotPlaced` (rolling the
    whole transaction back: no second quarantine row, no key taken) if it still became no
    part of a ticket. A bounce is placed afresh: its key was taken when it was quarantined
    (so a re-delivery stays one item), and now points at the mail it marked failed."""
    if msg.flags.bounce:
        marked = _mark_bounce(tx, msg)
        if marked is None:
            raise NotPlaced(f"quarantined item {item_id} still has nowhere to go: {reason}")
        tx.execute("UPDATE inbound_keys SET message_id=?, ticket_id=? WHERE channel_id=?"
                   " AND key=? AND ticket_id IS NULL",
                   (marked.message_id, marked.ticket_id, msg.channel_id or 0, msg.key))
        resolve_quarantined(tx, item_id, marked.ticket_id)
        return marked
    result = ingest_tx(tx, msg)
    if result.ticket_id is None:
        raise NotPlaced(f"quarantined item {item_id} still has nowhere to go: {reason}")
    resolve_quarantined(tx, item_id, result.ticket_id)
    return result


def _routing_waits(conn: sqlite3.Connection) -> bool:
    return conn.execute("SELECT 1 FROM routing_pending LIMIT 1").fetchone() is not None


def assign_pending_tx(tx: Tx) -> list[int]:
    """Route the tickets that found no eligible agent earlier; returns the ones assigned."""
    batch = _Batch()
    done = []
    for row in tx.all(
        "SELECT p.ticket_id, p.channel_id, t.contact_id, t.subject, t.is_open, t.assignee_id"
        " FROM routing_pending p JOIN tickets t ON t.id = p.ticket_id ORDER BY p.since"
    ):
        if not row["is_open"] or row["assignee_id"] is not None:
            tx.execute("DELETE FROM routing_pending WHERE ticket_id=?", (row["ticket_id"],))
            continue
        channel = batch.channel(tx, row["channel_id"])
        if channel is None:
            tx.execute("DELETE FROM routing_pending WHERE ticket_id=?", (row["ticket_id"],))
            continue
        decision = _routing_decision(tx, batch, channel.routing, saved_id(channel),
                                     row["contact_id"])
        if decision.assignee_id is None:
            continue
        apply_decision(tx, row["ticket_id"], saved_id(channel), decision, row["subject"])
        done.append(row["ticket_id"])
    return done


class IngestMixin:
    """The ingest pipeline's transactions, mixed into ``Store``."""

    async def ingest(self, msg: InboundMessage) -> IngestResult:
        """Ingest one message (one transaction)."""
        return await self.write(ingest_tx, msg)  # type: ignore[attr-defined]

    async def ingest_many(self, msgs: Sequence[InboundMessage]) -> list[IngestResult]:
        """Ingest a batch in one transaction. Same key twice → one ticket."""
        return await self.write(ingest_batch, msgs)  # type: ignore[attr-defined]

    async def ingest_quarantined(self, item_id: int, msg: InboundMessage,
                                 reason: str) -> IngestResult:
        """Ingest a quarantined item's message and resolve the item, in one transaction."""
        return await self.write(  # type: ignore[attr-defined]
            ingest_quarantined, item_id, msg, reason)

    async def assign_pending(self) -> list[int]:
        """Route tickets that found no eligible agent earlier; returns the ticket ids assigned."""
        if not await self.read(_routing_waits):  # type: ignore[attr-defined]
            return []  # the common case: no write transaction for nothing
        return await self.write(assign_pending_tx)  # type: ignore[attr-defined]
