"""Nothing lost, nobody mistaken (issue 9, items 8–11 and 16) through the real paths: mail
imports from files, IMAP sync against the real Dovecot, and the forwarding listener spoken to
over SMTP with replies delivered to a real aiosmtpd server."""

from __future__ import annotations

import email
import json
import re
import sqlite3
from email.policy import compat32
from pathlib import Path

import aiosmtplib

from engine.config import Config, EngineConfig
from engine.desk import Desk, ensure_first_admin
from engine.engine import Engine
from engine.models import Channel
from engine.store import TicketQuery
from tests.helpers.cli import run_cli as cli
from tests.helpers.mail import mail
from tests.helpers.poll import wait_for

CORPUS = Path(__file__).parent.parent / "corpus" / "email"
BUCKETS = ("created", "threaded", "duplicates", "quarantined", "bounces", "skipped")


def fixture(name: str) -> bytes:
    return (CORPUS / name).read_bytes()


def accounted(report: dict) -> bool:
    return sum(report[k] for k in BUCKETS) == report["read"]


# --------------------------------------------------------------- 8: reused Message-IDs


def test_reused_message_id_with_other_content_is_ingested_and_logged(db_path, tmp_path):
    first = mail("Printer broken", frm="Carla <carla@example.com>", msgid="<reused@example.com>",
                 body="The printer prints nothing.", Date="Mon, 02 Feb 2026 10:00:00 +0000")
    other = mail("Invoice wrong", frm="Dan <dan@example.org>", msgid="<reused@example.com>",
                 body="My invoice has the wrong address.", Date="Mon, 02 Feb 2026 11:00:00 +0000")
    box = tmp_path / "mails"
    box.mkdir()
    for i, raw in enumerate([first, first, other]):  # an exact re-delivery, then a collision
        (box / f"{i}.eml").write_bytes(raw)
    p = cli(db_path, "import", "eml", str(box), "--status", "open", "--json")
    assert p.returncode == 0, p.stderr
    report = json.loads(p.stdout)
    assert (report["read"], report["created"], report["duplicates"]) == (3, 2, 1)
    assert accounted(report)
    assert "<reused@example.com> was already used by a different message" in p.stderr
    tickets = json.loads(cli(db_path, "tickets", "list", "--json").stdout)
    assert sorted(t["contact"]["email"] for t in tickets) == ["carla@example.com", "dan@example.org"]
    conn = sqlite3.connect(db_path)
    events = conn.execute("SELECT data FROM events WHERE kind='inbound.collision'").fetchall()
    assert len(events) == 1 and json.loads(events[0][0])["key"] == "<reused@example.com>"
    again = json.loads(cli(db_path, "import", "eml", str(box), "--json").stdout)
    assert (again["created"], again["duplicates"]) == (0, 3)  # a rerun changes nothing


async def test_listener_redelivery_is_a_no_op_and_a_reused_id_is_not_dropped(db_path):
    async with Engine(Config(engine=EngineConfig(http_port=0, lease_seconds=3)), db_path) as engine:
        store = engine.store
        await ensure_first_admin(store, "ada@acme.test", "Ada")
        await store.add_channel(Channel(kind="email", name="Support", settings={
            "address": "help@acme.test", "mode": "forwarding", "forward_listen_port": 0}))
        assert await engine.wait_leader(5)
        listen = await _port(store)
        first = mail("Login fails", frm="carla@example.com", msgid="<dup@example.com>")
        other = mail("Refund", frm="mallory@example.net", msgid="<dup@example.com>", body="Money back")
        for raw, sender in ((first, "carla@example.com"), (first, "carla@example.com"),
                            (other, "mallory@example.net")):
            await aiosmtplib.send(raw, sender=sender, recipients=["help@acme.test"],
                                  hostname="127.0.0.1", port=listen)
        page = await wait_for(lambda: _tickets(store, 2))
        assert sorted(t.contact_email for t in page) == ["carla@example.com", "mallory@example.net"]
        # every send was answered 250 only after its ingest: the counts are final
        assert [len(await store.messages(t.id)) for t in page] == [1, 1]


# --------------------------------------------------------------- 9: quarantine keeps bytes


def test_unmatched_bounce_is_quarantined_whole_and_the_import_accounts_for_it(db_path, tmp_path):
    box = tmp_path / "mails"
    box.mkdir()
    bounce = fixture("dsn_unmatched_full.eml")
    (box / "a.eml").write_bytes(mail("Question", frm="ann@example.com", msgid="<q1@example.com>"))
    (box / "b.eml").write_bytes(bounce)
    (box / "c.eml").write_bytes(b"not a mail at all\x00\xff")
    p = cli(db_path, "import", "eml", str(box), "--json")
    assert p.returncode == 0, p.stderr
    report = json.loads(p.stdout)
    assert (report["read"], report["created"], report["quarantined"]) == (3, 1, 2)
    assert accounted(report)
    listed = json.loads(cli(db_path, "quarantine", "list", "--json").stdout)
    (item,) = [q for q in listed if q["source"] == "bounce"]
    shown = subprocess_bytes(db_path, "quarantine", "show", str(item["id"]), "--raw")
    assert shown == bounce  # headers, the delivery-status part and the attachment, as they came
    assert b"X-Trace-Marker: keep-me-7731" in shown and b"Action: failed" in shown
    assert b"quote.pdf" in shown
    text = cli(db_path, "import", "eml", str(box)).stdout  # the same accounting, for people
    # a rerun: the mail and the bounce are already there; the unreadable file is read again
    assert ("read 3: 0 new tickets, 0 added to existing tickets, 2 already there,"
            " 1 quarantined, 0 bounces, 0 skipped") in text


def subprocess_bytes(db: Path, *args: str) -> bytes:
    import os
    import subprocess

    from tests.helpers.cli import BIN

    p = subprocess.run([BIN, "--db", str(db), *args], capture_output=True, timeout=60,
                       env=os.environ.copy())
    assert p.returncode == 0, p.stderr
    return p.stdout


def test_imap_sync_keeps_a_bounce_nobody_can_place_raw(db_path, mail_user):
    sets = sum([["--set", f"{k}={v}"] for k, v in mail_user.settings().items()], [])
    assert cli(db_path, "channels", "add", "email", "--name", "Inbox", *sets).returncode == 0
    bounce = fixture("dsn_unmatched_full.eml")
    mail_user.append(bounce)
    p = cli(db_path, "channels", "sync", "Inbox", "--json")
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["quarantined"] == 1
    (item,) = json.loads(cli(db_path, "quarantine", "list", "--json").stdout)
    assert subprocess_bytes(db_path, "quarantine", "show", str(item["id"]), "--raw") == bounce


# --------------------------------------------------------------- 11: malformed senders


def test_malformed_senders_over_imap_become_unverified_contacts_not_quarantine(db_path, mail_user):
    sets = sum([["--set", f"{k}={v}"] for k, v in mail_user.settings().items()], [])
    assert cli(db_path, "channels", "add", "email", "--name", "Inbox", *sets).returncode == 0
    mail_user.append_many([fixture(n) for n in (
        "from_bare_words.eml", "from_space_local.eml", "from_unindented.eml",
        "from_daemon_noaddr.eml")])
    p = cli(db_path, "channels", "sync", "Inbox", "--json")
    assert p.returncode == 0, p.stderr
    report = json.loads(p.stdout)
    assert (report["fetched"], report["tickets_created"]) == (4, 3)
    # the MAILER-DAEMON mail is a bounce (for a message we never sent): kept, not a ticket
    assert report["quarantined"] == 1
    (item,) = json.loads(cli(db_path, "quarantine", "list", "--json").stdout)
    assert item["source"] == "bounce"
    contacts = {c["emails"][0]: c for c in
                json.loads(cli(db_path, "contacts", "list", "--json").stdout)}
    assert set(contacts) == {"test@example.com", "meier@example.de", "anna.schmidt@example.com"}
    assert contacts["test@example.com"]["unverified"] and contacts["meier@example.de"]["unverified"]
    assert not contacts["anna.schmidt@example.com"]["unverified"]
    text = cli(db_path, "contacts", "list").stdout
    assert "Test (unverified)" in text


async def test_delivery_notices_join_their_ticket_or_become_one(db_path, smtp_sink):
    sink, sink_port = smtp_sink
    config = Config(engine=EngineConfig(http_port=0, lease_seconds=3, outbox_interval=0.1))
    async with Engine(config, db_path) as engine:
        store = engine.store
        admin = await ensure_first_admin(store, "ada@acme.test", "Ada")
        await store.add_channel(Channel(kind="email", name="Support",
                                        settings=_forwarding(sink_port)))
        assert await engine.wait_leader(5)
        listen = await _port(store)
        await _send(mail("Where is my bike?", frm="far@customer.test"), listen)
        (ticket,) = await wait_for(lambda: _tickets(store, 1))
        await Desk(store, admin).reply(ticket.id, "It left the warehouse today.")
        engine.outbox.wake()
        await wait_for(lambda: _sent(sink, 1))
        ours = email.message_from_bytes(sink.messages[-1][2], policy=compat32)["Message-ID"]
        relayed = fixture("dsn_relayed.eml").replace(b"<ticketty.T62.M9.beef@acme.test>",
                                                     ours.encode())
        await _send(relayed, listen, sender="mailer-daemon@mx.acme.test")
        await wait_for(lambda: _message_count(store, ticket.id, 3))
        assert await store.count_tickets(TicketQuery(view="all")) == 1
        msgs = await store.messages(ticket.id)
        assert [m.delivery_state.value for m in msgs if m.direction.value == "outbound"] == ["sent"]
        notice = next(m for m in msgs if m.author_email == "mailer-daemon@mx.acme.test")
        assert "relayed" in notice.text
        assert {a.content_type for a in notice.attachments} == {
            "message/delivery-status", "text/rfc822-headers"}
        # a notice about a message we do not know becomes a ticket, never quarantine
        await _send(fixture("dsn_relayed.eml"), listen, sender="mailer-daemon@mx.acme.test")
        await wait_for(lambda: _tickets(store, 2))
        assert await store.quarantine() == []


# --------------------------------------------------------------- 10 + 16: who gets the reply


async def test_contact_is_from_and_replies_go_to_reply_to_unless_the_channel_says_otherwise(
        db_path, smtp_sink):
    sink, sink_port = smtp_sink
    config = Config(engine=EngineConfig(http_port=0, lease_seconds=3, outbox_interval=0.1))
    async with Engine(config, db_path) as engine:
        store = engine.store
        admin = await ensure_first_admin(store, "ada@acme.test", "Ada")
        desk = Desk(store, admin)
        await store.add_channel(Channel(kind="email", name="Lists",
                                        settings=_forwarding(sink_port, auto_reply=True)))
        await store.add_channel(Channel(kind="email", name="Forms", settings=_forwarding(
            sink_port, address="forms@acme.test", customer_address="reply_to")))
        assert await engine.wait_leader(5)
        listen_from, listen_rt = await _port(store, "Lists"), await _port(store, "Forms")
        form = fixture("reply_to.eml")
        await _send(form, listen_from, sender="noreply@forms.example")
        await _send(form.replace(b"<form-1@forms.example>", b"<form-2@forms.example>"),
                    listen_rt, sender="noreply@forms.example", to="forms@acme.test")
        await _send(fixture("name_crlf.eml"), listen_from, sender="eve@customer.test")
        tickets = await wait_for(lambda: _tickets(store, 3))
        by_contact = {t.contact_email: t for t in tickets}
        assert set(by_contact) == {"noreply@forms.example", "zoe@customer.test",
                                   "eve@customer.test"}
        assert by_contact["zoe@customer.test"].contact_name == "Zoë Quinn"
        # the automatic acknowledgements (Lists only) went to Reply-To as well
        await wait_for(lambda: _sent(sink, 2))
        acks = sorted(r[0] for _, r, _ in sink.messages)
        assert acks == ["eve@customer.test", "zoe@customer.test"]
        sink.messages.clear()
        for t in tickets:
            await desk.reply(t.id, f"Answer to {t.contact_email}")
        engine.outbox.wake()
        await wait_for(lambda: _sent(sink, 3))
        rcpts = {int(re.search(r"\[#(\d+)\]", email.message_from_bytes(raw, policy=compat32)
                               ["Subject"]).group(1)): r for _, r, raw in sink.messages}
        assert rcpts == {by_contact["noreply@forms.example"].id: ["zoe@customer.test"],
                         by_contact["zoe@customer.test"].id: ["zoe@customer.test"],
                         by_contact["eve@customer.test"].id: ["eve@customer.test"]}


# --------------------------------------------------------------- helpers


def _forwarding(sink_port: int, address: str = "help@acme.test", **more) -> dict:
    return {"address": address, "mode": "forwarding", "forward_listen_port": 0,
            "smtp_host": "127.0.0.1", "smtp_port": sink_port, "smtp_security": "none", **more}


async def _send(raw: bytes, port: int, sender: str = "someone@example.com",
                to: str = "help@acme.test") -> None:
    await aiosmtplib.send(raw, sender=sender, recipients=[to], hostname="127.0.0.1", port=port)


async def _port(store, name: str = "Support") -> int:
    """The port the channel's listener bound (port 0 in its settings: any free one)."""

    async def listening():
        ch = await store.channel(name)
        return ch.health.get("listening")

    return int((await wait_for(listening)).rpartition(":")[2])


async def _tickets(store, n: int):
    page = await store.page_tickets(TicketQuery(view="all"), 0, 50)
    return page if len(page) >= n else None


async def _message_count(store, ticket_id: int, n: int):
    return len(await store.messages(ticket_id)) >= n


async def _sent(sink, n: int):
    return len(sink.messages) >= n
