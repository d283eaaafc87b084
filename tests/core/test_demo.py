"""``ticketty demo --headless``: a seeded world with live traffic through the real paths.

One busy run (``--rate 40`` for 12 s) is shared by the tests that read its summary and its
database: the counters add up, arrivals and resolutions balance, every contact has a believable
name and every answer fits its conversation (issue 11, item 19). Other runs check where the
workspace lives: never in somebody's real database, removed unless ``--keep`` (item 3).
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from engine.demo import CUSTOMER_KINDS
from engine.demo_data import DEFAULT_RATE, scenario_for

BIN = str(Path(sys.executable).parent / "ticketty")
RATE, SECONDS = 40.0, 16  # long enough that customers write back on every channel mix


def demo(*args: str, env: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([BIN, *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})


@pytest.fixture(scope="module")
def busy_run(tmp_path_factory) -> tuple[dict, Path, Path]:
    home = tmp_path_factory.mktemp("demo")
    real, db = home / "real.db", home / "demo.db"
    p = demo("demo", "--headless", "--seconds", str(SECONDS), "--rate", str(RATE), "--db", str(db),
             env={"TICKETTY_DB": str(real), "XDG_DATA_HOME": str(home / "data")})
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout), db, real


def test_headless_demo_summary_and_isolation(busy_run):
    summary, db, real = busy_run
    assert summary["tickets_created"] >= 1
    assert {"Support email", "Billing email", "Contact form", "Website chat", "Messenger",
            "WhatsApp", "Phones"} <= set(summary["channels"])
    # visitors chatted over real WebSockets: their lines are the chat channel's tickets
    chat = summary["channels"]["Website chat"]
    assert summary["chat"]["visitors"] >= 1 and chat["tickets_created"] >= 1
    assert chat["received"] == summary["chat"]["lines"]
    assert summary["db"] == str(db) and summary["kept"] is True
    assert not real.exists(), "the demo must never touch the user's database"
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT count(*) FROM tickets").fetchone()[0] >= 300
    kinds = {r[0] for r in conn.execute("SELECT kind FROM channels")}
    from engine.channels import REGISTRY

    assert kinds == set(REGISTRY), "every channel kind in the code is connected in the demo"
    assert summary["contact_form"]["url"].startswith("http://127.0.0.1:")
    assert summary["contact_form"]["url"].endswith("/f/contact")
    # rerunning on the same workspace keeps it and drives traffic again
    p = demo("demo", "--headless", "--seconds", "2", "--db", str(db))
    assert p.returncode == 0, p.stderr
    assert conn.execute("SELECT count(*) FROM agents WHERE email LIKE 'maya@%'").fetchone()[0] == 1


def customers_only(s: dict) -> dict:
    """The summary's counts over the channels the simulated customers write to (mail, the
    form, Messenger, WhatsApp: what their messages add up to; chat and calls apart)."""
    channels = {k: c for k, c in s["channels"].items() if c["kind"] in CUSTOMER_KINDS}
    return {**s, "channels": channels, **{key: sum(c[key] for c in channels.values()) for key in
            ("received", "tickets_created", "assigned", "follow_ups")},
            "follow_up_tickets": sorted({t for c in channels.values()
                                         for t in c["follow_up_tickets"]})}


def test_summary_counters_add_up_and_name_the_follow_ups(busy_run):
    s, db, _ = busy_run
    s = {**customers_only(s), "unassigned": customers_only(s)["tickets_created"] - customers_only(s)["assigned"]}
    mails = s["customer_mails"]
    assert mails["total"] == mails["new_conversations"] + mails["follow_ups"]
    assert mails["new_conversations"] >= 3 and mails["follow_ups"] >= 1
    # what the simulated customers sent is exactly what the store took in
    assert s["received"] == mails["total"] == sum(c["received"] for c in s["channels"].values()
                                                  if c["kind"] in CUSTOMER_KINDS)
    assert s["tickets_created"] == mails["new_conversations"]
    assert s["follow_ups"] == mails["follow_ups"]
    assert s["assigned"] + s["unassigned"] == s["tickets_created"]
    for c in s["channels"].values():
        if c["kind"] not in CUSTOMER_KINDS:  # the chat's visitors: engine/demo_chat.py
            continue
        assert c["received"] == c["new_conversations"] + c["follow_ups"]
        assert c["tickets_created"] == c["new_conversations"]
    # which mails were follow-ups: the tickets they went to, each holding a later customer mail
    conn = sqlite3.connect(db)
    assert s["follow_up_tickets"] and len(s["follow_up_tickets"]) <= s["follow_ups"]
    for ticket in s["follow_up_tickets"]:
        inbound = conn.execute("SELECT count(*) FROM messages WHERE ticket_id=? AND"
                               " direction='inbound'", (ticket,)).fetchone()[0]
        assert inbound >= 2
    # every reply written was sent, and every mail sent reached the sandbox
    assert s["replies_waiting"] == s["replies_failed"] == 0
    assert s["replies_sent"] + s["chat"]["replies_sent"] == s["colleagues"]["replies"]
    assert s["delivered_to_sandbox"] == s["replies_sent"] + s["notifications_sent"]


def test_the_phone_line_rang(busy_run):
    s, db, _ = busy_run
    calls, phones = s["calls"], s["channels"]["Phones"]
    assert calls["calls"] == calls["answered"] + calls["voicemails"] + calls["hung_up"] >= 1
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT count(*) FROM calls WHERE direction='inbound'").fetchone()[0] \
        >= calls["calls"]
    # each call is a message; voicemail transcripts join their call's ticket
    assert phones["received"] >= calls["calls"] and phones["tickets_created"] <= calls["calls"]
    assert conn.execute("SELECT count(*) FROM calls WHERE direction='outbound'").fetchone()[0] \
        == calls["call_backs"]


def test_arrivals_balance_the_colleagues_resolutions(busy_run):
    s, _, _ = busy_run
    s = customers_only(s)
    arrivals = s["tickets_created"]
    expected = RATE * SECONDS / 60
    assert expected / 3 <= arrivals <= expected * 2, "--rate sets the arrivals"
    assert s["colleagues"]["resolved"] >= arrivals * 0.7
    drift = s["open_tickets"]["at_end"] - s["open_tickets"]["at_start"]
    assert abs(drift) <= max(3, arrivals // 4), s["open_tickets"]
    assert DEFAULT_RATE <= 4, "the default traffic is something one person can follow"


def test_every_contact_has_a_believable_name(busy_run):
    _, db, _ = busy_run
    conn = sqlite3.connect(db)
    names = [r[0] for r in conn.execute("SELECT name FROM contacts")]
    assert len(names) >= 20
    word = r"[^\W\d_]+(?:['-][^\W\d_]+)*"
    for name in names:
        assert re.fullmatch(rf"{word}(?: {word})+", name), name
        assert "customer" not in name.lower()


def test_every_answer_fits_its_conversation(busy_run):
    _, db, _ = busy_run
    conn = sqlite3.connect(db)
    tickets = conn.execute(  # chat lines and calls are their own tests'
        "SELECT t.id, t.subject, c.kind FROM tickets t LEFT JOIN channels c ON c.id = t.channel_id"
        " WHERE c.kind IS NULL OR c.kind NOT IN ('chat', 'calls')").fetchall()
    checked = 0
    for ticket_id, subject, kind in tickets:
        scenario = scenario_for(subject)
        assert scenario is not None, subject
        thread = conn.execute("SELECT direction, text FROM messages WHERE ticket_id=? AND direction"
                              " IN ('inbound','outbound') ORDER BY created_at, id", (ticket_id,)).fetchall()
        if kind == "forms":  # the contact form: the answers as "Label: value", then the message
            assert thread[0][0] == "inbound" and "Your name: " in thread[0][1]
            assert thread[0][1].endswith("\n\n" + scenario.question)
        else:  # messaging apps have no subject: their first line is the scenario's
            assert thread[0] in (("inbound", scenario.question),
                                 ("inbound", f"{scenario.subject}\n{scenario.question}"))
        last_in = None  # the follow-up the next answer must fit (None: the question)
        for direction, text in thread[1:]:
            if direction == "inbound":
                last_in = scenario.follow_up(text)
                assert last_in is not None, (subject, text)
                continue
            fits = scenario.answers if last_in is None else last_in.replies
            assert text in fits, (subject, last_in, text)
            checked += 1
    assert checked >= 100


def test_the_demo_refuses_a_database_that_is_not_a_demo(tmp_path):
    mine = tmp_path / "mine.db"
    made = demo("--db", str(mine), "tickets", "create", "--subject", "Real work",
                "--from", "boss@example.com")
    assert made.returncode == 0, made.stderr
    before = mine.read_bytes()
    for args in (["--db", str(mine), "demo", "--headless", "--seconds", "1"],
                 ["demo", "--headless", "--seconds", "1", "--db", str(mine)],
                 ["demo", "--seconds", "1", "--db", str(mine)]):
        p = demo(*args)
        assert p.returncode == 1 and p.stdout == ""
        assert p.stderr.startswith(f"ticketty: error: {mine} holds a help desk that is not a demo")
    assert mine.read_bytes() == before
    text = tmp_path / "notes.db"
    text.write_text("not a database at all")
    p = demo("demo", "--headless", "--db", str(text))
    assert p.returncode == 1 and "is not a ticketty database" in p.stderr
    assert text.read_text() == "not a database at all"


def test_headless_demo_removes_its_temporary_directory_unless_keep(tmp_path):
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    p = demo("demo", "--headless", "--seconds", "1", env={"TMPDIR": str(tmp)})
    assert p.returncode == 0, p.stderr
    summary = json.loads(p.stdout)
    assert summary["kept"] is False and list(tmp.iterdir()) == []
    p = demo("demo", "--headless", "--seconds", "1", "--keep", env={"TMPDIR": str(tmp)})
    assert p.returncode == 0, p.stderr
    summary = json.loads(p.stdout)
    assert summary["kept"] is True and Path(summary["db"]).is_file()
    assert [d.name[:14] for d in tmp.iterdir()] == ["ticketty-demo-"]


def test_bad_demo_values_are_refused(tmp_path):
    for flag, value in (("--seconds", "0"), ("--rate", "-2"), ("--rate", "lots")):
        p = demo("demo", "--headless", flag, value, "--db", str(tmp_path / "d.db"))
        assert p.returncode == 2 and p.stderr.splitlines()[-1].startswith(f"ticketty: error: {flag}: ")
    assert not (tmp_path / "d.db").exists()
