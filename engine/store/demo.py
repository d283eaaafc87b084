"""The demo simulator's reads and writes (``engine/demo.py`` holds no SQL).

- :func:`workspace_kind` tells a fresh file from a demo workspace from somebody's real help
  desk, read-only and before anything opens (and migrates) the file: the demo refuses the last.
- :func:`conversations` is what simulated colleagues look at to pick their next move.
- :func:`marks` / :func:`traffic_since` count what happened after a point in time by row ids,
  which no clock skew or back-dated ``Date:`` header can blur.

:class:`DemoMixin` puts them on ``Store`` for the simulator.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from engine.identities import EMAIL
from engine.store.db import Tx

#: set in ``kv`` when seeding starts (``demo.seeded`` when it finished)
DEMO_MARK = "demo.workspace"
DEMO_SEEDED = "demo.seeded"


def workspace_kind(path: Path) -> str:
    """``"new"`` (no file, or nothing in it), ``"demo"``, ``"workspace"`` (a real help desk)
    or ``"foreign"`` (not a ticketty database). Opens the file read-only."""
    if not path.exists() or path.stat().st_size == 0:
        return "new"
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error:
        return "foreign"
    try:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if not tables:
            return "new"
        if not {"kv", "tickets", "agents", "channels"} <= tables:
            return "foreign"
        marks = conn.execute("SELECT count(*) FROM kv WHERE key IN (?, ?)",
                             (DEMO_MARK, DEMO_SEEDED)).fetchone()[0]
        if marks:
            return "demo"
        used = conn.execute("SELECT EXISTS (SELECT 1 FROM tickets) OR EXISTS (SELECT 1 FROM agents)"
                            " OR EXISTS (SELECT 1 FROM channels)").fetchone()[0]
        return "workspace" if used else "new"
    except sqlite3.Error:
        return "foreign"
    finally:
        conn.close()


# ------------------------------------------------------------------ seeding
def seed_thread(tx: Tx, ticket_id: int, agent: Any, channel_id: int,
                steps: list[tuple[str, str, float]]) -> None:
    """A past conversation: the ticket goes to ``agent`` and gets ``steps`` —
    ``(direction, text, at)``, inbound ones written by the ticket's contact — and was read."""
    from engine.store.tickets import add_message, assign

    assign(tx, ticket_id, agent.id, reason="seeded history")
    contact = tx.row("SELECT t.contact_id, c.name, (SELECT value FROM contact_identities i WHERE"
                     " i.contact_id = t.contact_id AND i.kind=? LIMIT 1) AS email"
                     " FROM tickets t JOIN contacts c ON c.id = t.contact_id WHERE t.id=?",
                     (EMAIL.name, ticket_id))
    for direction, text, at in steps:
        if direction == "outbound":
            add_message(tx, ticket_id, direction="outbound", text=text, author_name=agent.name,
                        author_email=agent.email, agent_id=agent.id, channel_id=channel_id,
                        delivery_state="sent", at=at)
        else:
            add_message(tx, ticket_id, direction="inbound", text=text,
                        author_name=contact["name"], author_email=contact["email"],
                        contact_id=contact["contact_id"], channel_id=channel_id, at=at)
    settle_history(tx, [ticket_id])


def settle_history(tx: Tx, ticket_ids: list[int]) -> None:
    """Seeded past tickets were read long ago."""
    tx.conn.executemany("UPDATE tickets SET unread=0 WHERE id=?", [(t,) for t in ticket_ids])


def give_owners(tx: Tx, owners: list[int], limit: int, pick: Any) -> None:
    """The first ``limit`` contacts get an owner (``pick(owners)`` chooses one)."""
    for row in tx.all("SELECT id FROM contacts ORDER BY id LIMIT ?", (limit,)):
        tx.execute("UPDATE contacts SET owner_id=? WHERE id=?", (pick(owners), row[0]))


# ------------------------------------------------------------------ traffic
#: a chat bot's lines (``engine.store.chat.BOT_PREFIX``) are no colleague's answer
NOT_BOT = "(m.external_id IS NULL OR m.external_id NOT LIKE 'bot:%')"


def conversations(conn: sqlite3.Connection, you_email: str) -> list[dict[str, Any]]:
    """Every open ticket not assigned to you, with what a colleague needs to act on it:
    its subject, assignee (email, availability, seat), the direction of the last public message,
    the text of the last inbound one, and how many answers it already had."""
    rows = conn.execute(
        "SELECT t.id, t.subject, t.status, t.assignee_id, a.email AS agent_email,"
        " a.availability, a.seat, t.activity_at,"
        " (SELECT m.direction FROM messages m WHERE m.ticket_id=t.id AND m.direction IN"
        "   ('inbound','outbound') AND " + NOT_BOT +
        "   ORDER BY m.created_at DESC, m.id DESC LIMIT 1) AS last_dir,"
        " (SELECT m.text FROM messages m WHERE m.ticket_id=t.id AND m.direction='inbound'"
        "   ORDER BY m.created_at DESC, m.id DESC LIMIT 1) AS last_in,"
        " (SELECT count(*) FROM messages m WHERE m.ticket_id=t.id AND m.direction='outbound'"
        "   AND " + NOT_BOT + ") AS answers"
        " FROM tickets t LEFT JOIN agents a ON a.id = t.assignee_id"
        " WHERE t.is_open=1 AND (a.email IS NULL OR a.email != ?)"
        " ORDER BY t.activity_at", (you_email,)).fetchall()
    return [dict(r) for r in rows]


def inbound_texts(conn: sqlite3.Connection, ticket_id: int) -> list[str]:
    """What the customer wrote on a ticket, oldest first."""
    return [r[0] for r in conn.execute(
        "SELECT text FROM messages WHERE ticket_id=? AND direction='inbound' ORDER BY created_at, id",
        (ticket_id,))]


def open_count(conn: sqlite3.Connection, kinds: tuple[str, ...]) -> int:
    """Open tickets of the channels of these kinds (the ones the simulated colleagues work)."""
    marks_ = ",".join("?" * len(kinds))
    return conn.execute("SELECT count(*) FROM tickets t JOIN channels c ON c.id = t.channel_id"
                        f" WHERE t.is_open=1 AND c.kind IN ({marks_})", kinds).fetchone()[0]


# ------------------------------------------------------------------ summary
def marks(conn: sqlite3.Connection) -> dict[str, int]:
    """The newest row ids now: what comes after them happened during the run."""
    one = conn.execute("SELECT (SELECT coalesce(max(id),0) FROM tickets),"
                       " (SELECT coalesce(max(id),0) FROM messages),"
                       " (SELECT coalesce(max(id),0) FROM outbox)").fetchone()
    return {"ticket": one[0], "message": one[1], "outbox": one[2]}


def traffic_since(conn: sqlite3.Connection, mark: dict[str, int],
                  kinds: tuple[str, ...]) -> dict[str, Any]:
    """What happened after ``mark``, per channel: new tickets (assigned or not), inbound mails
    split into new conversations and follow-ups (with the follow-ups' tickets), replies sent."""
    channels: dict[str, Any] = {}
    for ch in conn.execute("SELECT id, name, kind FROM channels WHERE removed=0 ORDER BY id"):
        created, assigned = conn.execute(
            "SELECT count(*), count(assignee_id) FROM tickets WHERE id > ? AND channel_id=?",
            (mark["ticket"], ch["id"])).fetchone()
        new_mails, follow_ups = conn.execute(
            "SELECT count(*) FILTER (WHERE first), count(*) FILTER (WHERE NOT first) FROM ("
            " SELECT m.ticket_id > ? AND m.id = (SELECT min(id) FROM messages f WHERE"
            "   f.ticket_id = m.ticket_id AND f.direction='inbound') AS first"
            " FROM messages m WHERE m.id > ? AND m.direction='inbound' AND m.channel_id=?)",
            (mark["ticket"], mark["message"], ch["id"])).fetchone()
        follow_up_tickets = [r[0] for r in conn.execute(
            "SELECT DISTINCT m.ticket_id FROM messages m WHERE m.id > ? AND m.direction='inbound'"
            " AND m.channel_id=? AND m.id != (SELECT min(id) FROM messages f WHERE"
            " f.ticket_id = m.ticket_id AND f.direction='inbound') ORDER BY m.ticket_id",
            (mark["message"], ch["id"]))]
        sent, pending, failed = conn.execute(
            "SELECT count(*) FILTER (WHERE state='sent'),"
            " count(*) FILTER (WHERE state IN ('queued','sending')),"
            " count(*) FILTER (WHERE state='failed')"
            " FROM outbox WHERE id > ? AND channel_id=? AND kind='reply'",
            (mark["outbox"], ch["id"])).fetchone()
        channels[ch["name"]] = {
            "kind": ch["kind"], "tickets_created": created, "assigned": assigned,
            "received": new_mails + follow_ups, "new_conversations": new_mails,
            "follow_ups": follow_ups, "follow_up_tickets": follow_up_tickets,
            "replies_sent": sent, "replies_waiting": pending, "replies_failed": failed,
        }
    notifications = conn.execute(
        "SELECT count(*) FROM outbox WHERE id > ? AND kind='notify' AND state='sent'",
        (mark["outbox"],)).fetchone()[0]
    return {"channels": channels, "open_tickets": open_count(conn, kinds),
            "notifications_sent": notifications}


class DemoMixin:
    """The demo simulator's typed reads and its one seeding write; mixed into ``Store``."""

    async def seed_demo_history(self, threads: list[tuple[int, Any, int, list[tuple[str, str, float]]]],
                                owners: list[int], owned_contacts: int, pick: Any) -> None:
        """Past conversations (``(ticket_id, agent, channel_id, steps)``, see
        :func:`seed_thread`) and owners for the first ``owned_contacts`` contacts, at once."""

        def fn(tx: Tx) -> None:
            for ticket_id, agent, channel_id, steps in threads:
                seed_thread(tx, ticket_id, agent, channel_id, steps)
            give_owners(tx, owners, owned_contacts, pick)

        await self.write(fn)  # type: ignore[attr-defined]

    async def demo_conversations(self, you_email: str) -> list[dict[str, Any]]:
        return await self.read(conversations, you_email)  # type: ignore[attr-defined]

    async def demo_inbound_texts(self, ticket_id: int) -> list[str]:
        return await self.read(inbound_texts, ticket_id)  # type: ignore[attr-defined]

    async def open_ticket_count(self, kinds: tuple[str, ...]) -> int:
        return await self.read(open_count, kinds)  # type: ignore[attr-defined]

    async def demo_marks(self) -> dict[str, int]:
        return await self.read(marks)  # type: ignore[attr-defined]

    async def demo_traffic_since(self, mark: dict[str, int], kinds: tuple[str, ...]) -> dict[str, Any]:
        return await self.read(traffic_since, mark, kinds)  # type: ignore[attr-defined]
