"""API tokens and the Idempotency-Keys of the tickets API.

A token is ``tkty_`` + 43 random URL-safe characters (256 bits), shown once when it is made;
the store keeps only its SHA-256 (a fast hash is right for a random secret of that size: there
is nothing to guess). A token acts as one agent, with that agent's role. Its name is unique
among the tokens in force, so ``tokens revoke NAME`` names one; a revoked token stays listed
(``--all``) with when it was revoked.

``api_idempotency`` remembers, per agent and ``Idempotency-Key``, a digest of the request and
the ticket it created, so a retried ``POST /api/v1/tickets`` answers with the same ticket and
the same key with a different body is refused.
"""

from __future__ import annotations

import hashlib
import secrets
import sqlite3
from typing import Any

from engine.models import Agent
from engine.store.db import StoreError, Tx, dt
from engine.store.directory import AGENT_COLS, agent_from_row

TOKEN_PREFIX = "tkty_"

_AGENT_COLS = ", ".join(f"a.{c.strip()}" for c in AGENT_COLS.split(","))


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def _iso(value: float | None) -> str | None:
    when = dt(value)
    return when.isoformat() if when else None


def token_row_json(row: sqlite3.Row) -> dict[str, Any]:
    """A token as ``tokens list --json`` shows it (never the token itself)."""
    return {"name": row["name"], "agent": row["agent"], "created_at": _iso(row["created_at"]),
            "created_by": row["created_by"], "last_used_at": _iso(row["last_used_at"]),
            "revoked_at": _iso(row["revoked_at"])}


_LIST = ("SELECT t.name, a.email AS agent, t.created_at, c.email AS created_by, t.last_used_at,"
         " t.revoked_at FROM api_tokens t JOIN agents a ON a.id = t.agent_id"
         " LEFT JOIN agents c ON c.id = t.created_by")


def create_token(tx: Tx, name: str, agent_id: int, created_by: int | None) -> str:
    name = name.strip()
    if not name:
        raise StoreError("a token needs a name")
    if tx.one("SELECT 1 FROM api_tokens WHERE name=? AND revoked_at IS NULL", (name,)):
        raise StoreError(f"a token named {name!r} exists already (revoke it, or pick another"
                         " name)")
    if not tx.one("SELECT 1 FROM agents WHERE id=?", (agent_id,)):
        raise StoreError(f"no agent #{agent_id}")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    tx.execute("INSERT INTO api_tokens(name, agent_id, token_hash, created_at, created_by)"
               " VALUES (?,?,?,?,?)", (name, agent_id, hash_token(token), tx.now, created_by))
    tx.event("token.created", name=name, agent_id=agent_id)
    return token


def revoke_token(tx: Tx, name: str, agent_id: int | None) -> dict[str, Any]:
    """Revoke the token in force named ``name`` (only ``agent_id``'s own, when given)."""
    row = tx.one("SELECT id, agent_id FROM api_tokens WHERE name=? AND revoked_at IS NULL",
                 (name,))
    if row is None or (agent_id is not None and row["agent_id"] != agent_id):
        raise StoreError(f"no token named {name!r} in force"
                         + (" among yours" if agent_id is not None else ""))
    tx.execute("UPDATE api_tokens SET revoked_at=? WHERE id=?", (tx.now, row["id"]))
    tx.event("token.revoked", name=name, agent_id=row["agent_id"])
    revoked = tx.one(f"{_LIST} WHERE t.id=?", (row["id"],))
    assert revoked is not None  # the row updated just above
    return token_row_json(revoked)


def list_tokens(conn: sqlite3.Connection, agent_id: int | None,
                include_revoked: bool) -> list[dict[str, Any]]:
    where, params = [], []
    if agent_id is not None:
        where.append("t.agent_id = ?")
        params.append(agent_id)
    if not include_revoked:
        where.append("t.revoked_at IS NULL")
    sql = _LIST + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY t.id"
    return [token_row_json(r) for r in conn.execute(sql, params)]


def token_agent(conn: sqlite3.Connection, token_hash: str) -> tuple[Agent, str] | None:
    row = conn.execute(
        f"SELECT {_AGENT_COLS}, t.name AS token_name FROM api_tokens t"
        " JOIN agents a ON a.id = t.agent_id WHERE t.token_hash=? AND t.revoked_at IS NULL",
        (token_hash,)).fetchone()
    if row is None:
        return None
    teams = [r[0] for r in conn.execute("SELECT team_id FROM team_members WHERE agent_id=?",
                                        (row["id"],))]
    return agent_from_row(row, teams), row["token_name"]


def remember_request(tx: Tx, agent_id: int, key: str, request_hash: str,
                     ticket_id: int) -> tuple[str, int]:
    """Record what ``key`` created; the first record wins (returns the one in force)."""
    tx.execute("INSERT OR IGNORE INTO api_idempotency(agent_id, key, request_hash, ticket_id,"
               " created_at) VALUES (?,?,?,?,?)", (agent_id, key, request_hash, ticket_id, tx.now))
    row = tx.one("SELECT request_hash, ticket_id FROM api_idempotency WHERE agent_id=? AND key=?",
                 (agent_id, key))
    assert row is not None  # inserted just above, or there before
    return row["request_hash"], row["ticket_id"]


class TokensMixin:
    """The store's API tokens and idempotency keys (mixed into ``Store``)."""

    async def create_api_token(self, name: str, agent_id: int,
                               created_by: int | None = None) -> str:
        """A new token acting as ``agent_id``; the only time its text exists outside a hash."""
        return await self.write(create_token, name, agent_id, created_by)  # type: ignore[attr-defined]

    async def revoke_api_token(self, name: str, agent_id: int | None = None) -> dict[str, Any]:
        return await self.write(revoke_token, name, agent_id)  # type: ignore[attr-defined]

    async def api_tokens(self, agent_id: int | None = None,
                         include_revoked: bool = False) -> list[dict[str, Any]]:
        return await self.read(list_tokens, agent_id, include_revoked)  # type: ignore[attr-defined]

    async def api_token_agent(self, token: str) -> tuple[Agent, str] | None:
        """The agent a token in force acts as, and the token's name; None for any other text."""
        if not token.startswith(TOKEN_PREFIX):
            return None
        return await self.read(token_agent, hash_token(token))  # type: ignore[attr-defined]

    async def touch_api_token(self, name: str, at: float) -> None:
        def fn(tx: Tx) -> None:
            tx.execute("UPDATE api_tokens SET last_used_at=? WHERE name=? AND revoked_at IS NULL",
                       (at, name))

        await self.write(fn)  # type: ignore[attr-defined]

    async def idempotent_request(self, agent_id: int, key: str) -> tuple[str, int] | None:
        """``(request digest, ticket id)`` recorded for ``key``, if any."""
        def fn(conn: sqlite3.Connection) -> tuple[str, int] | None:
            row = conn.execute("SELECT request_hash, ticket_id FROM api_idempotency"
                               " WHERE agent_id=? AND key=?", (agent_id, key)).fetchone()
            return (row[0], row[1]) if row else None

        return await self.read(fn)  # type: ignore[attr-defined]

    async def remember_request(self, agent_id: int, key: str, request_hash: str,
                               ticket_id: int) -> tuple[str, int]:
        return await self.write(remember_request, agent_id, key, request_hash, ticket_id)  # type: ignore[attr-defined]
