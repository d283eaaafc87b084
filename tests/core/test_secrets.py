"""Channel secrets at rest: sealed in the database, the key outside it, never shown.

Each CLI test gets its own config dir (so its own ``secrets.key``) through XDG_CONFIG_HOME.
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from engine.channels import build_adapter
from engine.config import Config, EngineConfig
from engine.engine import Engine
from engine.models import Channel
from engine.store import Store
from engine.vault import Vault, key_path

BIN = str(Path(sys.executable).parent / "ticketty")
SECRETS = {"imap_password": "imap-Pa55word-xyzzy", "smtp_password": "smtp-Pa55word-plugh",
           "oauth_client_secret": "client-secret-fnord", "oauth_refresh_token": "refresh-tok-quux"}
SETTINGS = {"address": "help@acme.test", "imap_host": "imap.acme.test", "imap_user": "help",
            "smtp_host": "smtp.acme.test", "oauth_client_id": "client-id-1", **SECRETS}


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "XDG_CONFIG_HOME": str(tmp_path / "config")}


def cli(db: Path, env: dict, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run([BIN, "--db", str(db), *args], capture_output=True, text=True,
                          env=env, timeout=60)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def add_channel(db: Path, env: dict) -> subprocess.CompletedProcess:
    sets = sum([["--set", f"{k}={v}"] for k, v in SETTINGS.items()], [])
    return cli(db, env, "channels", "add", "email", "--name", "Support", *sets, "--json")


def raw_bytes(db: Path) -> bytes:
    out = b""
    for suffix in ("", "-wal", "-shm"):
        f = Path(f"{db}{suffix}")
        if f.exists():
            out += f.read_bytes()
    return out


def test_a_copy_of_the_database_reveals_no_secret(db_path, env):
    added = add_channel(db_path, env)
    data = raw_bytes(db_path)
    for secret in SECRETS.values():
        assert secret.encode() not in data
    assert b"help@acme.test" in data  # the settings are there, only the secrets are sealed
    key = Path(env["XDG_CONFIG_HOME"]) / "ticketty" / "secrets.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert stat.S_IMODE(key.parent.stat().st_mode) == 0o700
    # --json of add and list, and the events: masked or absent
    listed = cli(db_path, env, "channels", "list", "--json").stdout
    for out in (added.stdout, listed):
        assert not any(s in out for s in SECRETS.values())
    settings = json.loads(listed)[0]["settings"]
    assert {settings[k] for k in SECRETS} == {"********"}
    assert settings["oauth_token_url"] == ""  # a URL is not a secret
    conn = sqlite3.connect(db_path)
    events = " ".join(r[0] for r in conn.execute("SELECT data FROM events"))
    conn.close()
    assert not any(s in events for s in SECRETS.values())


async def test_while_open_neither_database_nor_wal_holds_the_secret(db_path, monkeypatch,
                                                                     tmp_path):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    async with Store(db_path) as store:
        ch = await store.add_channel(Channel(kind="email", name="Support", settings=SETTINGS))
        data = raw_bytes(db_path)
        assert len(data) > db_path.stat().st_size  # the WAL is in there
        assert not any(s.encode() in data for s in SECRETS.values())
        # the adapter opens them; what the store hands out stays sealed
        stored = await store.channel(ch.id)
        assert stored.settings["imap_password"].startswith("fernet:")
        adapter = build_adapter(stored, store)
        assert adapter.settings.imap_password.get_secret_value() == SECRETS["imap_password"]
        assert adapter.settings.oauth_refresh_token.get_secret_value() == SECRETS["oauth_refresh_token"]
        # a save with the sealed values seals nothing twice
        await store.update_channel(stored.model_copy(update={"name": "Help"}))
        again = await store.channel(ch.id)
        assert build_adapter(again, store).settings.smtp_password.get_secret_value() == SECRETS["smtp_password"]


def test_missing_or_wrong_key_names_the_channel_and_the_fix(db_path, env):
    add_channel(db_path, env)
    key = Path(env["XDG_CONFIG_HOME"]) / "ticketty" / "secrets.key"
    good = key.read_text().strip()
    key.unlink()
    # showing the channel needs no key
    assert json.loads(cli(db_path, env, "channels", "list", "--json").stdout)[0]["name"] \
        == "Support"
    proc = cli(db_path, env, "channels", "test", "Support", check=False)
    assert proc.returncode == 1
    line = proc.stderr.strip()
    assert len(line.splitlines()) == 1
    assert line.startswith("ticketty: error: channel 'Support': cannot decrypt")
    assert str(key) in line and "TICKETTY_SECRET_KEY" in line
    assert "ticketty channels edit 'Support' --set" in line
    # a different key: says so
    from cryptography.fernet import Fernet

    wrong = {**env, "TICKETTY_SECRET_KEY": Fernet.generate_key().decode()}
    proc = cli(db_path, wrong, "channels", "test", "Support", check=False)
    assert proc.returncode == 1 and "not the key it was sealed with" in proc.stderr
    # the key in the environment works as well as the file
    proc = cli(db_path, {**env, "TICKETTY_SECRET_KEY": good}, "channels", "test", "Support",
               check=False)
    assert "cannot decrypt" not in proc.stderr + proc.stdout
    bad = {**env, "TICKETTY_SECRET_KEY": "not-a-key"}
    proc = cli(db_path, bad, "channels", "test", "Support", check=False)
    assert proc.returncode == 1 and "TICKETTY_SECRET_KEY is not a secrets key" in proc.stderr


async def test_engine_reports_an_unreadable_secret_as_channel_health(db_path, monkeypatch,
                                                                    tmp_path):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    async with Store(db_path) as store:
        ch = await store.add_channel(Channel(kind="email", name="Support", settings=SETTINGS))
    key_path().unlink()
    config = Config(engine=EngineConfig(http_port=0, lease_seconds=1.0))
    async with Engine(config, db_path) as engine:
        assert await engine.wait_leader(10)
        for _ in range(200):
            health = (await engine.store.channel(ch.id)).health
            if health.get("last_error"):
                break
            await asyncio.sleep(0.05)
    assert "channel 'Support': cannot decrypt imap_password" in health["last_error"]
    assert "ticketty channels edit" in health["last_error"]


async def test_plain_secrets_of_an_older_database_are_sealed_on_open(db_path, monkeypatch,
                                                                     tmp_path):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    async with Store(db_path) as store:
        ch = await store.add_channel(Channel(kind="email", name="Support",
                                             settings={"address": "help@acme.test",
                                                       "imap_host": "imap.acme.test"}))
    # as an older ticketty wrote it: the password in plain text
    conn = sqlite3.connect(db_path)
    conn.execute("UPDATE channels SET settings=? WHERE id=?",
                 (json.dumps({"address": "help@acme.test", "imap_host": "imap.acme.test",
                              "imap_password": SECRETS["imap_password"]}), ch.id))
    conn.commit()
    conn.close()
    assert SECRETS["imap_password"].encode() in raw_bytes(db_path)
    async with Store(db_path) as store:
        sealed = await store.channel(ch.id)
        assert sealed.settings["imap_password"].startswith("fernet:")
        assert build_adapter(sealed, store).settings.imap_password.get_secret_value() == SECRETS["imap_password"]
    assert SECRETS["imap_password"].encode() not in raw_bytes(db_path)


def test_an_exposed_key_file_warns(tmp_path, capsys):
    vault = Vault(tmp_path / "cfg" / "secrets.key")
    sealed = vault.seal("hunter2-long")
    vault.path.chmod(0o644)
    assert vault.open(sealed) == "hunter2-long"
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(vault.path) in err[0] and f"chmod 600 {vault.path}" in err[0]


async def test_a_secret_typed_for_a_connection_test_is_kept_out_of_logs_too(store, caplog):
    """``channels add --test`` and the wizard test a connection before anything is sealed."""
    import logging

    typed = "typed-in-Pa55word-for-test"
    build_adapter(Channel(kind="email", name="New", settings={**SETTINGS, "smtp_password": typed}),
                  store)
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("aiosmtplib").debug("AUTH PLAIN user %s", typed)
    assert typed not in caplog.text and "AUTH PLAIN user ********" in caplog.text


def test_channels_show_masks_secrets_and_gives_no_web_links_for_email(db_path, env):
    add_channel(db_path, env)
    data = json.loads(cli(db_path, env, "channels", "show", "Support", "--json").stdout)
    assert data["name"] == "Support" and data["kind"] == "email"
    assert data["settings"]["imap_host"] == "imap.acme.test"
    shown = json.dumps(data)
    for secret in SECRETS.values():
        assert secret not in shown
    assert "webhook_url" not in data and "embed_code" not in data  # email has no web routes
    text = cli(db_path, env, "channels", "show", "Support").stdout
    assert "imap.acme.test" in text and "routing:" in text
    assert not any(secret in text for secret in SECRETS.values())
    missing = cli(db_path, env, "channels", "show", "Nope", check=False)
    assert missing.returncode == 1 and "no channel named 'Nope'" in missing.stderr
