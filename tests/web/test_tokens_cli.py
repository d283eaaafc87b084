"""``ticketty tokens create|list|revoke``: printed once, stored hashed, working against a real
``ticketty engine --http-port N`` until revoked."""

from __future__ import annotations

import json

import httpx
import pytest

from engine.models import Agent
from engine.store import StoreError
from tests.helpers.procs import EngineProc, query, run, write_config
from tests.helpers.servers import free_port


def ok(db, *args: str):  # parsed JSON
    return json.loads(run(db, *args, "--json").stdout)


def test_create_list_revoke_and_the_token_against_a_real_engine(db_path, tmp_path):
    ok(db_path, "agents", "add", "--email", "bob@example.com", "--name", "Bob Builder")
    created = ok(db_path, "tokens", "create", "--name", "ci")
    token = created["token"]
    assert token.startswith("tkty_") and len(token) > 40
    assert created["name"] == "ci"
    # kept as a hash only: the text is in no row and nowhere in the database files
    assert query(db_path, "SELECT count(*) FROM api_tokens WHERE token_hash=?", (token,)) == [(0,)]
    for path in db_path.parent.glob(db_path.name + "*"):
        assert token.encode() not in path.read_bytes(), path
    listed = ok(db_path, "tokens", "list")
    assert [t["name"] for t in listed] == ["ci"] and token not in json.dumps(listed)

    human = run(db_path, "tokens", "create", "--name", "ci-2").stdout.splitlines()
    assert "shown this once" in human[0] and human[1].startswith("tkty_")
    dup = run(db_path, "tokens", "create", "--name", "ci", check=False)
    assert dup.returncode == 1 and "exists already" in dup.stderr
    blank = run(db_path, "tokens", "create", "--name", " ", check=False)
    assert blank.returncode == 1 and "--name" in blank.stderr
    bobs = ok(db_path, "--as", "bob@example.com", "tokens", "create", "--name", "bob-ci")
    assert bobs["agent"] == "bob@example.com"

    port = free_port()
    engine = EngineProc(db_path, write_config(tmp_path / "engine.toml"), "--http-port", str(port))
    try:
        engine.wait_line("web: serving", timeout=30)
        api = f"http://127.0.0.1:{port}/api/v1"
        mine = {"Authorization": f"Bearer {token}"}
        made = httpx.post(f"{api}/tickets", headers={**mine, "Idempotency-Key": "k1"},
                          json={"subject": "From a script", "from_email": "c@example.com"})
        assert made.status_code == 201, made.text
        shown = json.loads(run(db_path, "tickets", "show", str(made.json()["id"]),
                               "--json").stdout)
        assert shown["source"] == "api" and shown["subject"] == "From a script"
        as_bob = httpx.get(f"{api}/tokens", headers={"Authorization": f"Bearer {bobs['token']}"})
        assert as_bob.status_code == 403

        revoked = ok(db_path, "tokens", "revoke", "ci")
        assert revoked["name"] == "ci" and revoked["revoked_at"]
        assert httpx.get(f"{api}/tickets", headers=mine).status_code == 401
    finally:
        engine.stop()
    assert [t["name"] for t in ok(db_path, "tokens", "list")] == ["ci-2", "bob-ci"]
    every = ok(db_path, "tokens", "list", "--all")
    assert [(t["name"], bool(t["revoked_at"])) for t in every] == [
        ("ci", True), ("ci-2", False), ("bob-ci", False)]
    assert ok(db_path, "tokens", "list", "--all")[0]["last_used_at"]
    again = run(db_path, "tokens", "revoke", "ci", check=False)
    assert again.returncode == 1 and "no token named 'ci' in force" in again.stderr


async def test_agents_see_and_revoke_only_their_own_tokens(store):
    admin = await store.agent("admin@example.com")
    bob = await store.add_agent(Agent(email="bob@example.com", name="Bob"))
    await store.create_api_token("admins", admin.id)
    await store.create_api_token("bobs", bob.id)
    assert [t["name"] for t in await store.api_tokens(bob.id)] == ["bobs"]
    assert [t["name"] for t in await store.api_tokens()] == ["admins", "bobs"]
    with pytest.raises(StoreError, match="among yours"):
        await store.revoke_api_token("admins", bob.id)
    assert (await store.revoke_api_token("bobs", bob.id))["revoked_at"]
    # a name is free again once its token is revoked
    await store.create_api_token("bobs", bob.id)
