"""Who you are: the agent of the real uid's OS user; --as and [agent] email for admins only.

The tests run as one OS user (root in CI): "someone else" is an agent mapped to another login,
and the CLI is the real console script in a subprocess, as a person would run it.
"""

from __future__ import annotations

import asyncio
import json
import os
import pwd
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from engine.desk import ensure_first_admin
from engine.identity import IdentityError, os_user, resolve
from engine.models import Agent, Role
from engine.store import Store

BIN = str(Path(sys.executable).parent / "ticketty")
ME = pwd.getpwuid(os.getuid()).pw_name


def run(db: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([BIN, "--db", str(db), *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=60)


def ok(db: Path, *args: str, env: dict | None = None):
    proc = run(db, *args, "--json", env=env)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def seed(db: Path, *, admin_os_user: str, agents: list[Agent] = ()) -> None:
    """An admin ada mapped to ``admin_os_user``, plus ``agents``."""

    async def go() -> None:
        async with Store(db) as store:
            await ensure_first_admin(store, "ada@example.com", "Ada Admin", os_user=admin_os_user)
            for agent in agents:
                await store.add_agent(agent)

    asyncio.run(go())


def agent_rows(db: Path) -> list[tuple]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute("SELECT email, role, os_user FROM agents ORDER BY id").fetchall()
    finally:
        conn.close()


def test_first_run_on_an_empty_database_maps_the_os_user_as_admin(db_path):
    agents = ok(db_path, "agents", "list")
    assert len(agents) == 1
    assert agents[0]["role"] == "admin" and agents[0]["os_user"] == ME


def test_an_os_user_without_agent_is_refused_not_given_the_first_admin(db_path):
    seed(db_path, admin_os_user="someone-else")
    before = agent_rows(db_path)
    proc = run(db_path, "tickets", "list")
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("ticketty: error: ")
    assert f"OS user {ME!r}" in lines[0]
    assert f"ticketty agents add --email EMAIL --name NAME --os-user {ME}" in lines[0]
    assert agent_rows(db_path) == before  # no agent was made for the stranger
    # --as does not help a stranger either
    proc = run(db_path, "--as", "ada@example.com", "tickets", "list")
    assert proc.returncode == 1 and "is not an agent" in proc.stderr


def test_identity_ignores_logname_and_user(db_path):
    seed(db_path, admin_os_user="ada")  # the environment will claim to be "ada"
    fake = {"LOGNAME": "ada", "USER": "ada", "USERNAME": "ada", "LNAME": "ada"}
    proc = run(db_path, "tickets", "list", env=fake)
    assert proc.returncode == 1 and f"OS user {ME!r}" in proc.stderr


async def test_resolve_reads_the_real_uid(db_path, monkeypatch):
    monkeypatch.setenv("LOGNAME", "ada")
    monkeypatch.setenv("USER", "ada")
    assert os_user().login == ME
    async with Store(db_path) as store:
        await ensure_first_admin(store, "ada@example.com", "Ada Admin", os_user="ada")
        with pytest.raises(IdentityError, match="is not an agent"):
            await resolve(store)
        await store.add_agent(Agent(email="me@example.com", name="Me", os_user=ME))
        assert (await resolve(store)).me.email == "me@example.com"


def test_as_is_for_admins_only(db_path, tmp_path):
    seed(db_path, admin_os_user="someone-else",
         agents=[Agent(email="bob@example.com", name="Bob Builder", os_user=ME)])
    proc = run(db_path, "--as", "ada@example.com", "agents", "add", "--email", "x@example.com",
               "--name", "X")
    assert proc.returncode == 1
    assert proc.stderr.strip() == ("ticketty: error: --as ada@example.com is for admins only"
                                   " (bob@example.com is an agent)")
    cfg = tmp_path / "config.toml"
    cfg.write_text('[agent]\nemail = "ada@example.com"\n')
    proc = run(db_path, "--config", str(cfg), "tickets", "list")
    assert proc.returncode == 1 and f"[agent] email in {cfg} ada@example.com is for admins only" \
        in proc.stderr
    # naming yourself is fine, and without --as the agent is the OS user's own
    assert ok(db_path, "--as", "bob@example.com", "tickets", "list") == []
    created = ok(db_path, "tickets", "create", "--subject", "Hi", "--from", "c@example.com")
    ok(db_path, "tickets", "note", str(created["id"]), "--body", "mine")
    shown = ok(db_path, "tickets", "show", str(created["id"]))
    assert [m["author"] for m in shown["messages"] if m["direction"] == "note"] == ["Bob Builder"]


def test_an_admin_acting_on_behalf_is_recorded_as_the_actor(db_path, tmp_path):
    ok(db_path, "agents", "add", "--email", "bob@example.com", "--name", "Bob Builder")
    me = ok(db_path, "agents", "list")[0]["email"]
    n = str(ok(db_path, "tickets", "create", "--subject", "Hi", "--from", "c@example.com")["id"])
    ok(db_path, "--as", "bob@example.com", "tickets", "note", n, "--body", "on behalf")
    cfg = tmp_path / "config.toml"
    cfg.write_text('[agent]\nemail = "bob@example.com"\n')
    ok(db_path, "--config", str(cfg), "tickets", "priority", n, "high")
    conn = sqlite3.connect(db_path)
    rows = conn.execute("SELECT kind, data FROM events WHERE kind IN"
                        " ('message.added', 'ticket.priority') ORDER BY id").fetchall()
    conn.close()
    data = [(kind, json.loads(d)) for kind, d in rows]
    note = [d for k, d in data if k == "message.added" and d["direction"] == "note"]
    assert note and note[0]["actor"] == me and note[0]["on_behalf_of"] == "bob@example.com"
    prio = [d for k, d in data if k == "ticket.priority"]
    assert prio and prio[0]["actor"] == me and prio[0]["on_behalf_of"] == "bob@example.com"
    # the note itself is Bob's, as asked
    shown = ok(db_path, "tickets", "show", n)
    assert [m["author"] for m in shown["messages"] if m["direction"] == "note"] == ["Bob Builder"]
    # acting as yourself records nobody on behalf
    ok(db_path, "tickets", "note", n, "--body", "myself")
    conn = sqlite3.connect(db_path)
    last = json.loads(conn.execute("SELECT data FROM events WHERE kind='message.added'"
                                   " ORDER BY id DESC LIMIT 1").fetchone()[0])
    conn.close()
    assert "on_behalf_of" not in last


def test_assigning_to_an_agent_does_not_act_as_that_agent(db_path):
    ok(db_path, "agents", "add", "--email", "bob@example.com", "--name", "Bob Builder")
    admin = ok(db_path, "agents", "list")[0]
    n = str(ok(db_path, "tickets", "create", "--subject", "Hi", "--from", "c@example.com")["id"])
    ok(db_path, "tickets", "assign", n, "bob@example.com")
    shown = ok(db_path, "tickets", "show", n)
    system = [m for m in shown["messages"] if m["direction"] == "system"]
    assert system and system[-1]["author"] == admin["name"]


def test_agents_map_os_users(db_path):
    added = ok(db_path, "agents", "add", "--email", "bob@example.com", "--name", "Bob",
               "--os-user", "bob")
    assert added["os_user"] == "bob"
    assert ok(db_path, "agents", "update", "bob@example.com", "--os-user", "robert")["os_user"] \
        == "robert"
    listed = {a["email"]: a["os_user"] for a in ok(db_path, "agents", "list")}
    assert listed["bob@example.com"] == "robert"
    proc = run(db_path, "agents", "add", "--email", "eve@example.com", "--name", "Eve",
               "--os-user", "robert")
    assert proc.returncode == 1
    assert proc.stderr.strip() == ("ticketty: error: OS user 'robert' is already mapped to"
                                   " bob@example.com")
    proc = run(db_path, "agents", "update", "bob@example.com", "--os-user", "bad name")
    assert proc.returncode == 1 and len(proc.stderr.strip().splitlines()) == 1
    assert "not a valid OS user name" in proc.stderr
    assert ok(db_path, "agents", "update", "bob@example.com", "--os-user", "none")["os_user"] \
        is None
    # an admin does not lock themselves out by accident
    me = ok(db_path, "agents", "list")[0]["email"]
    proc = run(db_path, "agents", "update", me, "--os-user", "elsewhere")
    assert proc.returncode == 1 and "would lock you out" in proc.stderr
    # only an admin maps OS users: an agent cannot map itself to another login
    ok(db_path, "agents", "add", "--email", "carol@example.com", "--name", "Carol")
    proc = run(db_path, "--as", "carol@example.com", "agents", "update", "carol@example.com",
               "--os-user", "ada")
    assert proc.returncode == 1 and "admins only" in proc.stderr


def test_a_database_from_before_the_mapping_is_upgraded_once(db_path):
    legacy = os_user().default_email
    seed(db_path, admin_os_user=ME)
    conn = sqlite3.connect(db_path)
    conn.execute("UPDATE agents SET os_user=NULL, email=?", (legacy,))  # as the old first run
    conn.commit()
    conn.close()
    agents = ok(db_path, "agents", "list")
    assert [(a["email"], a["os_user"]) for a in agents] == [(legacy, ME)]
    # an old database whose admin has another email is not handed to whoever runs first
    other = db_path.with_name("other.db")
    seed(other, admin_os_user=ME)
    conn = sqlite3.connect(other)
    conn.execute("UPDATE agents SET os_user=NULL")
    conn.commit()
    conn.close()
    proc = run(other, "tickets", "list")
    assert proc.returncode == 1 and "is not an agent" in proc.stderr
    assert agent_rows(other) == [("ada@example.com", Role.admin.value, None)]


def test_engine_command_needs_no_agent_but_makes_none_either(db_path):
    """``ticketty engine`` (a server's service user) runs without an agent; on a database
    with agents it never creates one for its OS user."""
    seed(db_path, admin_os_user="someone-else")
    proc = subprocess.Popen([BIN, "--db", str(db_path), "engine"], stderr=subprocess.PIPE,
                            text=True)
    try:
        for _ in range(200):
            line = proc.stderr.readline()
            if "ready in" in line or not line:
                break
        assert "ready in" in line
    finally:
        proc.terminate()
        proc.wait(timeout=15)
    assert [r[2] for r in agent_rows(db_path)] == ["someone-else"]
