"""History import from mbox, Maildir and .eml: threads rebuilt, chosen status, rerun-safe."""

from __future__ import annotations

import json
import mailbox

from tests.helpers.cli import run_cli as cli
from tests.helpers.mail import mail


def history() -> list[bytes]:
    return [
        mail("Order 17 missing", frm="ann@example.com", msgid="<a1@example.com>",
             Date="Mon, 02 Feb 2026 10:00:00 +0000"),
        mail("Re: Order 17 missing", frm="ann@example.com", msgid="<a2@example.com>",
             In_Reply_To="<a1@example.com>", Date="Tue, 03 Feb 2026 10:00:00 +0000"),
        mail("Invoice", frm="ben@example.com", msgid="<b1@example.com>",
             Date="Wed, 04 Mar 2026 10:00:00 +0000"),
    ]


def test_mbox_import_threads_and_is_idempotent(db_path, tmp_path):
    box = mailbox.mbox(str(tmp_path / "h.mbox"))
    for raw in reversed(history()):  # out of order on purpose
        box.add(raw)
    box.add(b"garbage without headers\n")
    box.flush()
    p = cli(db_path, "import", "mbox", str(tmp_path / "h.mbox"), "--json")
    assert p.returncode == 0, p.stderr
    report = json.loads(p.stdout)
    assert report["created"] == 2 and report["quarantined"] == 1
    closed = json.loads(cli(db_path, "tickets", "list", "--view", "closed", "--json").stdout)
    assert sorted(t["subject"] for t in closed) == ["Invoice", "Order 17 missing"]
    assert {t["assignee"] for t in closed} == {None}
    order = next(t for t in closed if t["subject"] == "Order 17 missing")
    shown = json.loads(cli(db_path, "tickets", "show", str(order["id"]), "--json").stdout)
    assert len([m for m in shown["messages"] if m["direction"] == "inbound"]) == 2
    again = json.loads(cli(db_path, "import", "mbox", str(tmp_path / "h.mbox"), "--json").stdout)
    assert again["created"] == 0


def test_maildir_import_since_and_status(db_path, tmp_path):
    box = mailbox.Maildir(str(tmp_path / "md"))
    for raw in history():
        box.add(raw)
    p = cli(db_path, "import", "maildir", str(tmp_path / "md"), "--since", "2026-03-01",
            "--status", "open", "--json")
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["created"] == 1
    listed = json.loads(cli(db_path, "tickets", "list", "--json").stdout)
    assert [(t["subject"], t["status"]) for t in listed] == [("Invoice", "open")]


def test_eml_import_and_bad_path(db_path, tmp_path):
    (tmp_path / "one.eml").write_bytes(history()[2])
    assert json.loads(cli(db_path, "import", "eml", str(tmp_path / "one.eml"), "--json").stdout)["created"] == 1
    p = cli(db_path, "import", "maildir", str(tmp_path / "nope"))
    assert p.returncode != 0 and "no such file" in p.stderr


def test_our_own_answers_in_the_archive_become_outbound_messages(db_path, tmp_path):
    for email, name in (("ada@acme.test", "Ada Agent"), ("bob@acme.test", "Bob Agent")):
        assert cli(db_path, "agents", "add", "--email", email, "--name", name).returncode == 0
    box = mailbox.mbox(str(tmp_path / "sent.mbox"))
    box.add(mail("Broken pedal", frm="Cleo <cleo@example.com>", msgid="<c1@example.com>",
                 Date="Mon, 02 Feb 2026 10:00:00 +0000"))
    box.add(mail("Re: Broken pedal", frm="Ada Agent <ada@acme.test>", to="Cleo <cleo@example.com>",
                 msgid="<r1@acme.test>", In_Reply_To="<c1@example.com>", body="We'll send a new one.",
                 Date="Mon, 02 Feb 2026 11:00:00 +0000"))
    box.add(mail("Re: Broken pedal", frm="Cleo <cleo@example.com>", msgid="<c2@example.com>",
                 In_Reply_To="<r1@acme.test>", body="Thanks!", Date="Mon, 02 Feb 2026 12:00:00 +0000"))
    box.add(mail("Lunch?", frm="ada@acme.test", to="bob@acme.test", msgid="<int@acme.test>",
                 Date="Mon, 02 Feb 2026 12:30:00 +0000"))  # between colleagues: not a ticket
    box.flush()
    report = json.loads(cli(db_path, "import", "mbox", str(tmp_path / "sent.mbox"), "--json").stdout)
    assert report["created"] == 1
    tickets = json.loads(cli(db_path, "tickets", "list", "--view", "all", "--json").stdout)
    assert len(tickets) == 1 and tickets[0]["contact"]["email"] == "cleo@example.com"
    shown = json.loads(cli(db_path, "tickets", "show", str(tickets[0]["id"]), "--json").stdout)
    thread = [(m["direction"], m["author"]) for m in shown["messages"] if m["direction"] != "system"]
    assert thread == [("inbound", "Cleo"), ("outbound", "Ada Agent"), ("inbound", "Cleo")]
