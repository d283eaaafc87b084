"""Quarantine you can act on: show (reason + headers), retry ingest, delete — store, engine and
the real ``ticketty quarantine`` command."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from email.message import EmailMessage
from pathlib import Path

import pytest

from engine.models import Agent, Channel
from engine.quarantine import headers, retry
from engine.store import StoreError

BIN = str(Path(sys.executable).parent / "ticketty")


def mail(subject: str = "Order 1042 never came", frm: str = "Carla <carla@example.com>") -> bytes:
    m = EmailMessage()
    m["From"] = frm
    m["To"] = "help@acme.test"
    m["Subject"] = subject
    m["Message-ID"] = "<q-1@example.com>"
    m["Date"] = "Tue, 04 Mar 2025 10:00:00 +0000"
    m.set_content("Where is it?")
    return m.as_bytes()


NO_SENDER = b"Subject: who am I\r\nMessage-ID: <nosender@example.com>\r\n\r\nno From at all\r\n"


async def test_retry_after_the_cause_was_fixed_makes_the_ticket_and_resolves(store):
    ch = await store.add_channel(Channel(kind="email", name="Support",
                                         settings={"address": "help@acme.test",
                                                   "mode": "forwarding"}))
    # as an older version left it: a mail it could not parse
    qid = await store.add_quarantine("email:forwarding", "old parser: bad header", mail(), ch.id)
    item = await store.quarantined(qid)
    assert item["channel"] == "Support" and item["raw"] == mail() and not item["resolved"]
    assert ("Subject", "Order 1042 never came") in headers(item["raw"])
    done = await retry(store, qid)
    assert done.result.created_ticket and done.result.ticket_id
    ticket = await store.ticket(done.result.ticket_id)
    assert ticket.subject == "Order 1042 never came" and ticket.channel_id == ch.id
    assert [i["id"] for i in await store.quarantine()] == []  # resolved: off the list
    with pytest.raises(StoreError, match="already ingested"):
        await retry(store, qid)


async def test_retry_that_still_fails_keeps_the_item_with_the_new_reason(store):
    qid = await store.add_quarantine("import:mbox", "x.mbox#3: no sender", NO_SENDER)
    with pytest.raises(StoreError, match=f"quarantined item {qid} still cannot be ingested"):
        await retry(store, qid)
    items = await store.quarantine()
    assert [i["id"] for i in items] == [qid]  # kept, once
    assert "sender" in items[0]["reason"]
    assert await store.read(lambda c: c.execute("SELECT count(*) FROM tickets").fetchone()[0]) == 0


async def test_retry_of_a_bounce_with_nowhere_to_go_writes_nothing(store):
    bounce = (b"From: MAILER-DAEMON@mx.example.com\r\nTo: help@acme.test\r\n"
              b"Subject: Undelivered Mail Returned to Sender\r\nMessage-ID: <b1@mx>\r\n"
              b"Content-Type: text/plain\r\n\r\nThe mail to x@y.z could not be delivered.\r\n")
    qid = await store.add_quarantine("bounce", "bounce for a message we have no record of"
                                     " sending", bounce)
    with pytest.raises(StoreError, match="still"):
        await retry(store, qid)
    assert len(await store.quarantine()) == 1  # no second copy of it


async def test_delete(store):
    qid = await store.add_quarantine("email:imap uid 7", "no sender", NO_SENDER)
    await store.delete_quarantined(qid)
    assert await store.quarantined(qid) is None
    with pytest.raises(StoreError, match=f"no quarantined item {qid}"):
        await store.delete_quarantined(qid)


def cli(db: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run([BIN, "--db", str(db), *args], capture_output=True, env=os.environ,
                          timeout=60)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


async def test_cli_list_show_retry_delete(db_path, store):
    await store.add_agent(Agent(email="bob@example.com", name="Bob"))
    ok = await store.add_quarantine("email:forwarding", "old parser: bad header", mail())
    bad = await store.add_quarantine("import:eml", "/in/x.eml: no sender", NO_SENDER)
    await store.close()
    listed = json.loads(cli(db_path, "quarantine", "list", "--json").stdout)
    assert [(i["id"], i["source"], i["size"]) for i in listed] == [
        (bad, "import:eml", len(NO_SENDER)), (ok, "email:forwarding", len(mail()))]
    assert {"id", "at", "source", "reason", "size"} <= set(listed[0])
    shown = cli(db_path, "quarantine", "show", str(ok)).stdout.decode()
    assert "old parser: bad header" in shown and "Subject: Order 1042 never came" in shown
    data = json.loads(cli(db_path, "quarantine", "show", str(ok), "--json").stdout)
    assert ["From", "Carla <carla@example.com>"] in data["headers"] and "raw" not in data
    assert cli(db_path, "quarantine", "show", str(ok), "--raw").stdout == mail()
    # admins only
    refused = cli(db_path, "--as", "bob@example.com", "quarantine", "retry", str(ok), check=False)
    assert refused.returncode == 1 and b"admins only" in refused.stderr
    done = json.loads(cli(db_path, "quarantine", "retry", str(ok), "--json").stdout)
    assert done["id"] == ok and done["created"] and done["ticket_id"]
    failed = cli(db_path, "quarantine", "retry", str(bad), check=False)
    assert failed.returncode == 1
    assert failed.stderr.decode().strip().startswith(
        f"ticketty: error: quarantined item {bad} still cannot be ingested")
    unconfirmed = cli(db_path, "quarantine", "delete", str(bad), check=False)
    assert unconfirmed.returncode == 1 and b"--yes" in unconfirmed.stderr
    cli(db_path, "quarantine", "delete", str(bad), "--yes")
    assert json.loads(cli(db_path, "quarantine", "list", "--json").stdout) == []
    missing = cli(db_path, "quarantine", "show", "999", check=False)
    assert missing.returncode == 1 and b"no quarantined item 999" in missing.stderr
    conn = sqlite3.connect(db_path)
    kinds = [r[0] for r in conn.execute("SELECT kind FROM events WHERE kind LIKE 'quarantine.%'")]
    conn.close()
    assert "quarantine.resolved" in kinds and "quarantine.deleted" in kinds


def dsn(original: str) -> bytes:
    """A delivery status notification for the mail ``original`` (RFC 3464)."""
    return (b"From: MAILER-DAEMON@mx.example.com\r\nTo: help@acme.test\r\n"
            b"Subject: Undelivered Mail Returned to Sender\r\nMessage-ID: <dsn-7@mx>\r\n"
            b"Date: Tue, 04 Mar 2025 11:00:00 +0000\r\nMIME-Version: 1.0\r\n"
            b'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n\r\n'
            b"--B\r\nContent-Type: text/plain\r\n\r\nThe mail could not be delivered.\r\n"
            b"--B\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx\r\n\r\n"
            b"Final-Recipient: rfc822; gone@example.com\r\nAction: failed\r\nStatus: 5.1.1\r\n"
            b"Diagnostic-Code: smtp; 550 5.1.1 no such user\r\n\r\n"
            b"--B\r\nContent-Type: text/rfc822-headers\r\n\r\nFrom: help@acme.test\r\n"
            b"To: gone@example.com\r\nSubject: Your order\r\nMessage-ID: " + original.encode()
            + b"\r\n\r\n--B--\r\n")


async def test_retry_of_a_bounce_places_it_once_its_mail_is_known(store):
    """A bounce that came before the mail it reports (history imported later) is quarantined;
    retrying it then marks that mail failed and resolves the item — not "already there"."""
    from engine.channels.email_parse import parse_email
    from engine.ingest import ingest

    ch = await store.add_channel(Channel(kind="email", name="Support", settings={
        "address": "help@acme.test", "mode": "forwarding"}))
    raw = dsn("<sent-1@acme.test>")
    first = await ingest(store, parse_email(raw, channel_id=ch.id))
    assert first.quarantined
    (item,) = await store.quarantine()
    original = parse_email(mail().replace(b"<q-1@example.com>", b"<sent-1@acme.test>"),
                           channel_id=ch.id)
    placed = await ingest(store, original)
    done = await retry(store, item["id"])
    assert done.result.bounce_marked and done.result.ticket_id == placed.ticket_id
    (message,) = await store.messages(placed.ticket_id)
    assert message.delivery_state.value == "failed" and "550" in (message.delivery_error or "")
    assert await store.quarantine() == []  # resolved
    again = await ingest(store, parse_email(raw, channel_id=ch.id))  # a re-delivery of it
    assert again.duplicate and len(await store.quarantine()) == 0
