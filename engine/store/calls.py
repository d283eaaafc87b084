"""The calling channel's rows: calls, their callbacks taken once, agents rung, call-backs queued.

One row per call (:class:`~engine.channels.calls_book.CallRecord`), tied to the message that
shows it; every update re-renders that message (:func:`~engine.channels.calls_book.call_text`)
and its search row in the same transaction. Callback keys (``CallSid`` + ``SequenceNumber``,
``RecordingSid``, ``TranscriptionSid``) are claimed in ``call_events``, so a redelivered
callback changes nothing. A new call joins the caller's open ticket on the channel, else opens
one, through the ingest transaction itself (:func:`engine.store.ingest.ingest_tx`).
"""

from __future__ import annotations

import sqlite3
from dataclasses import fields
from typing import Any

from engine.channels.calls_book import FINAL, MISSED, WORDS, CallRecord, call_text, newer
from engine.models import (
    Agent,
    DeliveryState,
    Direction,
    InboundMessage,
    IngestResult,
    RoutingRule,
)
from engine.store.db import StoreError, Tx
from engine.store.directory import channel_from_row, find_agent, load_agents
from engine.store.ingest import ingest_tx
from engine.store.outbox import insert as queue_outbox
from engine.store.sqlite.fts import reindex_message
from engine.store.tickets import add_message, require_ticket, save_attachment

_COLUMNS = [f.name for f in fields(CallRecord)]
CALL_KIND = "calls"


def call_from_row(row: sqlite3.Row) -> CallRecord:
    values = {name: row[name] for name in _COLUMNS}
    values["voicemail"] = bool(values["voicemail"])
    return CallRecord(**values)


def _get(conn: sqlite3.Connection, call_id: int) -> CallRecord | None:
    row = conn.execute("SELECT * FROM calls WHERE id=?", (call_id,)).fetchone()
    return call_from_row(row) if row else None


def _by_sid(conn: sqlite3.Connection, channel_id: int, sid: str) -> CallRecord | None:
    row = conn.execute("SELECT * FROM calls WHERE channel_id=? AND call_sid=?",
                       (channel_id, sid)).fetchone()
    return call_from_row(row) if row else None


def _claim(tx: Tx, channel_id: int, key: str) -> bool:
    """Take a callback's key; False when it was taken before (a redelivery)."""
    return tx.one("INSERT INTO call_events(channel_id, key, at) VALUES (?,?,?)"
                  " ON CONFLICT DO NOTHING RETURNING key", (channel_id, key, tx.now)) is not None


def subject_for(customer: str, missed: bool, direction: str = "inbound") -> str:
    if direction != "inbound":
        return f"Call to {customer}"
    return f"{'Missed call' if missed else 'Call'} from {customer}"


def _render(tx: Tx, call: CallRecord) -> None:
    """Write the call's row and re-render its message (and the ticket's subject when a call
    that opened it turns out missed: the queue shows it needs a call back)."""
    values = {name: getattr(call, name) for name in _COLUMNS if name != "id"}
    values["voicemail"] = int(call.voicemail)
    tx.execute(f"UPDATE calls SET {', '.join(f'{k}=?' for k in values)}, updated_at=? WHERE id=?",
               (*values.values(), tx.now, call.id))
    if call.message_id is None or call.ticket_id is None:
        return
    ticket = require_ticket(tx, call.ticket_id)
    subject = ticket["subject"]
    if call.missed and subject == subject_for(call.customer, False):
        subject = subject_for(call.customer, True)
        tx.execute("UPDATE tickets SET subject=?, updated_at=? WHERE id=?",
                   (subject, tx.now, call.ticket_id))
    text = call_text(call)
    tx.execute("UPDATE messages SET text=? WHERE id=?", (text, call.message_id))
    reindex_message(tx, call.message_id, subject, text, call.ticket_id)
    tx.event("ticket.call", call.ticket_id, call_id=call.id, message_id=call.message_id,
             status=call.status, missed=call.missed)


def _open_ticket(tx: Tx, channel_id: int, phone: str) -> int | None:
    row = tx.one("SELECT t.id FROM tickets t JOIN contact_identities ci"
                 " ON ci.contact_id=t.contact_id AND ci.kind='phone' AND ci.value=?"
                 " WHERE t.channel_id=? AND t.is_open=1 ORDER BY t.id DESC LIMIT 1",
                 (phone, channel_id))
    return row[0] if row else None


def start_call_tx(tx: Tx, channel_id: int, msg: InboundMessage, call: CallRecord
                  ) -> tuple[CallRecord, IngestResult]:
    if call.call_sid:
        known = _by_sid(tx.conn, channel_id, call.call_sid)
        if known is not None:
            return known, IngestResult(ticket_id=known.ticket_id, message_id=known.message_id,
                                       duplicate=True)
    hint = _open_ticket(tx, channel_id, call.customer)
    msg = msg.model_copy(update={"ticket_hint": hint, "text": call_text(call),
                                 "subject": subject_for(call.customer, False)})
    result = ingest_tx(tx, msg)
    call = call.changed(ticket_id=result.ticket_id, message_id=result.message_id)
    values = {name: getattr(call, name) for name in _COLUMNS if name != "id"}
    values["voicemail"] = int(call.voicemail)
    call_id = tx.insert(
        f"INSERT INTO calls({', '.join(values)}, created_at, updated_at)"
        f" VALUES ({', '.join('?' * (len(values) + 2))})", (*values.values(), tx.now, tx.now))
    stored = call.changed(id=call_id)
    tx.event("ticket.call", stored.ticket_id, call_id=call_id, message_id=stored.message_id,
             status=stored.status, missed=False)
    return stored, result


def update_call_tx(tx: Tx, call_id: int, key: str, fields_: dict[str, Any]) -> CallRecord | None:
    call = _get(tx.conn, call_id)
    if call is None or not _claim(tx, call.channel_id, key):
        return None
    changes = {k: v for k, v in fields_.items() if v is not None and k != "seq"}
    if "status" in changes:
        seq = fields_.get("seq")
        if newer(call, seq):
            if seq is not None:
                changes["seq"] = seq
        else:  # an older event arriving late: keep what it adds, not its status
            changes.pop("status")
    call = call.changed(**changes)
    _render(tx, call)
    return call


#: a call-back the provider has said nothing of for this long no longer blocks another (seconds)
CALL_BACK_STALE = 3600.0


def queue_call_back_tx(tx: Tx, ticket_id: int, agent_id: int) -> CallRecord:
    """A call-back on ``ticket_id`` by ``agent_id``: its call row, its message on the ticket,
    and the outbox item that places it (the outbox keeps the calls-per-second pace)."""
    ticket = require_ticket(tx, ticket_id)
    agent = tx.one("SELECT name, phone FROM agents WHERE id=?", (agent_id,))
    if agent is None:
        raise StoreError(f"no agent {agent_id}")
    if not agent["phone"]:
        raise StoreError(f"{agent['name']} has no phone number to ring first"
                         " (ticketty agents update EMAIL --phone +…)")
    own = tx.one("SELECT * FROM channels WHERE id=?", (ticket["channel_id"],)) \
        if ticket["channel_id"] else None
    if own is None or own["kind"] != CALL_KIND:
        own = tx.one("SELECT * FROM channels WHERE kind=? AND enabled=1 ORDER BY id LIMIT 1",
                     (CALL_KIND,))
    if own is None:
        raise StoreError("no enabled calls channel to call back through"
                         " (ticketty channels add calls …)")
    channel = channel_from_row(own)
    phone = tx.one("SELECT value FROM contact_identities WHERE contact_id=? AND kind='phone'"
                   " ORDER BY value LIMIT 1", (ticket["contact_id"],)) \
        if ticket["contact_id"] else None
    if phone is None:
        raise StoreError(f"ticket #{ticket_id}'s contact has no phone number to call back")
    busy = tx.one(
        "SELECT c.status, a.name FROM calls c LEFT JOIN agents a ON a.id = c.agent_id"
        " WHERE c.ticket_id=? AND c.direction='outbound' AND c.created_at > ?"
        f" AND c.status NOT IN ({','.join('?' * len(FINAL))})"
        " AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.idempotency_key = 'call:' || c.id"
        " AND o.state = 'failed') ORDER BY c.id DESC LIMIT 1",
        (ticket_id, tx.now - CALL_BACK_STALE, *sorted(FINAL)))
    if busy is not None:  # a second V (or a second agent) must not ring the customer twice
        status = WORDS.get(busy["status"], busy["status"])
        raise StoreError(f"ticket #{ticket_id} already has a call-back {status}"
                         f" (by {busy['name'] or 'someone'}); wait for it to end")
    number = str(channel.settings.get("phone_number") or "")
    call = CallRecord(id=0, channel_id=channel.id or 0, direction="outbound",
                      from_number=number, to_number=phone[0], customer=phone[0],
                      status="queued", decision="callback", ticket_id=ticket_id,
                      agent_id=agent_id)
    message_id = add_message(tx, ticket_id, direction=Direction.outbound, text=call_text(call),
                             author_name=agent["name"], agent_id=agent_id,
                             channel_id=channel.id, delivery_state=DeliveryState.queued)
    call = call.changed(message_id=message_id)
    values = {name: getattr(call, name) for name in _COLUMNS if name != "id"}
    values["voicemail"] = 0
    call_id = tx.insert(
        f"INSERT INTO calls({', '.join(values)}, created_at, updated_at)"
        f" VALUES ({', '.join('?' * (len(values) + 2))})", (*values.values(), tx.now, tx.now))
    queue_outbox(tx, kind="call", channel_id=channel.id, ticket_id=ticket_id,
                 message_id=message_id, key=f"call:{call_id}",
                 payload={"call_id": call_id, "agent_phone": agent["phone"],
                          "customer": phone[0], "caller_id": number})
    tx.event("ticket.call", ticket_id, call_id=call_id, message_id=message_id, status="queued",
             missed=False)
    return call.changed(id=call_id)


class CallsMixin:
    """The calling channel's store methods; mixed into :class:`engine.store.Store`."""

    async def start_call(self, channel_id: int, msg: InboundMessage,
                         call: CallRecord) -> tuple[CallRecord, IngestResult]:
        return await self.write(lambda tx: start_call_tx(tx, channel_id, msg, call))  # type: ignore[attr-defined]

    async def call_by_sid(self, channel_id: int, sid: str) -> CallRecord | None:
        return await self.read(_by_sid, channel_id, sid)  # type: ignore[attr-defined]

    async def call_record(self, call_id: int) -> CallRecord | None:
        return await self.read(_get, call_id)  # type: ignore[attr-defined]

    async def update_call(self, call_id: int, event_key: str, **fields_: Any
                          ) -> CallRecord | None:
        return await self.write(lambda tx: update_call_tx(tx, call_id, event_key, fields_))  # type: ignore[attr-defined]

    async def attach_call_recording(self, call_id: int, event_key: str, filename: str,
                                    content_type: str, data: bytes, duration: int | None
                                    ) -> CallRecord | None:
        def fn(tx: Tx) -> CallRecord | None:
            call = update_call_tx(tx, call_id, event_key, {
                "recording_file": filename, "recording_duration": duration})
            if call is not None and call.message_id is not None:
                save_attachment(tx, call.message_id, filename, content_type, data)
            return call

        return await self.write(fn)  # type: ignore[attr-defined]

    async def add_call_transcript(self, call_id: int, event_key: str, status: str,
                                  text: str) -> CallRecord | None:
        def fn(tx: Tx) -> CallRecord | None:
            call = update_call_tx(tx, call_id, event_key, {
                "transcript_status": status, "transcript": text or None})
            if call is not None and call.ticket_id is not None and status == "completed" and text:
                contact = tx.one("SELECT contact_id FROM messages WHERE id=?", (call.message_id,))
                add_message(tx, call.ticket_id, direction=Direction.inbound,
                            text=f"Voicemail transcript:\n{text}", author_name=call.customer,
                            contact_id=contact[0] if contact else None,
                            channel_id=call.channel_id, external_id=event_key)
            return call

        return await self.write(fn)  # type: ignore[attr-defined]

    async def ring_candidates(self, channel_id: int
                              ) -> tuple[RoutingRule, list[Agent], dict[int, list[int]]]:
        def fn(conn: sqlite3.Connection) -> tuple[RoutingRule, list[Agent], dict[int, list[int]]]:
            row = conn.execute("SELECT * FROM channels WHERE id=?", (channel_id,)).fetchone()
            rule = channel_from_row(row).routing if row else RoutingRule()
            members: dict[int, list[int]] = {}
            for r in conn.execute("SELECT team_id, agent_id FROM team_members"):
                members.setdefault(r[0], []).append(r[1])
            return rule, load_agents(conn), members

        return await self.read(fn)  # type: ignore[attr-defined]

    async def agent_by_phone(self, phone: str) -> Agent | None:
        def fn(conn: sqlite3.Connection) -> Agent | None:
            row = conn.execute("SELECT email FROM agents WHERE phone=?", (phone,)).fetchone()
            return find_agent(conn, row[0]) if row else None

        return await self.read(fn)  # type: ignore[attr-defined]

    async def queue_call_back(self, ticket_id: int, agent_id: int) -> CallRecord:
        return await self.write(lambda tx: queue_call_back_tx(tx, ticket_id, agent_id))  # type: ignore[attr-defined]

    async def link_call(self, call_id: int, sid: str, status: str) -> CallRecord | None:
        """The provider accepted a call-back: its ``CallSid`` (status callbacks find it by it)."""
        def fn(tx: Tx) -> CallRecord | None:
            call = _get(tx.conn, call_id)
            if call is None:
                return None
            call = call.changed(call_sid=sid, status=status if newer(call, None) else call.status)
            _render(tx, call)
            return call

        return await self.write(fn)  # type: ignore[attr-defined]

    async def missed_call_tickets(self, channel_id: int, limit: int = 20) -> list[int]:
        """Open tickets of ``channel_id`` whose latest inbound call nobody took and nobody has
        called back since, the most recent first (the demo's call-backs, a "call back" list)."""
        def fn(conn: sqlite3.Connection) -> list[int]:
            rows = conn.execute(
                "SELECT c.ticket_id, max(c.id) AS last FROM calls c"
                " JOIN tickets t ON t.id=c.ticket_id AND t.is_open=1"
                " WHERE c.channel_id=? AND c.direction='inbound' AND c.answered_by IS NULL"
                " AND (c.voicemail=1 OR c.status IN ('busy','no-answer','failed','canceled'))"
                " AND NOT EXISTS (SELECT 1 FROM calls o WHERE o.ticket_id=c.ticket_id"
                "                 AND o.direction='outbound' AND o.id > c.id)"
                " GROUP BY c.ticket_id ORDER BY last DESC LIMIT ?", (channel_id, limit))
            return [r[0] for r in rows]

        return await self.read(fn)  # type: ignore[attr-defined]

    async def ticket_calls(self, ticket_id: int) -> list[CallRecord]:
        def fn(conn: sqlite3.Connection) -> list[CallRecord]:
            return [call_from_row(r) for r in conn.execute(
                "SELECT * FROM calls WHERE ticket_id=? ORDER BY id", (ticket_id,))]

        return await self.read(fn)  # type: ignore[attr-defined]


__all__ = ["MISSED", "CallsMixin"]
