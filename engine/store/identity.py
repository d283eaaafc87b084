"""Which agent an OS user is: the store side of :mod:`engine.identity`.

An agent row carries the OS login it works as (``agents.os_user``, unique). These are the
only writes that give an OS user an identity without an admin asking for it: the very first
admin of an empty database, and the one-time upgrade of a database from before the mapping.
"""

from __future__ import annotations

import sqlite3

from engine.models import Agent, normalize_email
from engine.store.db import Tx
from engine.store.directory import AGENT_COLS, agent_from_row, ensure_default_pipeline, find_agent


def find_agent_by_os_user(conn: sqlite3.Connection, os_user: str) -> Agent | None:
    row = conn.execute(f"SELECT {AGENT_COLS} FROM agents WHERE os_user=?", (os_user,)).fetchone()
    if row is None:
        return None
    teams = [r[0] for r in conn.execute("SELECT team_id FROM team_members WHERE agent_id=?",
                                        (row["id"],))]
    return agent_from_row(row, teams)


class IdentityMixin:
    """Async identity lookups and the two self-service mappings; mixed into ``Store``."""

    async def agent_by_os_user(self, os_user: str) -> Agent | None:
        """The agent an OS login works as, if an admin (or the first run) mapped one."""
        return await self.read(find_agent_by_os_user, os_user)  # type: ignore[attr-defined]

    async def create_first_admin(self, email: str, name: str, os_user: str | None) -> Agent | None:
        """On a database with no agent at all, add ``email`` as its admin, working as
        ``os_user``; return it. ``None`` (and no change) when the database has agents."""
        email = normalize_email(email)

        def fn(tx: Tx) -> Agent | None:
            ensure_default_pipeline(tx)
            if tx.one("SELECT 1 FROM agents LIMIT 1"):
                return None
            agent_id = tx.insert(
                "INSERT INTO agents(email, name, role, seat, availability, skills, os_user,"
                " created_at) VALUES (?,?,?,?,?,?,?,?)",
                (email, name, "admin", 1, "available", "[]", os_user, tx.now))
            tx.event("agent.added", agent_id=agent_id, email=email, first_admin=True)
            return find_agent(tx.conn, email)

        return await self.write(fn)  # type: ignore[attr-defined]

    async def claim_legacy_agent(self, os_user: str, email: str) -> Agent | None:
        """Upgrade a database from before agents had OS users: while *no* agent has one, the
        agent whose email is the one ticketty derived for ``os_user`` (its first run made it)
        becomes that user's. Any other mapping is an admin's ``agents update --os-user``."""
        email = normalize_email(email)

        def fn(tx: Tx) -> Agent | None:
            if tx.one("SELECT 1 FROM agents WHERE os_user IS NOT NULL LIMIT 1"):
                return None
            cur = tx.execute("UPDATE agents SET os_user=? WHERE email=?", (os_user, email))
            if not cur.rowcount:
                return None
            agent = find_agent(tx.conn, email)
            tx.event("agent.updated", agent_id=agent.id if agent else None, email=email,
                     changes=["os_user"], upgrade=True)
            return agent

        return await self.write(fn)  # type: ignore[attr-defined]
