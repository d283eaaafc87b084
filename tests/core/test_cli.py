"""CLI round trips through the real console script, as outside scripts use it."""

from __future__ import annotations

import csv
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers.crash import kill_9_after_tickets

BIN = str(Path(sys.executable).parent / "ticketty")


def run(db: Path, *args: str, check: bool = True, env: dict | None = None) -> subprocess.CompletedProcess:
    proc = subprocess.run([BIN, "--db", str(db), *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=60)
    if check and proc.returncode != 0:
        raise AssertionError(f"{args} exited {proc.returncode}: {proc.stderr}")
    return proc


def j(db: Path, *args: str):
    return json.loads(run(db, *args, "--json").stdout)


def test_ticket_round_trip(db_path):
    created = j(db_path, "tickets", "create", "--subject", "Login broken", "--from", "Carl@Example.com",
                "--name", "Carl", "--body", "cannot log in")
    n = str(created["id"])
    assert created["contact"] == {"email": "carl@example.com", "name": "Carl", "id": created["contact"]["id"]}
    j(db_path, "agents", "add", "--email", "alice@acme.test", "--name", "Alice Doe", "--skills", "billing,fr")
    j(db_path, "teams", "add", "Billing", "--members", "alice@acme.test")
    assigned = j(db_path, "tickets", "assign", n, "alice@acme.test")
    assert assigned["assignee"] == "alice@acme.test"
    assert j(db_path, "tickets", "assign", n, "--team", "Billing")["team"] == "Billing"
    run(db_path, "tickets", "note", n, "--body", "internal: check logs")
    assert j(db_path, "tickets", "status", n, "pending")["status"] == "pending"
    assert j(db_path, "tickets", "close", n)["is_open"] is False
    assert j(db_path, "tickets", "list") == []
    closed = j(db_path, "tickets", "list", "--view", "closed")
    assert [t["id"] for t in closed] == [created["id"]]
    for key in ("id", "subject", "status", "priority", "channel", "contact", "assignee"):
        assert key in closed[0]
    assert j(db_path, "tickets", "reopen", n)["is_open"] is True
    shown = j(db_path, "tickets", "show", n)
    directions = [m["direction"] for m in shown["messages"]]
    assert directions[0] == "inbound" and "note" in directions and "system" in directions
    for m in shown["messages"]:
        assert {"direction", "author", "text", "created_at"} <= set(m)
    mine = j(db_path, "--as", "alice@acme.test", "tickets", "list", "--assignee", "me")
    assert [t["id"] for t in mine] == [created["id"]]
    found = j(db_path, "tickets", "list", "--search", "log")
    assert [t["id"] for t in found] == [created["id"]]


def test_bad_input_is_one_line_and_nonzero(db_path):
    p = run(db_path, "tickets", "show", "42", check=False)
    assert p.returncode != 0 and p.stderr.strip() == "ticketty: error: no ticket #42"
    p = run(db_path, "tickets", "create", "--subject", "x", "--from", "not-an-email", check=False)
    assert p.returncode != 0 and "not a valid email address" in p.stderr and "Traceback" not in p.stderr
    p = run(db_path, "tickets", "assign", "1", "nobody@acme.test", check=False)
    assert p.returncode != 0 and "Traceback" not in p.stderr


def test_reply_without_channel_reports_failure(db_path):
    n = str(j(db_path, "tickets", "create", "--subject", "x", "--from", "c@example.com")["id"])
    p = run(db_path, "tickets", "reply", n, "--body", "hello", "--json", check=False)
    assert p.returncode == 3
    assert json.loads(p.stdout)["state"] == "failed"


def test_roles_are_enforced(db_path):
    j(db_path, "agents", "add", "--email", "bob@acme.test", "--name", "Bob")
    p = run(db_path, "--as", "bob@acme.test", "agents", "add", "--email", "x@acme.test", "--name", "X",
            check=False)
    assert p.returncode != 0 and "admins only" in p.stderr
    # an agent may still change their own availability
    run(db_path, "--as", "bob@acme.test", "agents", "update", "bob@acme.test", "--availability", "away")
    agents = {a["email"]: a for a in j(db_path, "agents", "list")}
    assert agents["bob@acme.test"]["availability"] == "away"


def test_seatless_agent_cannot_be_assigned(db_path):
    j(db_path, "agents", "add", "--email", "nos@acme.test", "--name", "No Seat", "--no-seat")
    n = str(j(db_path, "tickets", "create", "--subject", "x", "--from", "c@example.com")["id"])
    p = run(db_path, "tickets", "assign", n, "nos@acme.test", check=False)
    assert p.returncode != 0 and "No Seat <nos@acme.test> has no seat" in p.stderr


def test_config_errors_name_file_and_key(db_path, tmp_path):
    cfg = tmp_path / "bad.toml"
    cfg.write_text("[engine]\nlease_seconds = 'soon'\n")
    p = run(db_path, "--config", str(cfg), "tickets", "list", check=False)
    assert p.returncode != 0 and str(cfg) in p.stderr and "engine.lease_seconds" in p.stderr
    cfg.write_text("[enigne]\n")
    p = run(db_path, "--config", str(cfg), "tickets", "list", check=False)
    assert "enigne" in p.stderr


def test_first_run_creates_os_user_as_admin(db_path):
    agents = j(db_path, "agents", "list")
    assert len(agents) == 1 and agents[0]["role"] == "admin"


def write_csv(path: Path, n: int, extra_cols: dict | None = None) -> None:
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["external_id", "subject", "from_email", "from_name", "body", "status", "priority",
                    "created_at"])
        for i in range(n):
            w.writerow([f"ext-{i}", f"Question {i}", f"c{i % 500}@example.com", f"Customer {i % 500}",
                        f"body of question {i}", "closed" if i % 3 == 0 else "open",
                        ["low", "normal", "high"][i % 3], f"2026-01-{1 + i % 28:02d}T10:00:00Z"])


def test_csv_import_is_idempotent(db_path, tmp_path):
    path = tmp_path / "t.csv"
    write_csv(path, 300)
    first = j(db_path, "import", "csv", str(path))
    assert first["created"] == 300
    again = j(db_path, "import", "csv", str(path))
    assert again["created"] == 0 and again["duplicates"] == 300
    closed = j(db_path, "tickets", "list", "--view", "closed", "--limit", "1000")
    assert len(closed) == 100
    assert {t["source"] for t in closed} == {"import"}


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        ("subject,from_email,colour\nx,a@b.co,red\n", "unknown column(s): colour"),
        ("subject,body\nx,y\n", "missing required column(s): from_email"),
        ("subject,from_email\nx,not-mail\n", ":2: from_email"),
        ("subject,from_email,status\nx,a@b.co,exploded\n", "status 'exploded' is not a known status"),
        ("", "empty file"),
    ],
)
def test_csv_errors_write_nothing(db_path, tmp_path, content, needle):
    path = tmp_path / "bad.csv"
    path.write_text(content + "ok,ok@example.com\n" if content.startswith("subject,from_email\n") else content)
    p = run(db_path, "import", "csv", str(path), check=False)
    assert p.returncode != 0 and needle in p.stderr, p.stderr
    assert j(db_path, "tickets", "list", "--view", "all") == []


def test_kill_9_mid_import_then_rerun_has_no_duplicates(db_path, tmp_path):
    path = tmp_path / "big.csv"
    n = 30000
    write_csv(path, n)
    seen = kill_9_after_tickets([BIN, "--db", str(db_path), "import", "csv", str(path)], db_path)
    assert 0 < seen < n, "the import must be killed halfway"
    report = j(db_path, "import", "csv", str(path))
    assert report["created"] + report["duplicates"] == n
    conn = sqlite3.connect(db_path)
    assert conn.execute("SELECT count(*) FROM tickets").fetchone()[0] == n
    assert conn.execute("SELECT count(*) FROM messages").fetchone()[0] == n
    assert conn.execute("SELECT count(DISTINCT subject) FROM tickets").fetchone()[0] == n


def test_engine_command_runs_and_stops_on_sigterm(db_path):
    proc = subprocess.Popen([BIN, "--db", str(db_path), "engine"], stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 20
        lines = []
        while time.monotonic() < deadline:
            line = proc.stderr.readline()
            lines.append(line)
            if "ready in" in line:
                break
        assert any("ready in" in x for x in lines), lines
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()


def test_contacts_owner_drives_contact_owner_routing(db_path):
    j(db_path, "agents", "add", "--email", "olive@acme.test", "--name", "Olive Owner")
    j(db_path, "tickets", "create", "--subject", "first", "--from", "dana@example.com", "--name", "Dana")
    contacts = j(db_path, "contacts", "list", "--search", "dana")
    assert [c["emails"] for c in contacts] == [["dana@example.com"]]
    j(db_path, "contacts", "owner", "dana@example.com", "olive@acme.test")
    assert j(db_path, "contacts", "list")[0]["owner"] == "olive@acme.test"
    p = run(db_path, "contacts", "owner", "nobody@example.com", "olive@acme.test", check=False)
    assert p.returncode != 0 and "no contact" in p.stderr
