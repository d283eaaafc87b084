"""Named leases: which process runs the channels (``runner``).

A lease is a row ``(name, holder, expires_at)``. The holder renews it before it expires; any
process may take it once it has expired or was released. Taking and releasing append events
(``engine.leader``, ``engine.released``) so waiting processes hear of a release at once.
:class:`LeasesMixin` runs taking and releasing on the store's lease connection
(``Store.write_lease``), so a renewal never waits behind queued ingest writes.
"""

from __future__ import annotations

import sqlite3
import time

from engine.store.db import Tx


def take(tx: Tx, name: str, holder: str, ttl: float) -> tuple[bool, float]:
    """Take or renew ``name`` for ``ttl`` seconds if it is free, expired or ours.

    Returns ``(held, expires_at)``: on failure ``expires_at`` is when the current holder's
    lease runs out, so a waiting process can try again at that moment.
    """
    row = tx.one("SELECT holder, expires_at FROM leases WHERE name=?", (name,))
    if row is None or row["holder"] == holder or row["expires_at"] < tx.now:
        tx.execute("INSERT INTO leases(name, holder, expires_at) VALUES (?,?,?) ON CONFLICT(name)"
                   " DO UPDATE SET holder=excluded.holder, expires_at=excluded.expires_at",
                   (name, holder, tx.now + ttl))
        if row is None or row["holder"] != holder:
            tx.event("engine.leader", holder=holder)
        return True, tx.now + ttl
    return False, row["expires_at"]


def release(tx: Tx, name: str, holder: str) -> bool:
    """Give ``name`` up if ``holder`` has it; says so in the event log."""
    cur = tx.execute("DELETE FROM leases WHERE name=? AND holder=?", (name, holder))
    if cur.rowcount:
        tx.event("engine.released", holder=holder, lease=name)
    return bool(cur.rowcount)


def holder(conn: sqlite3.Connection, name: str, now: float) -> str | None:
    row = conn.execute("SELECT holder, expires_at FROM leases WHERE name=?", (name,)).fetchone()
    return row["holder"] if row and row["expires_at"] > now else None


class LeasesMixin:
    """Mixed into ``Store``."""

    async def try_lease(self, name: str, holder: str, ttl: float) -> tuple[bool, float]:
        """Take or renew ``name`` for ``ttl`` seconds (see :func:`take`)."""
        return await self.write_lease(take, name, holder, ttl)  # type: ignore[attr-defined]

    async def release_lease(self, name: str, holder: str) -> bool:
        """Give ``name`` up if ``holder`` has it."""
        return await self.write_lease(release, name, holder)  # type: ignore[attr-defined]

    async def lease_holder(self, name: str) -> str | None:
        """Who holds ``name`` now (``None``: nobody, or the lease ran out)."""
        return await self.read(holder, name, time.time())  # type: ignore[attr-defined]
