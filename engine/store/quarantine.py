"""Acting on the quarantine: read one item whole, mark it resolved, change its reason, delete.

Items are written by :func:`engine.store.tickets.quarantine_raw` (the one write path of
whatever could not be ingested) and listed by ``Store.quarantine``; this module is what the
``:quarantine`` screen and ``ticketty quarantine show|retry|delete`` need on top.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from engine.store.db import StoreError, Tx, dt


def _item(conn: sqlite3.Connection, item_id: int) -> dict[str, Any] | None:
    row = conn.execute(
        "SELECT q.id, q.at, q.channel_id, q.source, q.reason, q.raw, q.resolved, c.name"
        " FROM quarantine q LEFT JOIN channels c ON c.id = q.channel_id WHERE q.id=?",
        (item_id,)).fetchone()
    if row is None:
        return None
    raw = bytes(row["raw"])
    return {"id": row["id"], "at": dt(row["at"]), "channel_id": row["channel_id"],
            "channel": row["name"], "source": row["source"], "reason": row["reason"],
            "size": len(raw), "resolved": bool(row["resolved"]), "raw": raw}


def resolve_quarantined(tx: Tx, item_id: int, ticket_id: int | None) -> None:
    """Mark an item as ingested at last (inside the transaction that ingested it)."""
    cur = tx.execute("UPDATE quarantine SET resolved=1 WHERE id=? AND resolved=0", (item_id,))
    if not cur.rowcount:
        raise StoreError(f"quarantined item {item_id} is gone or already resolved")
    tx.event("quarantine.resolved", ticket_id, quarantine_id=item_id)


class QuarantineMixin:
    """Mixed into ``Store``."""

    async def quarantined(self, item_id: int) -> dict[str, Any] | None:
        """One item with its raw bytes (``raw``) and channel name; ``None`` if there is none."""
        return await self.read(_item, item_id)  # type: ignore[attr-defined]

    async def set_quarantine_reason(self, item_id: int, reason: str) -> None:
        """A retry failed again: keep the item, with today's reason."""

        def fn(tx: Tx) -> None:
            tx.execute("UPDATE quarantine SET reason=?, at=? WHERE id=?",
                       (reason, tx.now, item_id))
            tx.event("quarantine.updated", quarantine_id=item_id)

        await self.write(fn)  # type: ignore[attr-defined]

    async def delete_quarantined(self, item_id: int) -> None:
        """Drop an item and its raw bytes for good."""

        def fn(tx: Tx) -> None:
            cur = tx.execute("DELETE FROM quarantine WHERE id=?", (item_id,))
            if not cur.rowcount:
                raise StoreError(f"no quarantined item {item_id}")
            tx.event("quarantine.deleted", quarantine_id=item_id)

        await self.write(fn)  # type: ignore[attr-defined]
