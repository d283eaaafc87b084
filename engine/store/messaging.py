"""Messaging channels' rows (Messenger, WhatsApp): the webhook inbox, consent records,
delivery receipts and the facts the platforms' reply windows are computed from.

- **Webhook inbox**: a delivery is stored raw (one short insert) before the platform gets its
  200, then processed from here; a crash between the two leaves the row ``new`` and it is
  processed again (ingest is idempotent by the platform's message id). Rows move ``new`` →
  ``done`` | ``failed``; events waiting for a person's consent are ``held`` (``held_for``: their
  identity) and go back to ``new`` when the consent arrives.
- **Consent records**: kept by the identity that gave them (a page-scoped id, a phone number),
  so a consent given before the person's first message was ingested still belongs to them, and
  follows them when contacts are merged. :meth:`MessagingMixin.consent_records` lists a
  contact's.
- **Receipts**: a message's delivery state only moves forward (sent → delivered → read);
  ``failed`` (with its reason) replaces anything but ``read``.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime

from engine.identities import identity
from engine.store.db import StoreError, Tx, dt

#: how far along a delivery is; a receipt never moves a message back
RANK = {"none": -1, "queued": 0, "sending": 0, "sent": 1, "delivered": 2, "read": 3, "failed": 1}


@dataclass(frozen=True)
class ConsentRecord:
    """One consent a person gave on a channel: its kind (explicit / implicit), the text they
    were shown, when, and the identity it was given by."""

    kind: str
    text: str
    at: datetime
    channel_id: int | None
    identity_kind: str
    identity_value: str


def _norm(kind: str, value: str) -> str:
    return identity(kind).normalize(value)


def inbox_add(tx: Tx, channel_id: int, body: bytes, state: str = "new",
              held_for: str | None = None) -> int:
    return tx.insert("INSERT INTO webhook_inbox(channel_id, body, received_at, state, held_for)"
                     " VALUES (?,?,?,?,?)", (channel_id, body, tx.now, state, held_for))


def inbox_pending(conn: sqlite3.Connection, channel_id: int, limit: int) -> list[tuple[int, bytes]]:
    return [(r[0], bytes(r[1])) for r in conn.execute(
        "SELECT id, body FROM webhook_inbox WHERE channel_id=? AND state='new' ORDER BY id LIMIT ?",
        (channel_id, limit))]


def inbox_done(tx: Tx, row_id: int, error: str | None) -> None:
    tx.execute("UPDATE webhook_inbox SET state=?, error=?, done_at=? WHERE id=?",
               ("failed" if error else "done", error, tx.now, row_id))


def inbox_release(tx: Tx, channel_id: int, held_for: str) -> int:
    return tx.execute("UPDATE webhook_inbox SET state='new', held_for=NULL WHERE channel_id=?"
                      " AND state='held' AND held_for=?", (channel_id, held_for)).rowcount


def inbox_prune(tx: Tx, channel_id: int, before: float) -> int:
    """Forget processed deliveries received before ``before`` (failed ones are also in
    quarantine with their bytes; held ones wait for consent and stay)."""
    return tx.execute("DELETE FROM webhook_inbox WHERE channel_id=? AND state IN ('done',"
                      " 'failed') AND received_at < ?", (channel_id, before)).rowcount


def inbox_counts(conn: sqlite3.Connection, channel_id: int) -> dict[str, int]:
    return {r[0]: r[1] for r in conn.execute(
        "SELECT state, count(*) FROM webhook_inbox WHERE channel_id=? GROUP BY state",
        (channel_id,))}


def record_consent(tx: Tx, channel_id: int | None, kind_of_id: str, value: str, kind: str,
                   text: str) -> int:
    value = _norm(kind_of_id, value)
    rid = tx.insert("INSERT INTO consent_records(identity_kind, identity_value, channel_id, kind,"
                    " text, at) VALUES (?,?,?,?,?,?)",
                    (kind_of_id, value, channel_id, kind, text, tx.now))
    contact = tx.one("SELECT contact_id FROM contact_identities WHERE kind=? AND value=?",
                     (kind_of_id, value))
    tx.event("contact.consent", contact_id=contact[0] if contact else None, channel_id=channel_id,
             consent=kind)
    return rid


def has_consent(conn: sqlite3.Connection, kind_of_id: str, value: str) -> bool:
    return conn.execute("SELECT 1 FROM consent_records WHERE identity_kind=? AND identity_value=?"
                        " LIMIT 1", (kind_of_id, _norm(kind_of_id, value))).fetchone() is not None


def consent_records(conn: sqlite3.Connection, contact_id: int) -> list[ConsentRecord]:
    return [ConsentRecord(r["kind"], r["text"], dt(r["at"]) or datetime.min, r["channel_id"],
                          r["identity_kind"], r["identity_value"]) for r in conn.execute(
        "SELECT r.* FROM consent_records r JOIN contact_identities ci"
        " ON ci.kind = r.identity_kind AND ci.value = r.identity_value"
        " WHERE ci.contact_id=? ORDER BY r.at, r.id", (contact_id,))]


def mark_delivery(tx: Tx, channel_id: int, external_ids: list[str], state: str,
                  error: str | None) -> list[int]:
    """Move the outbound messages sent as ``external_ids`` to ``state`` (never backwards)."""
    changed: list[int] = []
    for ext in external_ids:
        for r in tx.all("SELECT id, ticket_id, delivery_state FROM messages WHERE external_id=?"
                        " AND channel_id=? AND direction='outbound'", (ext, channel_id)):
            now = r["delivery_state"]
            if state == "failed" and now == "read":
                continue
            if state != "failed" and RANK.get(state, 0) <= RANK.get(now, 0) and now != "failed":
                continue
            tx.execute("UPDATE messages SET delivery_state=?, delivery_error=? WHERE id=?",
                       (state, error, r["id"]))
            tx.event("message.delivery", r["ticket_id"], message_id=r["id"], state=state,
                     error=error)
            changed.append(r["id"])
    return changed


def mark_read_until(tx: Tx, channel_id: int, kind_of_id: str, value: str, until: float) -> int:
    """Messenger's read watermark: every message we sent this person until ``until`` is read."""
    rows = tx.all(
        "SELECT m.id, m.ticket_id FROM messages m JOIN contact_identities ci"
        " ON ci.contact_id = (SELECT contact_id FROM tickets WHERE id = m.ticket_id)"
        " WHERE ci.kind=? AND ci.value=? AND m.channel_id=? AND m.direction='outbound'"
        " AND m.delivery_state IN ('sent','delivered') AND m.created_at <= ?",
        (kind_of_id, _norm(kind_of_id, value), channel_id, until))
    for r in rows:
        tx.execute("UPDATE messages SET delivery_state='read', delivery_error=NULL WHERE id=?",
                   (r["id"],))
        tx.event("message.delivery", r["ticket_id"], message_id=r["id"], state="read")
    return len(rows)


def customer_last_wrote(conn: sqlite3.Connection, channel_id: int, kind_of_id: str,
                        value: str) -> float | None:
    row = conn.execute(
        "SELECT max(m.created_at) FROM messages m JOIN contact_identities ci"
        " ON ci.contact_id = m.contact_id WHERE ci.kind=? AND ci.value=? AND m.channel_id=?"
        " AND m.direction='inbound'", (kind_of_id, _norm(kind_of_id, value), channel_id)).fetchone()
    return row[0] if row and row[0] is not None else None


def name_contact(tx: Tx, kind_of_id: str, value: str, name: str) -> int | None:
    """Give the contact of an identity ``name`` unless they have one; their id if named."""
    row = tx.one("SELECT c.id FROM contacts c JOIN contact_identities ci ON ci.contact_id = c.id"
                 " WHERE ci.kind=? AND ci.value=? AND c.name=''", (kind_of_id,
                                                                    _norm(kind_of_id, value)))
    if row is None or not name:
        return None
    tx.execute("UPDATE contacts SET name=? WHERE id=?", (name, row[0]))
    tx.event("contact.updated", contact_id=row[0])
    return int(row[0])


def message_text(conn: sqlite3.Connection, channel_id: int, external_id: str) -> str | None:
    row = conn.execute("SELECT text FROM messages WHERE external_id=? AND channel_id=? LIMIT 1",
                       (external_id, channel_id)).fetchone()
    return row[0] if row else None


def merge_contacts(tx: Tx, keep: int, other: int) -> None:
    """Make ``other`` part of ``keep``: identities (and the consent kept by them), tickets,
    messages, form submissions; ``other`` goes."""
    if keep == other:
        raise StoreError("a contact cannot be merged with itself")
    for cid in (keep, other):
        if tx.one("SELECT 1 FROM contacts WHERE id=?", (cid,)) is None:
            raise StoreError(f"no contact with id {cid}")
    tx.execute("UPDATE contact_identities SET contact_id=? WHERE contact_id=?", (keep, other))
    tx.execute("UPDATE tickets SET contact_id=? WHERE contact_id=?", (keep, other))
    tx.execute("UPDATE messages SET contact_id=? WHERE contact_id=?", (keep, other))
    tx.execute("UPDATE form_submissions SET contact_id=? WHERE contact_id=?", (keep, other))
    tx.execute("UPDATE contacts SET name=CASE WHEN name='' THEN"
               " (SELECT name FROM contacts WHERE id=?) ELSE name END WHERE id=?", (other, keep))
    tx.execute("DELETE FROM contacts WHERE id=?", (other,))
    tx.event("contact.merged", contact_id=keep, merged=other)


class MessagingMixin:
    """Mixed into ``Store``: the messaging channels' rows (see the module docstring)."""

    async def inbox_add(self, channel_id: int, body: bytes) -> int:
        """Keep one webhook delivery, raw, to be processed after it was acknowledged."""
        return await self.write(inbox_add, channel_id, body)  # type: ignore[attr-defined]

    async def inbox_hold(self, channel_id: int, body: bytes, held_for: str) -> int:
        """Keep an event until ``held_for`` (an identity) gives consent."""
        return await self.write(  # type: ignore[attr-defined]
            inbox_add, channel_id, body, "held", held_for)

    async def inbox_release(self, channel_id: int, held_for: str) -> int:
        """Events held for ``held_for`` go back to be processed; returns how many."""
        return await self.write(inbox_release, channel_id, held_for)  # type: ignore[attr-defined]

    async def inbox_pending(self, channel_id: int, limit: int = 50) -> list[tuple[int, bytes]]:
        return await self.read(inbox_pending, channel_id, limit)  # type: ignore[attr-defined]

    async def inbox_done(self, row_id: int, error: str | None = None) -> None:
        await self.write(inbox_done, row_id, error)  # type: ignore[attr-defined]

    async def inbox_prune(self, channel_id: int, before: float) -> int:
        return await self.write(inbox_prune, channel_id, before)  # type: ignore[attr-defined]

    async def inbox_counts(self, channel_id: int) -> dict[str, int]:
        """How many deliveries are in each state (new, done, held, failed)."""
        return await self.read(inbox_counts, channel_id)  # type: ignore[attr-defined]

    async def record_consent(self, channel_id: int | None, identity_kind: str, value: str,
                             kind: str, text: str) -> int:
        return await self.write(  # type: ignore[attr-defined]
            record_consent, channel_id, identity_kind, value, kind, text)

    async def has_consent(self, identity_kind: str, value: str) -> bool:
        return await self.read(has_consent, identity_kind, value)  # type: ignore[attr-defined]

    async def consent_records(self, contact_id: int) -> list[ConsentRecord]:
        """Every consent the contact gave (by any of their identities), oldest first."""
        return await self.read(consent_records, contact_id)  # type: ignore[attr-defined]

    async def mark_delivery(self, channel_id: int, external_ids: list[str], state: str,
                            error: str | None = None) -> list[int]:
        return await self.write(  # type: ignore[attr-defined]
            mark_delivery, channel_id, external_ids, state, error)

    async def mark_read_until(self, channel_id: int, identity_kind: str, value: str,
                              until: float) -> int:
        return await self.write(  # type: ignore[attr-defined]
            mark_read_until, channel_id, identity_kind, value, until)

    async def customer_last_wrote(self, channel_id: int, identity_kind: str,
                                  value: str) -> float | None:
        """When the person last wrote on this channel (epoch seconds), None: never."""
        return await self.read(  # type: ignore[attr-defined]
            customer_last_wrote, channel_id, identity_kind, value)

    async def name_contact(self, identity_kind: str, value: str, name: str) -> int | None:
        """Name the contact of an identity when they have no name yet (a profile look-up)."""
        return await self.write(  # type: ignore[attr-defined]
            name_contact, identity_kind, value, name)

    async def message_text(self, channel_id: int, external_id: str) -> str | None:
        return await self.read(message_text, channel_id, external_id)  # type: ignore[attr-defined]

    async def merge_contacts(self, keep: int, other: int) -> None:
        """``contacts merge``: ``other`` becomes part of ``keep``."""
        await self.write(merge_contacts, keep, other)  # type: ignore[attr-defined]
