"""Forms: their definitions, their submissions, and a contact's timeline.

A definition is kept whole as the JSON of :class:`engine.form_defs.FormDef` under its slug
(the slug is the form's identity: ``/f/<slug>``, ``forms edit SLUG``). A submission is
written by the ingest transaction itself (:func:`record_submission`, called from
:mod:`engine.store.ingest` when a message carries ``extra["form_submission"]``), so a ticket
never exists without its submission nor the other way round. It keeps every field — hidden
ones too, which never reach the thread — with the page URL and the time: the contact's
timeline (:meth:`FormsMixin.contact_timeline`) shows them next to the contact's tickets and
consent records.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from engine.form_defs import FormDef
from engine.models import InboundMessage
from engine.store.db import StoreError, Tx, dt
from engine.store.directory import load_contact
from engine.store.queries import RANK_PRIORITY


def _iso(value: float | None) -> str | None:
    when = dt(value)
    return when.isoformat() if when else None


def _form(row: sqlite3.Row) -> FormDef:
    return FormDef.model_validate_json(row["definition"])


def _channels_using(conn: sqlite3.Connection, slug: str) -> list[str]:
    rows = conn.execute("SELECT name, settings FROM channels WHERE kind='forms' AND removed=0"
                        " ORDER BY id").fetchall()
    return [r["name"] for r in rows if json.loads(r["settings"] or "{}").get("form") == slug]


def record_submission(tx: Tx, msg: InboundMessage, contact_id: int, ticket_id: int,
                      message_id: int) -> int:
    """Keep the submission a message carries (``extra["form_submission"]``: ``form``,
    ``fields`` — a list of ``{key, label, type, value, hidden}`` — and ``page_url``)."""
    sub = msg.extra["form_submission"]
    sid = tx.insert(
        "INSERT INTO form_submissions(form_slug, channel_id, contact_id, ticket_id, message_id,"
        " fields, page_url, submitted_at) VALUES (?,?,?,?,?,?,?,?)",
        (sub["form"], msg.channel_id, contact_id, ticket_id, message_id,
         json.dumps(sub["fields"], ensure_ascii=False), sub.get("page_url"),
         msg.received_at.timestamp()))
    tx.event("form.submitted", ticket_id, form=sub["form"], submission_id=sid,
             contact_id=contact_id)
    return sid


def submission_json(r: sqlite3.Row) -> dict[str, Any]:
    return {"type": "form_submission", "at": _iso(r["submitted_at"]), "id": r["id"],
            "form": r["form_slug"], "ticket_id": r["ticket_id"], "page_url": r["page_url"],
            "fields": json.loads(r["fields"])}


def contact_timeline(conn: sqlite3.Connection, email: str) -> dict[str, Any] | None:
    """A contact with its timeline (tickets, form submissions, consent records), newest
    first; None when no contact has this address."""
    row = conn.execute("SELECT contact_id FROM contact_identities WHERE kind='email' AND value=?",
                       (email.strip().lower(),)).fetchone()
    if row is None:
        return None
    contact = load_contact(conn, row[0])
    assert contact is not None  # its identity row points at it
    owner = conn.execute("SELECT email FROM agents WHERE id=?",
                         (contact.owner_id,)).fetchone() if contact.owner_id else None
    items: list[dict[str, Any]] = []
    for t in conn.execute(
            "SELECT t.id, t.subject, t.status, t.is_open, t.prio, t.created_at, t.source,"
            " c.name AS channel FROM tickets t LEFT JOIN channels c ON c.id = t.channel_id"
            " WHERE t.contact_id=?", (contact.id,)):
        items.append({"type": "ticket", "at": _iso(t["created_at"]), "ticket_id": t["id"],
                      "subject": t["subject"], "status": t["status"],
                      "open": bool(t["is_open"]), "priority": RANK_PRIORITY[t["prio"]],
                      "channel": t["channel"], "source": t["source"]})
    for s in conn.execute("SELECT * FROM form_submissions WHERE contact_id=?", (contact.id,)):
        items.append(submission_json(s))
    for r in conn.execute(  # consent given on a messaging channel, kept by its identity
            "SELECT r.kind, r.text, r.at, r.identity_kind, r.identity_value, ch.name AS channel"
            " FROM consent_records r JOIN contact_identities ci ON ci.kind = r.identity_kind"
            " AND ci.value = r.identity_value LEFT JOIN channels ch ON ch.id = r.channel_id"
            " WHERE ci.contact_id=?", (contact.id,)):
        items.append({"type": "consent", "at": _iso(r["at"]), "kind": r["kind"],
                      "granted": True, "channel": r["channel"], "text": r["text"],
                      "identity": f"{r['identity_kind']}:{r['identity_value']}"})
    items.sort(key=lambda i: i["at"] or "", reverse=True)
    return {"id": contact.id, "name": contact.name, "emails": contact.emails,
            "phones": contact.phones, "identities": contact.identities,
            "owner": owner[0] if owner else None, "unverified": contact.unverified,
            "created_at": contact.created_at.isoformat() if contact.created_at else None,
            "timeline": items}


class FormsMixin:
    """Forms and submissions, mixed into ``Store``."""

    async def add_form(self, form: FormDef) -> FormDef:
        """Keep a new form; :class:`StoreError` when its slug is taken."""

        def fn(tx: Tx) -> FormDef:
            if tx.one("SELECT 1 FROM forms WHERE slug=?", (form.slug,)):
                raise StoreError(f"a form with slug {form.slug!r} exists already"
                                 " (`ticketty forms edit` changes it)")
            tx.insert("INSERT INTO forms(slug, name, definition, created_at, updated_at)"
                      " VALUES (?,?,?,?,?)",
                      (form.slug, form.name, form.model_dump_json(), tx.now, tx.now))
            tx.event("form.added", slug=form.slug)
            return form

        return await self.write(fn)  # type: ignore[attr-defined]

    async def update_form(self, slug: str, form: FormDef) -> FormDef:
        """Replace the definition of form ``slug`` (the slug itself stays)."""
        if form.slug != slug:
            raise StoreError(f"slug: the file says {form.slug!r} but this is form {slug!r};"
                             " a form's slug is its address and does not change")

        def fn(tx: Tx) -> FormDef:
            done = tx.execute("UPDATE forms SET name=?, definition=?, updated_at=? WHERE slug=?",
                              (form.name, form.model_dump_json(), tx.now, slug))
            if not done.rowcount:
                raise StoreError(f"no form with slug {slug!r} (see `ticketty forms list`)")
            tx.event("form.updated", slug=slug)
            return form

        return await self.write(fn)  # type: ignore[attr-defined]

    async def remove_form(self, slug: str) -> None:
        """Remove a form no channel uses (its submissions stay on the timelines)."""

        def fn(tx: Tx) -> None:
            using = _channels_using(tx.conn, slug)
            if using:
                raise StoreError(f"form {slug!r} is used by channel {using[0]!r}; remove or"
                                 " change that channel first")
            if not tx.execute("DELETE FROM forms WHERE slug=?", (slug,)).rowcount:
                raise StoreError(f"no form with slug {slug!r} (see `ticketty forms list`)")
            tx.event("form.removed", slug=slug)

        await self.write(fn)  # type: ignore[attr-defined]

    async def form(self, slug: str) -> FormDef | None:
        row = await self.read(lambda c: c.execute(  # type: ignore[attr-defined]
            "SELECT definition FROM forms WHERE slug=?", (slug,)).fetchone())
        return _form(row) if row else None

    async def forms(self) -> list[dict[str, Any]]:
        """Every form with its channels and how many submissions it had, by slug."""

        def fn(c: sqlite3.Connection) -> list[dict[str, Any]]:
            out = []
            for r in c.execute("SELECT f.*, (SELECT count(*) FROM form_submissions s"
                               " WHERE s.form_slug=f.slug) AS n FROM forms f ORDER BY f.slug"):
                form = _form(r)
                out.append({"slug": form.slug, "name": form.name,
                            "fields": len(form.all_fields()), "submissions": r["n"],
                            "channels": _channels_using(c, form.slug),
                            "updated_at": _iso(r["updated_at"])})
            return out

        return await self.read(fn)  # type: ignore[attr-defined]

    async def contact_timeline(self, email: str) -> dict[str, Any] | None:
        """See :func:`contact_timeline`."""
        return await self.read(contact_timeline, email)  # type: ignore[attr-defined]

    async def submissions(self, slug: str | None = None, limit: int = 100
                          ) -> list[dict[str, Any]]:
        """The latest submissions (of form ``slug``), newest first."""

        def fn(c: sqlite3.Connection) -> list[dict[str, Any]]:
            where, args = ("WHERE form_slug=?", (slug, limit)) if slug else ("", (limit,))
            return [submission_json(r) for r in c.execute(
                f"SELECT * FROM form_submissions {where} ORDER BY submitted_at DESC, id DESC"
                " LIMIT ?", args)]

        return await self.read(fn)  # type: ignore[attr-defined]
