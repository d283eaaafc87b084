"""Channel secrets against a real IMAP server (Dovecot): used to log in, never written out —
not in logs (even at DEBUG, even quoted by the IMAP library), events, health, quarantine or
the CLI's --json."""

from __future__ import annotations

import json
import logging
import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from engine.channels import build_adapter
from engine.desk import ensure_first_admin
from engine.models import Channel
from engine.store import Store

BIN = str(Path(sys.executable).parent / "ticketty")
WRONG = 'wr"ong\\pass-Phrase-42'  # quotes and a backslash: the IMAP library escapes these


def everything_in(db: Path) -> bytes:
    return b"".join(Path(f"{db}{s}").read_bytes() for s in ("", "-wal")
                    if Path(f"{db}{s}").exists())


async def test_secrets_stay_out_of_logs_events_health_and_quarantine(db_path, mail_user, caplog):
    caplog.set_level(logging.DEBUG)  # everything every library logs
    good = mail_user.password
    mail_user.append(b"this is not a mail at all\r\n")  # quarantined on fetch
    async with Store(db_path) as store:
        await ensure_first_admin(store, "ada@acme.test", "Ada")
        bad = await store.add_channel(Channel(kind="email", name="Wrong",
                                              settings=mail_user.settings(imap_password=WRONG)))
        adapter = build_adapter(bad, store)
        with pytest.raises(RuntimeError, match="login failed"):
            await adapter.sync_once()
        ok = await store.add_channel(Channel(kind="email", name="Right",
                                             settings=mail_user.settings()))
        adapter = build_adapter(ok, store)
        report = await adapter.sync_once()
        assert report["quarantined"] == 1
        health = (await store.channel(bad.id)).health
        quarantined = await store.read(lambda c: c.execute(
            "SELECT source, reason, raw FROM quarantine").fetchall())
        events = await store.read(lambda c: [r[0] for r in c.execute("SELECT data FROM events")])
    assert "login failed" in health["last_error"]
    # the IMAP library logged its LOGIN command, with the password quoted/escaped: masked
    logins = [r.getMessage() for r in caplog.records if "LOGIN" in r.getMessage()
              and "Sending" in r.getMessage()]
    assert logins and all(re.search(r'LOGIN \S+ "\*+"', x) for x in logins), logins
    for escaped in ('wr\\"ong', 'wr\\\\"ong'):
        assert escaped not in caplog.text
    for secret in (WRONG, good):
        assert secret not in caplog.text
        assert secret not in json.dumps(health)
        assert not any(secret in e for e in events)
        for _source, reason, raw in quarantined:
            assert secret not in reason and secret.encode() not in bytes(raw)
        assert secret.encode() not in everything_in(db_path)


def test_cli_json_never_shows_a_secret(db_path, mail_user, tmp_path):
    env = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path / "config")}
    sets = sum([["--set", f"{k}={v}"] for k, v in
                mail_user.settings(imap_password=WRONG, smtp_password=WRONG).items()], [])
    outputs = []
    for args in (["channels", "add", "email", "--name", "Inbox", *sets],
                 ["channels", "list"], ["channels", "edit", "Inbox", "--set", "company_name=X"],
                 ["quarantine", "list"]):
        proc = subprocess.run([BIN, "--db", str(db_path), *args, "--json"], capture_output=True,
                              text=True, env=env, timeout=60)
        assert proc.returncode == 0, proc.stderr
        outputs.append(proc.stdout + proc.stderr)
    proc = subprocess.run([BIN, "--db", str(db_path), "channels", "sync", "Inbox", "--json"],
                          capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode != 0 and "login failed" in proc.stderr
    outputs.append(proc.stdout + proc.stderr)
    for out in outputs:
        assert WRONG not in out and 'wr\\"ong' not in out
    conn = sqlite3.connect(db_path)
    try:
        assert all(WRONG not in r[0] for r in conn.execute("SELECT data FROM events"))
    finally:
        conn.close()
