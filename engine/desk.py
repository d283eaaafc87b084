"""Agent actions on tickets: the calls behind every key, palette command and CLI verb.

The TUI, the CLI and the tests all go through :class:`Desk`, so a behaviour is written once.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from engine.channels import registry
from engine.channels.contract import ReplyContext, ReplyPlan
from engine.ingest import ingest
from engine.models import (
    Agent,
    InboundMessage,
    IngestResult,
    Source,
    normalize_email,
)
from engine.store import Store, StoreError
from engine.store.db import acting

if TYPE_CHECKING:
    from engine.channels.calls_book import CallRecord


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


MAX_REPLY_FILE = 25 * 1024 * 1024


async def reply_files(store: Store, ticket_id: int, paths: Sequence[Path]
                      ) -> list[tuple[str, str, bytes]]:
    """``(filename, content type, bytes)`` of files an agent attaches to a reply on
    ``ticket_id``; refused in words when the ticket's channel takes no attachments, a file is
    missing or larger than 25 MB."""
    import asyncio
    import mimetypes

    ticket = await store.ticket(ticket_id)
    channel = await store.channel(ticket.channel_id) if ticket and ticket.channel_id else None
    if ticket is None or channel is None or not registry.adapter_class(
            channel.kind).composer_spec(channel, ticket).attachments:
        kind = channel.kind if channel else "this"
        raise StoreError(f"files cannot be attached to replies on {_a(kind)} ticket")
    out = []
    for path in paths:
        try:
            size = path.stat().st_size
        except OSError as exc:
            raise StoreError(f"cannot attach {str(path)!r}: {exc.strerror or exc}") from None
        if size > MAX_REPLY_FILE:
            raise StoreError(f"cannot attach {path.name!r}: {size / 1e6:.1f} MB is more than 25 MB")
        ctype = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        out.append((path.name, ctype, await asyncio.to_thread(path.read_bytes)))
    return out


def _a(word: str) -> str:
    """``word`` with its indefinite article: "an email", "a chat"."""
    return ("an " if word[:1].lower() in "aeiou" else "a ") + word


def _plan_reply(ctx: ReplyContext) -> ReplyPlan | None:
    """The reply plan of the kind of ``ctx.channel`` — without a channel, of the first kind
    answering tickets that have none (the reply is kept, marked failed, with its ids)."""
    kind = ctx.channel.kind if ctx.channel is not None else next(iter(registry.orphan_kinds()),
                                                                  None)
    return registry.adapter_class(kind).prepare_reply(ctx) if kind else None


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
                    status: str | None = None,
                    attachments: Sequence[Path] = ()) -> tuple[int, int | None]:
        """Queue a reply to the customer; returns ``(message_id, outbox_id)``.

        In the same transaction the ticket takes ``status`` ("send as"; default: its
        pipeline's status after an agent reply, :meth:`~engine.models.Pipeline.reply_status`)
        and, when nobody has it and the workspace's ``assign_on_reply`` is on, is assigned to
        the agent who replied. The channel is the ticket's own, or the registry's choice for
        tickets without a sending channel (:func:`engine.channels.registry.pick_reply_channel`);
        its kind plans the reply (``prepare_reply``: ids, recipient, subject).
        ``attachments``: files sent with it, where the kind's composer takes them
        (:func:`reply_files` checks that and their size).
        """
        if not body.strip() and not attachments:
            raise StoreError("a reply needs a body")
        actor = self._need_actor()
        orphans = registry.orphan_kinds()
        files = await reply_files(self.store, ticket_id, attachments) if attachments else []
        with acting(self.acting):
            return await self.store.queue_reply(
                ticket_id, actor, body, html, status=status, kinds=orphans, attachments=files,
                pick=registry.pick_reply_channel, plan=_plan_reply, unsendable=(
                    "no channel to send this reply through"
                    + (f" (connect {_a(' or '.join(orphans))} channel)" if orphans else "")))

    async def canned_reply(self, ticket_id: int, canned_id: int) -> str:
        """A canned reply's text for this ticket, placeholders filled (see :func:`fill_canned`)."""
        actor = self._need_actor()
        ctx = await self.store.canned_reply_context(ticket_id, canned_id)
        return fill_canned(ctx.body, customer_name=ctx.customer_name,
                           customer_email=ctx.customer_email, agent_name=actor.name,
                           ticket_id=ticket_id)

    async def call_back(self, ticket_id: int) -> CallRecord:
        """Call the ticket's customer back: queued on the calls channel's outbox (the engine
        places it under the account's calls-per-second limit), ringing this agent's
        ``phone`` first, then the customer with the channel's number as caller id; logged on
        the ticket like an inbound call. ``:call``, ``V`` on a ticket, ``tickets call``."""
        actor = self._need_actor()
        with acting(self.acting):
            return await self.store.queue_call_back(ticket_id, actor.id or 0)

    async def note(self, ticket_id: int, body: str) -> int:
        if not body.strip():
            raise StoreError("a note needs a body")
        actor = self._need_actor()
        with acting(self.acting):
            return await self.store.add_note(ticket_id, body, actor)

    # -------------------------------------------------------------- properties
    async def assign(self, ticket_id: int, agent_email: str | None = None,
                     team: str | None = None) -> bool:
        """Assign to an agent (by email), a team, or nobody (both None)."""
        with acting(self.acting):
            return await self.store.assign_ticket(ticket_id, agent_email, team, self.actor_id)

    async def assign_if(self, ticket_id: int, agent_email: str | None,
                        expected: int | None) -> bool:
        """Assign only while the assignee is still ``expected`` (the agent id the caller saw;
        None: nobody): of two agents taking one ticket at once, one wins and the other gets
        :class:`engine.store.collision.AssignConflict` naming who has it."""
        with acting(self.acting):
            return await self.store.assign_if(ticket_id, agent_email, expected, self.actor_id)

    async def take(self, ticket_id: int) -> bool:
        """Assign to yourself, only if nobody has it (or you already do)."""
        actor = self._need_actor()
        return await self.assign_if(ticket_id, actor.email, None)

    async def set_status(self, ticket_id: int, status: str) -> bool:
        with acting(self.acting):
            return await self.store.set_ticket_status(ticket_id, status, self.actor_id)

    async def close(self, ticket_id: int) -> bool:
        with acting(self.acting):
            return await self.store.close_ticket(ticket_id, self.actor_id)

    async def close_with_undo(self, ticket_id: int) -> CloseUndo | None:
        """Close at once (no confirmation) and say how to take it back; None: already closed."""
        with acting(self.acting):
            closed = await self.store.close_ticket_undoably(ticket_id, self.actor_id)
        return CloseUndo(ticket_id, *closed) if closed else None

    async def undo_close(self, undo: CloseUndo) -> None:
        """Give the ticket back the status it had before :meth:`close_with_undo` — only while
        nobody changed it since (else the undo would overwrite their change)."""
        with acting(self.acting):
            await self.store.undo_close(undo.ticket_id, undo.previous, undo.closed_as,
                                        self.actor_id)

    async def reopen(self, ticket_id: int) -> bool:
        with acting(self.acting):
            return await self.store.reopen_ticket(ticket_id, self.actor_id)

    async def set_priority(self, ticket_id: int, priority: str) -> bool:
        with acting(self.acting):
            return await self.store.set_ticket_priority(ticket_id, priority, self.actor_id)

    async def set_pipeline(self, ticket_id: int, pipeline: str) -> bool:
        with acting(self.acting):
            return await self.store.set_ticket_pipeline(ticket_id, pipeline, self.actor_id)

    async def mark_read(self, ticket_id: int) -> None:
        with acting(self.acting):
            await self.store.mark_ticket_read(ticket_id)

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
