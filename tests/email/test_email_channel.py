"""The email channel end to end: real SMTP in (forwarding listener), real IMAP (Dovecot),
replies out through the outbox to a real aiosmtpd server, threading both ways."""

from __future__ import annotations

import email
import json
import time
from email.policy import compat32

import aiosmtplib

from engine.config import Config, EngineConfig
from engine.desk import Desk, ensure_first_admin
from engine.engine import Engine
from engine.models import Channel
from engine.store import TicketQuery
from tests.helpers.cli import BIN
from tests.helpers.cli import run_cli as cli
from tests.helpers.mail import mail
from tests.helpers.poll import wait_for
from tests.helpers.servers import free_port


async def test_forwarding_in_reply_out_and_threading(db_path, smtp_sink):
    sink, sink_port = smtp_sink
    listen = free_port()
    config = Config(engine=EngineConfig(http_port=0, lease_seconds=3, outbox_interval=0.2))
    async with Engine(config, db_path) as engine:
        store = engine.store
        admin = await ensure_first_admin(store, "ada@acme.test", "Ada Lovelace")
        await store.add_channel(Channel(kind="email", name="Support", settings={
            "address": "help@acme.test", "mode": "forwarding", "forward_listen_port": listen,
            "smtp_host": "127.0.0.1", "smtp_port": sink_port, "smtp_security": "none",
            "company_name": "Acme", "signature": "Cheers,\n{first_name} ({full_name})",
        }))
        assert await engine.wait_leader(5)

        async def listening():
            ch = await store.channel("Support")
            return ch.health.get("listening")

        await wait_for(listening)
        first = mail("Printer on fire", msgid="<first@example.com>")
        await aiosmtplib.send(first, sender="carla@example.com", recipients=["help@acme.test"],
                              hostname="127.0.0.1", port=listen)
        tickets = await wait_for(lambda: store.page_tickets(TicketQuery(view="open"), 0, 10))
        t = tickets[0]
        assert (t.subject, t.contact_email, t.contact_name) == ("Printer on fire", "carla@example.com",
                                                                "Carla Customer")
        # mail for an address that is not the channel's is refused at RCPT
        try:
            await aiosmtplib.send(mail("spam", to="x@other.test"), sender="a@b.co",
                                  recipients=["x@other.test"], hostname="127.0.0.1", port=listen)
            raise AssertionError("foreign recipient accepted")
        except aiosmtplib.SMTPRecipientsRefused:
            pass

        desk = Desk(store, admin)
        mid, _ = await desk.reply(t.id, "We are on it.")
        engine.outbox.wake()

        async def delivered():
            msgs = await store.messages(t.id)
            return next((m for m in msgs if m.id == mid and m.delivery_state.value == "sent"), None)

        sent = await wait_for(delivered)
        _, rcpts, raw = sink.messages[-1]
        out = email.message_from_bytes(raw, policy=compat32)
        assert rcpts == ["carla@example.com"]
        assert out["Message-ID"] == sent.external_id
        assert out["In-Reply-To"] == "<first@example.com>"
        assert "<first@example.com>" in out["References"]
        assert f"[#{t.id}]" in out["Subject"]
        assert "Ada Lovelace at Acme" in out["From"] and "help@acme.test" in out["From"]
        plain = next(p for p in out.walk() if p.get_content_type() == "text/plain")
        text = plain.get_payload(decode=True).decode().replace("\r\n", "\n")
        assert "We are on it." in text and "Cheers,\nAda (Ada Lovelace)" in text
        assert any(p.get_content_type() == "text/html" for p in out.walk())

        # the customer answers our reply: it threads into the same ticket
        answer = mail("Re: Printer on fire", msgid="<second@example.com>", body="Still burning",
                      In_Reply_To=out["Message-ID"], References=out["Message-ID"])
        await aiosmtplib.send(answer, sender="carla@example.com", recipients=["help@acme.test"],
                              hostname="127.0.0.1", port=listen)

        async def threaded():
            msgs = await store.messages(t.id)
            return any(m.text.startswith("Still burning") for m in msgs)

        await wait_for(threaded)
        assert await store.count_tickets(TicketQuery(view="all")) == 1


def test_channels_add_sync_list_via_cli(db_path, mail_user):
    settings = mail_user.settings()
    sets = [f"{k}={v}" for k, v in settings.items()]
    p = cli(db_path, "channels", "add", "email", "--name", "Inbox", *sum([["--set", s] for s in sets], []),
            "--set", "default_priority=high", "--set", "routing=nobody", "--json")
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["settings"]["imap_password"] == "********"
    bad = cli(db_path, "channels", "add", "email", "--name", "X", "--set", "address=a@b.co",
              "--set", "imap_host=h", "--set", "imap_colour=blue")
    assert bad.returncode != 0 and "imap_colour" in bad.stderr
    bad = cli(db_path, "channels", "add", "email", "--name", "Y", "--set", "address=a@b.co",
              "--set", "imap_host=h", "--set", "imap_security=tls13")
    assert bad.returncode != 0 and "imap_security" in bad.stderr

    mail_user.append_many([mail(f"Question {i}", frm=f"c{i}@example.com") for i in range(3)])
    mail_user.append(b"this is not an email at all\x00\xff")
    p = cli(db_path, "channels", "sync", "Inbox", "--json")
    assert p.returncode == 0, p.stderr
    report = json.loads(p.stdout)
    assert report["fetched"] == 4 and report["tickets_created"] == 3
    p = cli(db_path, "channels", "sync", "Inbox", "--json")
    assert json.loads(p.stdout)["fetched"] == 0  # nothing fetched twice
    quarantined = json.loads(cli(db_path, "quarantine", "list", "--json").stdout)
    assert len(quarantined) == 1
    listed = json.loads(cli(db_path, "channels", "list", "--json").stdout)
    assert listed[0]["health"] in ("idle", "connected") and listed[0]["last_sync"]
    tickets = json.loads(cli(db_path, "tickets", "list", "--json").stdout)
    assert {t["priority"] for t in tickets} == {"high"}


def test_dead_imap_server_shows_failing(db_path):
    port = free_port()
    p = cli(db_path, "channels", "add", "email", "--name", "Dead", "--set", "address=a@acme.test",
            "--set", "imap_host=127.0.0.1", "--set", f"imap_port={port}", "--set", "imap_security=none")
    assert p.returncode == 0, p.stderr
    p = cli(db_path, "channels", "sync", "Dead")
    assert p.returncode != 0 and "refused" in p.stderr.lower()
    listed = json.loads(cli(db_path, "channels", "list", "--json").stdout)
    assert listed[0]["health"].startswith("failing:")


async def test_engine_imap_idle_push(db_path, mail_user):
    config = Config(engine=EngineConfig(http_port=0, lease_seconds=3))
    async with Engine(config, db_path) as engine:
        store = engine.store
        await ensure_first_admin(store, "ada@acme.test", "Ada")
        await store.add_channel(Channel(kind="email", name="Inbox", settings=mail_user.settings()))

        async def connected():
            ch = await store.channel("Inbox")
            return ch.health.get("connected")

        await wait_for(connected, 15)
        t0 = time.monotonic()
        mail_user.append(mail("Pushed", frm="push@example.com"))
        tickets = await wait_for(lambda: store.page_tickets(TicketQuery(view="open"), 0, 5), 10)
        assert tickets[0].subject == "Pushed"
        assert time.monotonic() - t0 < 5


async def test_imap_history_import_then_live_starts_after_it(db_path, mail_user):
    from engine.channels import build_adapter
    from engine.store import Store

    mail_user.append_many([
        mail("Old question", frm="old@example.com", msgid="<h1@example.com>",
             Date="Mon, 05 Jan 2026 10:00:00 +0000"),
        mail("Re: Old question", frm="old@example.com", msgid="<h2@example.com>",
             In_Reply_To="<h1@example.com>", Date="Tue, 06 Jan 2026 10:00:00 +0000"),
        mail("Newer", frm="new@example.com", msgid="<h3@example.com>",
             Date="Mon, 02 Mar 2026 10:00:00 +0000"),
    ])
    async with Store(db_path) as store:
        await ensure_first_admin(store, "ada@acme.test", "Ada")
        ch = await store.add_channel(Channel(kind="email", name="Inbox", settings=mail_user.settings()))
        adapter = build_adapter(ch, store)
        seen = []
        report = await adapter.import_history(status="closed", progress=lambda d, t: seen.append((d, t)))
        assert report == {"found": 3, "read": 3, "rows": 3, "created": 2, "threaded": 1,
                          "duplicates": 0, "quarantined": 0, "bounces": 0, "skipped": 0}
        assert seen[-1] == (3, 3)
        again = await adapter.import_history(status="closed")
        assert again["created"] == 0 and again["duplicates"] == 3
        assert await store.count_tickets(TicketQuery(view="closed")) == 2
        mail_user.append(mail("Fresh", frm="fresh@example.com"))
        live = await adapter.sync_once()
        assert live["fetched"] == 1 and live["tickets_created"] == 1


async def test_auto_acknowledgement_never_to_automatic_mail_and_rate_limited(db_path, smtp_sink):
    sink, sink_port = smtp_sink
    listen = free_port()
    config = Config(engine=EngineConfig(http_port=0, lease_seconds=3, outbox_interval=0.1))
    async with Engine(config, db_path) as engine:
        store = engine.store
        await ensure_first_admin(store, "ada@acme.test", "Ada")
        await store.add_channel(Channel(kind="email", name="Support", settings={
            "address": "help@acme.test", "mode": "forwarding", "forward_listen_port": listen,
            "smtp_host": "127.0.0.1", "smtp_port": sink_port, "smtp_security": "none",
            "auto_reply": True, "auto_reply_limit": 2}))
        assert await engine.wait_leader(5)
        await wait_for(lambda: _listening(store))
        robot = mail("Out of office", frm="robot@example.com", Auto_Submitted="auto-replied")
        await aiosmtplib.send(robot, sender="robot@example.com", recipients=["help@acme.test"],
                              hostname="127.0.0.1", port=listen)
        for i in range(4):
            await aiosmtplib.send(mail(f"Question {i}"), sender="carla@example.com",
                                  recipients=["help@acme.test"], hostname="127.0.0.1", port=listen)
        await wait_for(lambda: _count(store, 5))

        async def settled():  # every acknowledgement queued has left: nothing waits or sends
            rows = await store.read(lambda c: c.execute(
                "SELECT state FROM outbox WHERE kind='autoreply'").fetchall())
            states = [r[0] for r in rows]
            return states if states and all(s == "sent" for s in states) else None

        assert await wait_for(settled) == ["sent", "sent"]  # the limit: 2 per sender
        acks = [email.message_from_bytes(raw, policy=compat32) for _, _, raw in sink.messages]
        assert len(acks) == 2
        assert all(a["Auto-Submitted"] == "auto-replied" for a in acks)
        assert {r for _, rcpts, _ in sink.messages for r in rcpts} == {"carla@example.com"}


async def _listening(store):
    ch = await store.channel("Support")
    return ch.health.get("listening")


async def _count(store, n):
    return await store.count_tickets(TicketQuery(view="all")) >= n


def test_kill_9_mid_imap_sync_then_rerun_loses_and_duplicates_nothing(db_path, mail_user):
    import sqlite3

    from tests.helpers.crash import kill_9_after_tickets

    n = 600
    mail_user.append_many([mail(f"Bulk {i}", frm=f"bulk{i}@example.com", msgid=f"<bulk{i}@example.com>")
                           for i in range(n)])
    sets = sum([["--set", f"{k}={v}"] for k, v in mail_user.settings().items()], [])
    assert cli(db_path, "channels", "add", "email", "--name", "Inbox", *sets).returncode == 0
    seen = kill_9_after_tickets([BIN, "--db", str(db_path), "channels", "sync", "Inbox"], db_path,
                                at_least=20)
    assert 0 < seen < n, "the sync must be killed halfway"
    p = cli(db_path, "channels", "sync", "Inbox", "--json")
    assert p.returncode == 0, p.stderr
    conn = sqlite3.connect(db_path)
    assert conn.execute("SELECT count(*) FROM tickets").fetchone()[0] == n
    assert conn.execute("SELECT count(*) FROM messages WHERE direction='inbound'").fetchone()[0] == n
    assert conn.execute("SELECT count(DISTINCT external_id) FROM messages").fetchone()[0] == n


async def test_smtp_xoauth2_end_to_end_with_token_refresh(db_path):
    """A reply from an OAuth (Gmail/Office 365 style) channel: the access token is refreshed
    over HTTP (httpx) from a local token endpoint and presented with SASL XOAUTH2 to a real
    SMTP server (aiosmtpd) that checks it."""
    import base64
    import http.server
    import threading

    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    from engine.channels import build_adapter
    from engine.outbox import Outbox
    from engine.store import Store

    class Token(http.server.BaseHTTPRequestHandler):
        def do_POST(self):  # stdlib name
            self.rfile.read(int(self.headers["Content-Length"]))
            body = json.dumps({"access_token": "fresh-token", "expires_in": 3600}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):  # quiet
            pass

    httpd = http.server.HTTPServer(("127.0.0.1", 0), Token)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    received: list[bytes] = []
    logins: list[str] = []

    class Handler:
        async def auth_XOAUTH2(self, server, args):  # aiosmtpd's hook name
            decoded = base64.b64decode(args[1]).decode()
            logins.append(decoded)
            ok = decoded == "user=help@acme.test\x01auth=Bearer fresh-token\x01\x01"
            return AuthResult(success=ok, handled=False)

        async def handle_DATA(self, server, session, envelope):
            received.append(envelope.original_content or envelope.content)
            return "250 OK"

    port = free_port()
    controller = Controller(Handler(), hostname="127.0.0.1", port=port, auth_require_tls=False)
    controller.start()
    try:
        async with Store(db_path) as store:
            admin = await ensure_first_admin(store, "ada@acme.test", "Ada")
            ch = await store.add_channel(Channel(kind="email", name="Gmail", settings={
                "address": "help@acme.test", "mode": "forwarding", "smtp_host": "127.0.0.1",
                "smtp_port": port, "smtp_security": "none", "oauth_provider": "gmail",
                "oauth_client_id": "cid", "oauth_refresh_token": "refresh",
                "oauth_token_url": f"http://127.0.0.1:{httpd.server_address[1]}/token"}))
            desk = Desk(store, admin)
            r = await desk.create_ticket(subject="Hi", from_email="c@example.com", body="hello",
                                         channel_id=ch.id)
            _, oid = await desk.reply(r.ticket_id, "Answer")
            adapter = build_adapter(ch, store)
            outbox = Outbox(store, senders={"reply": adapter.send})
            assert await outbox.deliver(await outbox.item(oid)) == "sent"
    finally:
        controller.stop()
        httpd.shutdown()
    assert logins == ["user=help@acme.test\x01auth=Bearer fresh-token\x01\x01"]
    assert len(received) == 1 and b"Answer" in received[0]
