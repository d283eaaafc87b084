"""Agents, teams, contacts, channels and canned replies (pipelines: :mod:`.workflow`)."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from engine.identities import EMAIL
from engine.models import (
    Agent,
    CannedReply,
    Channel,
    Contact,
    RoutingRule,
    Team,
    TicketDefaults,
    WorkingHours,
    normalize_email,
)
from engine.store.db import StoreError, Tx, dt
from engine.store.workflow import (  # noqa: F401 - re-exported: callers import them from here
    ensure_default_pipeline,
    get_pipeline,
    insert_pipeline,
    load_pipelines,
    put_setting,
)
from engine.vault import is_secret, seal_settings

AGENT_COLS = "id, email, name, role, seat, availability, working_hours, skills, os_user, phone"


def like_contains(term: str) -> str:
    """A ``LIKE … ESCAPE '\\'`` pattern matching ``term`` anywhere, literally."""
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def contact_row_json(r: sqlite3.Row) -> dict[str, Any]:
    """A contact as ``contacts list --json`` (and the API's ``/contacts``) shows it, from a row
    with ``id, name, unverified, owner, emails`` (comma-joined) and ``tickets``."""
    return {"id": r["id"], "name": r["name"],
            "emails": r["emails"].split(",") if r["emails"] else [],
            "owner": r["owner"], "tickets": r["tickets"], "unverified": bool(r["unverified"])}


def agent_from_row(row: sqlite3.Row, teams: list[int] | None = None) -> Agent:
    wh = row["working_hours"]
    return Agent(
        id=row["id"], email=row["email"], name=row["name"], role=row["role"],
        seat=bool(row["seat"]), availability=row["availability"],
        working_hours=WorkingHours.model_validate_json(wh) if wh else None,
        skills=json.loads(row["skills"]), teams=teams or [], os_user=row["os_user"],
        phone=row["phone"],
    )


def load_agents(conn: sqlite3.Connection) -> list[Agent]:
    teams: dict[int, list[int]] = {}
    for r in conn.execute("SELECT team_id, agent_id FROM team_members"):
        teams.setdefault(r["agent_id"], []).append(r["team_id"])
    rows = conn.execute(f"SELECT {AGENT_COLS} FROM agents ORDER BY id").fetchall()
    return [agent_from_row(r, teams.get(r["id"], [])) for r in rows]


def find_agent(conn: sqlite3.Connection, email: str) -> Agent | None:
    row = conn.execute(f"SELECT {AGENT_COLS} FROM agents WHERE email=?", (email.lower(),)).fetchone()
    if row is None:
        return None
    teams = [r[0] for r in conn.execute("SELECT team_id FROM team_members WHERE agent_id=?", (row["id"],))]
    return agent_from_row(row, teams)


def check_os_user_free(tx: Tx, os_user: str | None, agent_id: int | None) -> None:
    """One OS user is one agent: refuse a login another agent already works as."""
    if os_user is None:
        return
    row = tx.one("SELECT id, email FROM agents WHERE os_user=?", (os_user,))
    if row is not None and row["id"] != agent_id:
        raise StoreError(f"OS user {os_user!r} is already mapped to {row['email']}")


def require_agent(conn: sqlite3.Connection, email: str) -> Agent:
    agent = find_agent(conn, email)
    if agent is None:
        raise StoreError(f"no agent with email {email!r}")
    return agent


def channel_from_row(row: sqlite3.Row) -> Channel:
    return Channel(
        id=row["id"], kind=row["kind"], name=row["name"], enabled=bool(row["enabled"]),
        settings=json.loads(row["settings"]),
        defaults=TicketDefaults.model_validate_json(row["defaults"]),
        routing=RoutingRule.model_validate_json(row["routing"]),
        health=json.loads(row["health"]), created_at=dt(row["created_at"]),
    )


class DirectoryMixin:
    """Async directory operations; mixed into :class:`engine.store.Store`."""

    # ---------------------------------------------------------------- agents
    async def add_agent(self, agent: Agent) -> Agent:
        def fn(tx: Tx) -> Agent:
            if find_agent(tx.conn, agent.email):
                raise StoreError(f"an agent with email {agent.email} already exists")
            check_os_user_free(tx, agent.os_user, None)
            agent_id = tx.insert(
                "INSERT INTO agents(email, name, role, seat, availability, working_hours, skills,"
                " os_user, created_at, phone) VALUES (?,?,?,?,?,?,?,?,?,?)",
                (agent.email, agent.name, agent.role.value, int(agent.seat),
                 agent.availability.value,
                 agent.working_hours.model_dump_json() if agent.working_hours else None,
                 json.dumps(agent.skills), agent.os_user, tx.now, agent.phone),
            )
            for team_id in agent.teams:
                tx.execute("INSERT INTO team_members VALUES (?,?) ON CONFLICT DO NOTHING",
                           (team_id, agent_id))
            tx.event("agent.added", agent_id=agent_id, email=agent.email)
            return agent.model_copy(update={"id": agent_id})

        return await self.write(fn)  # type: ignore[attr-defined]

    async def update_agent(self, email: str, **changes: Any) -> Agent:
        """Change an agent's fields (name, role, seat, availability, skills, working_hours, teams,
        os_user, phone)."""

        def fn(tx: Tx) -> Agent:
            agent = require_agent(tx.conn, email)
            merged = Agent.model_validate({**agent.model_dump(), **changes})
            check_os_user_free(tx, merged.os_user, agent.id)
            tx.execute(
                "UPDATE agents SET name=?, role=?, seat=?, availability=?, working_hours=?, skills=?,"
                " os_user=?, phone=? WHERE id=?",
                (merged.name, merged.role.value, int(merged.seat), merged.availability.value,
                 merged.working_hours.model_dump_json() if merged.working_hours else None,
                 json.dumps(merged.skills), merged.os_user, merged.phone, agent.id),
            )
            if "teams" in changes:
                tx.execute("DELETE FROM team_members WHERE agent_id=?", (agent.id,))
                for team_id in merged.teams:
                    tx.execute("INSERT INTO team_members VALUES (?,?) ON CONFLICT DO NOTHING",
                               (team_id, agent.id))
            tx.event("agent.updated", agent_id=agent.id, email=agent.email,
                     changes=sorted(changes))
            return merged

        return await self.write(fn)  # type: ignore[attr-defined]

    async def agents(self) -> list[Agent]:
        return await self.read(load_agents)  # type: ignore[attr-defined]

    async def agent(self, email: str) -> Agent | None:
        return await self.read(find_agent, normalize_email(email))  # type: ignore[attr-defined]

    # ----------------------------------------------------------------- teams
    async def add_team(self, name: str, members: list[str] | None = None) -> Team:
        def fn(tx: Tx) -> Team:
            if tx.one("SELECT 1 FROM teams WHERE name=?", (name,)):
                raise StoreError(f"a team named {name!r} already exists")
            team_id = tx.insert("INSERT INTO teams(name) VALUES (?)", (name,))
            ids = []
            for email in members or []:
                agent = require_agent(tx.conn, email)
                tx.execute("INSERT INTO team_members VALUES (?,?)", (team_id, agent.id))
                ids.append(agent.id)
            tx.event("team.added", team_id=team_id, name=name)
            return Team(id=team_id, name=name, members=ids)

        return await self.write(fn)  # type: ignore[attr-defined]

    async def teams(self) -> list[Team]:
        def fn(c: sqlite3.Connection) -> list[Team]:
            members: dict[int, list[int]] = {}
            for r in c.execute("SELECT team_id, agent_id FROM team_members"):
                members.setdefault(r[0], []).append(r[1])
            return [
                Team(id=r["id"], name=r["name"], members=members.get(r["id"], []))
                for r in c.execute("SELECT id, name FROM teams ORDER BY name")
            ]

        return await self.read(fn)  # type: ignore[attr-defined]

    async def team(self, name: str) -> Team | None:
        return next((t for t in await self.teams() if t.name == name), None)

    async def update_team(self, name: str, *, rename: str | None = None,
                          members: list[str] | None = None) -> Team:
        """Rename a team and/or replace its members (agent emails)."""

        def fn(tx: Tx) -> Team:
            row = tx.one("SELECT id FROM teams WHERE name=?", (name,))
            if row is None:
                raise StoreError(f"no team named {name!r}")
            team_id, new_name = row["id"], (rename or name).strip()
            if new_name != name:
                if tx.one("SELECT 1 FROM teams WHERE name=?", (new_name,)):
                    raise StoreError(f"a team named {new_name!r} already exists")
                tx.execute("UPDATE teams SET name=? WHERE id=?", (new_name, team_id))
            if members is not None:
                ids = [require_agent(tx.conn, email).id for email in members]
                tx.execute("DELETE FROM team_members WHERE team_id=?", (team_id,))
                for agent_id in ids:
                    tx.execute("INSERT INTO team_members VALUES (?,?) ON CONFLICT DO NOTHING",
                               (team_id, agent_id))
            ids = [r[0] for r in tx.conn.execute(
                "SELECT agent_id FROM team_members WHERE team_id=?", (team_id,))]
            tx.event("team.updated", team_id=team_id, name=new_name)
            return Team(id=team_id, name=new_name, members=ids)

        return await self.write(fn)  # type: ignore[attr-defined]

    async def remove_team(self, name: str) -> None:
        """Delete a team; its tickets keep their assignee and lose the team."""

        def fn(tx: Tx) -> None:
            row = tx.one("SELECT id FROM teams WHERE name=?", (name,))
            if row is None:
                raise StoreError(f"no team named {name!r}")
            tx.execute("DELETE FROM team_members WHERE team_id=?", (row["id"],))
            tx.execute("UPDATE tickets SET team_id=NULL WHERE team_id=?", (row["id"],))
            tx.execute("DELETE FROM teams WHERE id=?", (row["id"],))
            tx.event("team.removed", team_id=row["id"], name=name)

        await self.write(fn)  # type: ignore[attr-defined]

    # -------------------------------------------------------------- contacts
    async def contact(self, contact_id: int) -> Contact | None:
        return await self.read(load_contact, contact_id)  # type: ignore[attr-defined]

    async def contact_id_by_identity(self, kind: str, value: str) -> int | None:
        """The contact an identity (an email address, a phone number …) belongs to."""
        row = await self.read(lambda c: c.execute(  # type: ignore[attr-defined]
            "SELECT contact_id FROM contact_identities WHERE kind=? AND value=?",
            (kind, value)).fetchone())
        return row[0] if row else None

    async def search_contacts(self, search: str | None = None, limit: int = 100) -> list[dict]:
        """Contacts whose name or any identity contains ``search`` — literally: ``%`` and ``_``
        are escaped, not wildcards. Oldest first."""
        term = like_contains((search or "").lower())

        def fn(c: sqlite3.Connection) -> list[dict]:
            rows = c.execute(
                "SELECT ct.id, ct.name, ct.unverified, a.email AS owner,"
                " (SELECT group_concat(value, ',') FROM contact_identities ci"
                "  WHERE ci.contact_id=ct.id AND ci.kind=?) AS emails,"
                " (SELECT count(*) FROM tickets t WHERE t.contact_id=ct.id) AS tickets"
                " FROM contacts ct LEFT JOIN agents a ON a.id = ct.owner_id"
                " WHERE lower(ct.name) LIKE ? ESCAPE '\\' OR EXISTS (SELECT 1 FROM"
                "  contact_identities ci WHERE ci.contact_id=ct.id AND lower(ci.value) LIKE ?"
                "  ESCAPE '\\') ORDER BY ct.id LIMIT ?", (EMAIL.name, term, term, limit)).fetchall()
            return [contact_row_json(r) for r in rows]

        return await self.read(fn)  # type: ignore[attr-defined]

    async def set_contact_owner(self, contact_id: int, owner_email: str | None) -> None:
        def fn(tx: Tx) -> None:
            owner = require_agent(tx.conn, owner_email) if owner_email else None
            if not tx.one("SELECT 1 FROM contacts WHERE id=?", (contact_id,)):
                raise StoreError(f"no contact #{contact_id}")
            tx.execute("UPDATE contacts SET owner_id=? WHERE id=?",
                       (owner.id if owner else None, contact_id))
            tx.event("contact.updated", contact_id=contact_id)

        await self.write(fn)  # type: ignore[attr-defined]

    # -------------------------------------------------------------- channels
    async def add_channel(self, channel: Channel) -> Channel:
        """Store a new channel; its secret settings are sealed (the result holds them sealed)."""
        settings = seal_settings(channel.kind, channel.settings, self.vault)  # type: ignore[attr-defined]

        def fn(tx: Tx) -> Channel:
            if tx.one("SELECT 1 FROM channels WHERE name=? AND removed=0", (channel.name,)):
                raise StoreError(f"a channel named {channel.name!r} already exists")
            tx.execute("DELETE FROM channels WHERE name=? AND removed=1", (channel.name,))
            channel_id = tx.insert(
                "INSERT INTO channels(kind, name, enabled, settings, defaults, routing, created_at)"
                " VALUES (?,?,?,?,?,?,?)",
                (channel.kind, channel.name, int(channel.enabled), json.dumps(settings),
                 channel.defaults.model_dump_json(), channel.routing.model_dump_json(), tx.now),
            )
            tx.event("channel.added", channel_id=channel_id, name=channel.name)
            return channel.model_copy(update={"id": channel_id, "settings": settings})

        return await self.write(fn)  # type: ignore[attr-defined]

    async def update_channel(self, channel: Channel) -> Channel:
        """Save a channel's settings, defaults and routing; secrets are sealed as in add."""
        settings = seal_settings(channel.kind, channel.settings, self.vault)  # type: ignore[attr-defined]

        def fn(tx: Tx) -> Channel:
            tx.execute(
                "UPDATE channels SET name=?, enabled=?, settings=?, defaults=?, routing=? WHERE id=?",
                (channel.name, int(channel.enabled), json.dumps(settings),
                 channel.defaults.model_dump_json(), channel.routing.model_dump_json(), channel.id),
            )
            tx.event("channel.updated", channel_id=channel.id, name=channel.name)
            return channel.model_copy(update={"settings": settings})

        return await self.write(fn)  # type: ignore[attr-defined]

    async def remove_channel(self, channel_id: int) -> None:
        """Remove a channel from the list; its tickets and messages stay."""

        def fn(tx: Tx) -> None:
            tx.execute("UPDATE channels SET removed=1, enabled=0 WHERE id=?", (channel_id,))
            tx.event("channel.removed", channel_id=channel_id)

        await self.write(fn)  # type: ignore[attr-defined]

    async def save_channel_secret(self, channel_id: int, key: str, value: str) -> None:
        """Replace one secret setting of a channel, sealed (an OAuth provider rotated the
        refresh token). Recorded as ``channel.secret_saved`` (the key, never the value), which
        does not restart the channel the way ``channel.updated`` does."""
        def fn(tx: Tx) -> None:
            row = tx.row("SELECT kind, settings FROM channels WHERE id=?", (channel_id,))
            if not is_secret(row["kind"], key):
                raise StoreError(f"{key!r} is not a secret setting of a {row['kind']} channel")
            sealed = seal_settings(row["kind"], {key: value}, vault)
            settings = {**json.loads(row["settings"]), key: sealed[key]}
            tx.execute("UPDATE channels SET settings=? WHERE id=?",
                       (json.dumps(settings), channel_id))
            tx.event("secret.saved", channel_id=channel_id, key=key)

        vault = self.vault  # type: ignore[attr-defined]
        await self.write(fn)  # type: ignore[attr-defined]

    async def set_channel_health(self, channel_id: int, **health: Any) -> None:
        def fn(tx: Tx) -> None:
            row = tx.one("SELECT health FROM channels WHERE id=?", (channel_id,))
            merged = {**json.loads(row["health"]), **health} if row else health
            tx.execute("UPDATE channels SET health=? WHERE id=?",
                       (json.dumps(merged, default=str), channel_id))
            tx.event("channel.health", channel_id=channel_id, **health)

        await self.write(fn)  # type: ignore[attr-defined]

    async def channel_state(self, channel_id: int) -> dict[str, Any]:
        row = await self.read(  # type: ignore[attr-defined]
            lambda c: c.execute("SELECT state FROM channels WHERE id=?", (channel_id,)).fetchone()
        )
        return json.loads(row[0]) if row else {}

    async def set_channel_state(self, channel_id: int, state: dict[str, Any]) -> None:
        """Adapter bookkeeping (e.g. IMAP UIDVALIDITY/last UID); no event."""

        def fn(tx: Tx) -> None:
            tx.execute("UPDATE channels SET state=? WHERE id=?", (json.dumps(state), channel_id))

        await self.write(fn)  # type: ignore[attr-defined]

    async def channels(self, include_disabled: bool = True) -> list[Channel]:
        def fn(c: sqlite3.Connection) -> list[Channel]:
            sql = "SELECT * FROM channels WHERE removed=0"
            if not include_disabled:
                sql += " AND enabled=1"
            return [channel_from_row(r) for r in c.execute(sql + " ORDER BY id")]

        return await self.read(fn)  # type: ignore[attr-defined]

    async def tickets_created_since(self, since: float) -> dict[int, int]:
        """New tickets per channel id since a timestamp (the channels screen's "today")."""
        rows = await self.read(lambda c: c.execute(  # type: ignore[attr-defined]
            "SELECT channel_id, count(*) FROM tickets WHERE created_at >= ? AND channel_id"
            " IS NOT NULL GROUP BY channel_id", (since,)).fetchall())
        return {r[0]: r[1] for r in rows}

    async def channel(self, name_or_id: str | int) -> Channel | None:
        for ch in await self.channels():
            if ch.name == name_or_id or ch.id == name_or_id or str(ch.id) == str(name_or_id):
                return ch
        return None

    # ------------------------------------------------------- canned replies
    async def add_canned(self, title: str, body: str) -> CannedReply:
        def fn(tx: Tx) -> CannedReply:
            cur = tx.execute(
                "INSERT INTO canned_replies(title, body) VALUES (?,?)"
                " ON CONFLICT(title) DO UPDATE SET body=excluded.body RETURNING id",
                (title, body),
            )
            rid = cur.fetchone()[0]
            tx.event("canned.saved", canned_id=rid, title=title)
            return CannedReply(id=rid, title=title, body=body)

        return await self.write(fn)  # type: ignore[attr-defined]

    async def remove_canned(self, title: str) -> None:
        def fn(tx: Tx) -> None:
            row = tx.one("SELECT id FROM canned_replies WHERE title=?", (title,))
            if row is None:
                raise StoreError(f"no canned reply titled {title!r}")
            tx.execute("DELETE FROM canned_replies WHERE id=?", (row["id"],))
            tx.event("canned.removed", canned_id=row["id"], title=title)

        await self.write(fn)  # type: ignore[attr-defined]

    async def canned_replies(self) -> list[CannedReply]:
        def fn(c: sqlite3.Connection) -> list[CannedReply]:
            return [
                CannedReply(id=r["id"], title=r["title"], body=r["body"])
                for r in c.execute("SELECT id, title, body FROM canned_replies ORDER BY title")
            ]

        return await self.read(fn)  # type: ignore[attr-defined]

    # -------------------------------------------------------------- settings
    async def get_setting(self, key: str, default: Any = None) -> Any:
        row = await self.read(  # type: ignore[attr-defined]
            lambda c: c.execute("SELECT value FROM kv WHERE key=?", (key,)).fetchone()
        )
        return json.loads(row[0]) if row else default

    async def set_setting(self, key: str, value: Any) -> None:
        def fn(tx: Tx) -> None:
            put_setting(tx, key, json.dumps(value))

        await self.write(fn)  # type: ignore[attr-defined]

def load_contact(conn: sqlite3.Connection, contact_id: int) -> Contact | None:
    row = conn.execute("SELECT * FROM contacts WHERE id=?", (contact_id,)).fetchone()
    if row is None:
        return None
    emails, phones, identities = [], [], {}
    for r in conn.execute("SELECT kind, value FROM contact_identities WHERE contact_id=?", (contact_id,)):
        if r["kind"] == "email":
            emails.append(r["value"])
        elif r["kind"] == "phone":
            phones.append(r["value"])
        else:
            identities[r["kind"]] = r["value"]
    return Contact(id=row["id"], name=row["name"], emails=emails, phones=phones,
                   identities=identities, owner_id=row["owner_id"], created_at=dt(row["created_at"]),
                   unverified=bool(row["unverified"]))
