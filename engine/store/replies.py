"""Replies and a channel's own writes: the SQL behind ``Desk.reply`` and the channel host.

An agent's reply is one transaction (:meth:`RepliesMixin.queue_reply`): the status it sends
the ticket to is checked before anything is written, the outbound message is added, the
channel's kind plans the reply from the facts read here (its ``prepare_reply`` hook, passed in
as ``plan``: no channel knowledge lives in the store), the plan's external id and thread ids
are recorded with the outbox row, and the ticket takes the send-as status and, when nobody has
it, the replying agent (the workspace's ``assign_on_reply``).

The channel host (:class:`engine.channels.host.StoreChannelHost`) writes through
:meth:`RepliesMixin.enqueue_outbound` (an automatic acknowledgement, rate-limited per sender
in the same transaction) and reads ``Store.count_channel_tickets``.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Callable, Sequence
from typing import Any

from engine.channels.contract import ReplyContext, ReplyPlan
from engine.models import Agent, Channel, DeliveryState, Direction
from engine.store import outbox as rows
from engine.store import tickets as T
from engine.store.db import StoreError, Tx
from engine.store.directory import channel_from_row
from engine.store.workflow import get_pipeline, load_workspace

#: picks the channel a reply leaves through from (the ticket's own, the candidates)
PickChannel = Callable[[Channel | None, Sequence[Channel]], Channel | None]
#: a kind's ``prepare_reply`` for the chosen channel (None: no kind can plan it)
PlanReply = Callable[[ReplyContext], ReplyPlan | None]


def send_as(tx: Tx, ticket: sqlite3.Row, status: str | None) -> str | None:
    """The status a reply leaves the ticket in (checked before anything is written)."""
    pipeline = get_pipeline(tx, ticket["pipeline"])
    if status is None:
        return pipeline.reply_status()
    if pipeline.status(status) is None:
        names = ", ".join(s.name for s in pipeline.statuses)
        raise StoreError(f"status {status!r} is not in pipeline {pipeline.name!r} ({names})")
    return status


def reply_channel(tx: Tx, ticket: sqlite3.Row, kinds: Sequence[str],
                  pick: PickChannel) -> Channel | None:
    """The channel a reply on ``ticket`` leaves through: ``pick`` chooses between the ticket's
    own channel and the live channels of ``kinds`` (those answering tickets without one)."""
    own = None
    if ticket["channel_id"] is not None:
        row = tx.one("SELECT * FROM channels WHERE id=?", (ticket["channel_id"],))
        own = channel_from_row(row) if row else None
    candidates = [channel_from_row(r) for r in tx.all(
        f"SELECT * FROM channels WHERE removed=0 AND kind IN ({','.join('?' * len(kinds))})"
        " ORDER BY id", tuple(kinds))] if kinds else []
    return pick(own, candidates)


def reply_context(tx: Tx, ticket: sqlite3.Row, *, message_id: int, key: str,
                  channel: Channel | None, agent: Agent, body: str,
                  html: str | None) -> ReplyContext:
    """The facts a kind plans a reply from (see :class:`ReplyContext`)."""
    ticket_id = ticket["id"]
    identities = tuple((r[0], r[1]) for r in tx.all(
        "SELECT kind, value FROM contact_identities WHERE contact_id=? ORDER BY kind, value",
        (ticket["contact_id"],)))
    thread_ids = tuple(r[0] for r in tx.all(
        "SELECT msgid FROM thread_ids WHERE ticket_id=? ORDER BY message_id", (ticket_id,)))
    inbound_ids = tuple(r[0] for r in tx.all(
        "SELECT external_id FROM messages WHERE ticket_id=? AND direction='inbound'"
        " AND external_id IS NOT NULL ORDER BY created_at DESC, id DESC", (ticket_id,)))
    # the customer's latest Reply-To, when it was not their own address
    latest = tx.one(
        "SELECT reply_to FROM messages WHERE ticket_id=? AND direction='inbound'"
        " AND contact_id=? ORDER BY created_at DESC, id DESC LIMIT 1",
        (ticket_id, ticket["contact_id"]))
    return ReplyContext(
        ticket_id=ticket_id, subject=ticket["subject"], message_id=message_id, key=key,
        channel=channel, body=body, html=html, agent_name=agent.name,
        agent_email=agent.email, identities=identities,
        reply_to=latest[0] if latest and latest[0] else None, thread_ids=thread_ids,
        inbound_ids=inbound_ids)


def queue_reply(tx: Tx, ticket: sqlite3.Row, agent: Agent, body: str, html: str | None, *,
                kinds: Sequence[str], pick: PickChannel, plan: PlanReply,
                unsendable: str, attachments: Sequence[tuple[str, str, bytes]] = ()
                ) -> tuple[int, int | None]:
    """The outbound message and its outbox row, with the kind's ids fixed at queue time.
    Without a channel the message is marked failed with ``unsendable`` as the reason."""
    ticket_id = ticket["id"]
    channel = reply_channel(tx, ticket, kinds, pick)
    mid = T.add_message(
        tx, ticket_id, direction=Direction.outbound, text=body, html=html,
        author_name=agent.name, author_email=agent.email, agent_id=agent.id,
        channel_id=channel.id if channel else None, delivery_state=DeliveryState.queued,
        attachments=list(attachments),
    )
    tx.execute("UPDATE tickets SET unread=0 WHERE id=?", (ticket_id,))
    key = f"reply:{mid}"
    ctx = reply_context(tx, ticket, message_id=mid, key=key, channel=channel, agent=agent,
                        body=body, html=html)
    # the thread ids are read before this reply's own go in: a reply never refers to itself
    planned = plan(ctx)
    if planned is not None and planned.external_id:
        tx.execute("UPDATE messages SET external_id=? WHERE id=?", (planned.external_id, mid))
    for thread_id in planned.thread_ids if planned is not None else ():
        tx.execute("INSERT INTO thread_ids VALUES (?,?,?) ON CONFLICT DO NOTHING",
                   (thread_id, ticket_id, mid))
    if channel is None or planned is None:
        tx.execute("UPDATE messages SET delivery_state='failed', delivery_error=? WHERE id=?",
                   (unsendable, mid))
        return mid, None
    payload = planned.payload
    if attachments:  # the sender reads them from the blob store (written just above)
        payload = {**payload, "attachments": [
            {"filename": name, "content_type": ctype,
             "path": str(tx.blob_dir / digest[:2] / digest)}
            for name, ctype, data in attachments
            for digest in (hashlib.sha256(data).hexdigest(),)]}
    oid = rows.insert(tx, kind="reply", payload=payload, channel_id=channel.id,
                      ticket_id=ticket_id, message_id=mid, key=key)
    return mid, oid


class RepliesMixin:
    """Mixed into ``Store``: replies, and the writes a channel host makes."""

    async def queue_reply(self, ticket_id: int, agent: Agent, body: str, html: str | None, *,
                          status: str | None, kinds: Sequence[str], pick: PickChannel,
                          plan: PlanReply, unsendable: str,
                          attachments: Sequence[tuple[str, str, bytes]] = ()
                          ) -> tuple[int, int | None]:
        """Queue an agent's reply in one transaction (see the module docstring); returns
        ``(message_id, outbox_id)`` — no outbox row when there is no channel to send through."""

        def fn(tx: Tx) -> tuple[int, int | None]:
            ticket = T.require_ticket(tx, ticket_id)
            target = send_as(tx, ticket, status)
            mid, oid = queue_reply(tx, ticket, agent, body, html, kinds=kinds, pick=pick,
                                   plan=plan, unsendable=unsendable, attachments=attachments)
            if target is not None and target != ticket["status"]:
                T.set_status(tx, ticket_id, target, agent.id)
            if ticket["assignee_id"] is None and agent.seat \
                    and load_workspace(tx.conn).assign_on_reply:
                T.assign(tx, ticket_id, agent.id, None, agent.id, reason="by replying")
                tx.execute("DELETE FROM routing_pending WHERE ticket_id=?", (ticket_id,))
            return mid, oid

        return await self.write(fn)  # type: ignore[attr-defined]

    async def enqueue_outbound(self, kind: str, *, channel_id: int | None,
                               ticket_id: int | None, payload: dict[str, Any], key: str,
                               limit: tuple[str, int, float] | None = None) -> int | None:
        """Queue an automatic outbound item once per ``key``. ``limit``: ``(per, most,
        window)`` — at most ``most`` such items for ``per`` (a sender) in ``window`` seconds,
        counted in the same transaction; None when the limit holds this one back."""

        def fn(tx: Tx) -> int | None:
            if limit is not None:
                per, most, window = limit
                since = tx.now - window
                sent = tx.all("SELECT count(*) FROM auto_reply_log WHERE sender=? AND at > ?",
                              (per, since))[0][0]
                if sent >= most:
                    return None
                tx.execute("INSERT INTO auto_reply_log(sender, at) VALUES (?,?)", (per, tx.now))
                tx.execute("DELETE FROM auto_reply_log WHERE at < ?", (since,))
            return rows.insert(tx, kind=kind, payload=payload, channel_id=channel_id,
                               ticket_id=ticket_id, message_id=None, key=key)

        return await self.write(fn)  # type: ignore[attr-defined]

