"""SSH public keys of agents: the SSH server's only way to tell who connects.

A key is stored as its OpenSSH text (``ssh-ed25519 AAAA… comment``) with its SHA-256
fingerprint (``SHA256:…``, unique: one key is one agent). The server looks the offered key's
fingerprint up on every connection, so a removed key stops working at once. Parsing keys and
computing fingerprints is the caller's (engine/ssh_keys.py); this room only keeps the rows.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from engine.models import Agent, normalize_email
from engine.store.db import StoreError, Tx
from engine.store.directory import find_agent, require_agent


@dataclass(frozen=True)
class AgentKey:
    """One stored public key."""

    fingerprint: str
    key: str
    comment: str
    agent_email: str
    added_at: float


def _add(tx: Tx, email: str, fingerprint: str, key: str, comment: str,
         by_agent_id: int | None) -> AgentKey:
    agent = require_agent(tx.conn, normalize_email(email))
    owner = tx.one("SELECT a.email FROM agent_keys k JOIN agents a ON a.id=k.agent_id"
                   " WHERE k.fingerprint=?", (fingerprint,))
    if owner is not None:
        raise StoreError(f"key {fingerprint} is already {owner[0]}'s"
                         " (one key belongs to one agent)")
    tx.insert("INSERT INTO agent_keys(agent_id, fingerprint, key, comment, added_at, added_by)"
              " VALUES (?,?,?,?,?,?)", (agent.id, fingerprint, key, comment, tx.now, by_agent_id))
    tx.event("agent.key_added", agent_id=agent.id, fingerprint=fingerprint)
    return AgentKey(fingerprint, key, comment, agent.email, tx.now)


def _remove(tx: Tx, email: str, fingerprint: str) -> None:
    agent = require_agent(tx.conn, normalize_email(email))
    if not tx.execute("DELETE FROM agent_keys WHERE agent_id=? AND fingerprint=?",
                      (agent.id, fingerprint)).rowcount:
        raise StoreError(f"{agent.email} has no key {fingerprint}"
                         f" (see: ticketty agents keys list {agent.email})")
    tx.event("agent.key_removed", agent_id=agent.id, fingerprint=fingerprint)


def _list(conn: sqlite3.Connection, email: str | None) -> list[AgentKey]:
    sql = ("SELECT k.fingerprint, k.key, k.comment, a.email, k.added_at FROM agent_keys k"
           " JOIN agents a ON a.id=k.agent_id")
    if email is None:
        rows = conn.execute(sql + " ORDER BY a.email, k.id").fetchall()
    else:
        rows = conn.execute(sql + " WHERE a.email=? ORDER BY k.id", (email,)).fetchall()
    return [AgentKey(*row) for row in rows]


def _agent_for(conn: sqlite3.Connection, fingerprint: str) -> Agent | None:
    row = conn.execute("SELECT a.email FROM agent_keys k JOIN agents a ON a.id=k.agent_id"
                       " WHERE k.fingerprint=?", (fingerprint,)).fetchone()
    return find_agent(conn, row[0]) if row else None


class AgentKeysMixin:
    """Add, list, remove agents' public keys; find the agent of a key."""

    async def add_agent_key(self, email: str, fingerprint: str, key: str, comment: str = "",
                            by_agent_id: int | None = None) -> AgentKey:
        return await self.write(  # type: ignore[attr-defined]
            _add, email, fingerprint, key, comment, by_agent_id)

    async def remove_agent_key(self, email: str, fingerprint: str) -> None:
        await self.write(_remove, email, fingerprint)  # type: ignore[attr-defined]

    async def agent_keys(self, email: str | None = None) -> list[AgentKey]:
        """One agent's keys (``email``), or everyone's."""
        wanted = normalize_email(email) if email else None
        return await self.read(_list, wanted)  # type: ignore[attr-defined]

    async def agent_for_key(self, fingerprint: str) -> Agent | None:
        """The agent whose key has this fingerprint (None: an unknown key)."""
        return await self.read(_agent_for, fingerprint)  # type: ignore[attr-defined]
