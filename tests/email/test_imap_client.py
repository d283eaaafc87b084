"""The IMAP side against a real Dovecot: sync, batches, IDLE, reconnect, UIDVALIDITY, after-fetch."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import parse_qs

import pytest

from engine.channels import imap_client as ic
from engine.channels.email_oauth import OAuthError, OAuthTokenProvider, xoauth2_string
from engine.channels.email_parse import parse_email
from engine.channels.email_settings import EmailSettings
from tests.helpers.servers import Dovecot, MailUser, free_port


def mail(i: int, extra: str = "") -> bytes:
    return (
        f"From: Customer {i} <c{i}@customer.test>\r\nTo: support@example.test\r\n"
        f"Subject: Question {i}\r\nMessage-ID: <q{i}{extra}@customer.test>\r\n\r\nBody {i}\r\n"
    ).encode()


class Recorder:
    """on_message callback that keeps (uid, Message-ID) and can fail on demand."""

    def __init__(self, fail_on: int | None = None) -> None:
        self.got: list[tuple[int, str]] = []
        self.fail_on = fail_on
        self.event = asyncio.Event()

    async def __call__(self, uid: int, raw: bytes) -> None:
        if self.fail_on is not None and uid == self.fail_on:
            raise RuntimeError("store unavailable")
        self.got.append((uid, parse_email(raw).key))
        self.event.set()

    async def wait_for(self, n: int, within: float) -> None:
        deadline = time.monotonic() + within
        while len(self.got) < n:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"only {len(self.got)} of {n} messages after {within}s")
            self.event.clear()
            try:
                await asyncio.wait_for(self.event.wait(), left)
            except TimeoutError:
                pass


def client(
    user: MailUser, rec: Recorder, state: ic.MemorySyncState | None = None, **kw: object
) -> ic.ImapClient:
    settings_kw = {k: kw.pop(k) for k in list(kw) if k in EmailSettings.model_fields}
    s = EmailSettings(**user.settings(**settings_kw))
    return ic.ImapClient(
        s, state or ic.MemorySyncState(), rec, timeout=10, backoff=(0.2, 1.0), **kw
    )


async def test_sync_fetches_new_uids_once(mail_user: MailUser) -> None:
    mail_user.append_many([mail(i) for i in range(5)])
    rec, state = Recorder(), ic.MemorySyncState()
    c = client(mail_user, rec, state)
    await c.connect()
    try:
        assert await c.sync_once() == 5
        assert [k for _, k in rec.got] == [f"<q{i}@customer.test>" for i in range(5)]
        uidvalidity, last = state.data["INBOX"]
        assert last == 5 and uidvalidity == c.uidvalidity
        assert await c.sync_once() == 0  # nothing twice
        await asyncio.to_thread(mail_user.append_many, [mail(5), mail(6)])
        assert await c.sync_once() == 2
        assert [u for u, _ in rec.got] == [1, 2, 3, 4, 5, 6, 7]
    finally:
        await c.close()
    # default after_fetch=none leaves the mails unread
    assert mail_user.uids(criteria="SEEN") == []


async def test_batches(mail_user: MailUser) -> None:
    mail_user.append_many([mail(i) for i in range(250)])
    rec = Recorder()
    c = client(mail_user, rec, batch_size=60)
    await c.connect()
    try:
        assert await c.sync_once() == 250
    finally:
        await c.close()
    assert [u for u, _ in rec.got] == list(range(1, 251))
    assert len({k for _, k in rec.got}) == 250


async def test_resume_after_callback_failure_fetches_nothing_twice(mail_user: MailUser) -> None:
    mail_user.append_many([mail(i) for i in range(5)])
    state = ic.MemorySyncState()
    rec = Recorder(fail_on=3)
    c = client(mail_user, rec, state, batch_size=2)
    await c.connect()
    try:
        with pytest.raises(RuntimeError):
            await c.sync_once()
        assert state.data["INBOX"][1] == 2  # only committed messages advance the state
        rec.fail_on = None
        assert await c.sync_once() == 3
    finally:
        await c.close()
    assert [u for u, _ in rec.got] == [1, 2, 3, 4, 5]


async def test_idle_push_arrives_within_seconds(mail_user: MailUser) -> None:
    rec = Recorder()
    c = client(mail_user, rec)
    task = asyncio.create_task(c.run())
    try:
        for _ in range(100):  # wait until the client sits in IDLE
            if c.client is not None and c.connected and c.client.has_pending_idle():
                break
            await asyncio.sleep(0.05)
        assert c.client is not None and c.client.has_pending_idle()
        t0 = time.monotonic()
        await asyncio.to_thread(mail_user.append, mail(1))
        await rec.wait_for(1, within=5)
        assert time.monotonic() - t0 < 5
        assert rec.got == [(1, "<q1@customer.test>")]
    finally:
        c.stop()
        await asyncio.wait_for(task, 10)


async def test_wake_leaves_idle(mail_user: MailUser) -> None:
    rec = Recorder()
    c = client(mail_user, rec)
    await c.connect()
    try:
        idle = asyncio.create_task(c.idle_once())
        await asyncio.sleep(0.3)
        c.wake()
        assert await asyncio.wait_for(idle, 5) is False
        assert await c.sync_once() == 0  # the connection is still usable after IDLE
    finally:
        await c.close()


async def test_reconnect_after_server_restart(dovecot: Dovecot, mail_user: MailUser) -> None:
    mail_user.append(mail(1))
    rec = Recorder()
    c = client(mail_user, rec)
    task = asyncio.create_task(c.run())
    try:
        await rec.wait_for(1, within=5)
        await asyncio.to_thread(dovecot.restart)
        await asyncio.to_thread(mail_user.append, mail(2))
        await rec.wait_for(2, within=15)
        assert [u for u, _ in rec.got] == [1, 2]  # reconciled by UID: nothing twice
    finally:
        c.stop()
        await asyncio.wait_for(task, 10)


async def test_uidvalidity_change_resets_state(dovecot: Dovecot, mail_user: MailUser) -> None:
    mail_user.append_many([mail(1), mail(2)])
    state, rec = ic.MemorySyncState(), Recorder()
    c = client(mail_user, rec, state)
    await c.connect()
    await c.sync_once()
    await c.close()
    old = state.data["INBOX"][0]
    await asyncio.to_thread(
        dovecot.doveadm,
        "mailbox",
        "update",
        "-u",
        mail_user.address,
        "--uid-validity",
        str(old + 1000),
        "INBOX",
    )
    await c.connect()
    try:
        assert c.uidvalidity == old + 1000
        assert await c.sync_once() == 2  # cached UIDs are void: full resync (ingest dedupes)
    finally:
        await c.close()
    assert state.data["INBOX"] == (old + 1000, 2)
    assert [k for _, k in rec.got] == ["<q1@customer.test>", "<q2@customer.test>"] * 2


async def test_after_fetch_seen(mail_user: MailUser) -> None:
    mail_user.append_many([mail(1), mail(2)])
    c = client(mail_user, Recorder(), after_fetch="seen")
    await c.connect()
    try:
        await c.sync_once()
    finally:
        await c.close()
    assert mail_user.uids(criteria="SEEN") == [1, 2]


async def test_after_fetch_move_creates_folder(mail_user: MailUser) -> None:
    mail_user.append_many([mail(1), mail(2), mail(3)])
    c = client(mail_user, Recorder(), after_fetch="move", move_folder="Done Tickets")
    await c.connect()
    try:
        assert await c.sync_once() == 3
    finally:
        await c.close()
    assert mail_user.uids() == []
    assert len(mail_user.uids('"Done Tickets"')) == 3


async def test_other_folder_and_security_modes(dovecot: Dovecot, mail_user: MailUser) -> None:
    mail_user.create_folder("Support")
    mail_user.append(mail(1), folder="Support")
    ctx = dovecot.client_ssl_context()
    for security, port in (("starttls", dovecot.port), ("ssl", dovecot.ssl_port)):
        rec = Recorder()
        c = client(
            mail_user,
            rec,
            imap_folder="Support",
            imap_security=security,
            imap_port=port,
            ssl_context=ctx,
        )
        await c.connect()
        try:
            assert await c.sync_once() == 1
        finally:
            await c.close()


async def test_connection_errors_are_precise(dovecot: Dovecot, mail_user: MailUser) -> None:
    def s(**kw: object) -> EmailSettings:
        return EmailSettings(**mail_user.settings(**kw))

    assert await ic.test_imap_connection(s()) is None
    assert "login failed" in await ic.test_imap_connection(s(imap_password="wrong"))
    assert "connection refused" in await ic.test_imap_connection(s(imap_port=free_port()))
    assert "TLS error" in await ic.test_imap_connection(s(imap_security="ssl"))
    assert "certificate" in await ic.test_imap_connection(
        s(imap_security="ssl", imap_port=dovecot.ssl_port)
    )
    assert "no greeting" in await ic.test_imap_connection(
        s(imap_port=dovecot.ssl_port), io_timeout=1.5
    )
    assert "cannot open folder" in await ic.test_imap_connection(s(imap_folder="Nope"))
    both = await ic.test_connection(
        s(smtp_port=free_port()), ssl_context=dovecot.client_ssl_context()
    )
    assert both["imap"] is None and "SMTP: connection refused" in both["smtp"]


# ----------------------------------------------------------------------------- OAuth2


@pytest.fixture
def token_server() -> Iterator[tuple[str, list[dict]]]:
    """A stdlib HTTP token endpoint: refresh token "good" gives ``tok<n>`` (which Dovecot
    refuses), ``static:<token>`` gives ``<token>``; anything else is invalid_grant."""
    calls: list[dict] = []

    class H(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"])).decode()
            form = {k: v[0] for k, v in parse_qs(body).items()}
            calls.append(form)
            refresh = form.get("refresh_token", "")
            if refresh == "good":
                status, payload = 200, {"access_token": f"tok{len(calls)}", "expires_in": 3600}
            elif refresh.startswith("static:"):  # hands out the token Dovecot accepts
                status, payload = 200, {"access_token": refresh[7:], "expires_in": 3600}
            else:
                status, payload = 400, {"error": "invalid_grant", "error_description": "revoked"}
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *a: object) -> None:
            pass

    srv = HTTPServer(("127.0.0.1", 0), H)
    threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{srv.server_address[1]}/token", calls
    finally:
        srv.shutdown()
        srv.server_close()


def oauth_settings(mail_user: MailUser, url: str, refresh: str) -> EmailSettings:
    return EmailSettings(
        **mail_user.settings(
            oauth_provider="office365",
            oauth_client_id="cid",
            oauth_refresh_token=refresh,
            oauth_token_url=url,
        )
    )


async def test_oauth_refresh_and_cache(mail_user: MailUser, token_server) -> None:
    url, calls = token_server
    p = OAuthTokenProvider(oauth_settings(mail_user, url, "good"))
    assert await p() == "tok1"
    assert await p() == "tok1"  # cached
    p.invalidate()
    assert await p() == "tok2"
    assert calls[0]["grant_type"] == "refresh_token" and calls[0]["client_id"] == "cid"
    assert "IMAP.AccessAsUser.All" in calls[0]["scope"]
    assert xoauth2_string("u@x", "t") == "dXNlcj11QHgBYXV0aD1CZWFyZXIgdAEB"


async def test_oauth_revoked_marks_reauth(mail_user: MailUser, token_server) -> None:
    url, _ = token_server
    with pytest.raises(OAuthError) as exc:
        await OAuthTokenProvider(oauth_settings(mail_user, url, "revoked"))()
    assert exc.value.needs_reauth
    c = ic.ImapClient(oauth_settings(mail_user, url, "revoked"), ic.MemorySyncState(), Recorder())
    with pytest.raises(ic.ImapError) as err:
        await c.connect()
    assert err.value.needs_reauth and c.needs_reauth and "invalid_grant" in err.value.reason


async def test_oauth_token_rejected_by_server(mail_user: MailUser, token_server) -> None:
    url, calls = token_server
    c = ic.ImapClient(
        oauth_settings(mail_user, url, "good"), ic.MemorySyncState(), Recorder(), timeout=5
    )
    with pytest.raises(ic.ImapError) as err:  # not the user's token: Dovecot refuses it
        await c.connect()
    assert err.value.needs_reauth and "XOAUTH2" in err.value.reason
    assert len(calls) == 2  # refreshed once after the first refusal


async def test_oauth_xoauth2_login_succeeds_against_dovecot(mail_user: MailUser,
                                                             token_server) -> None:
    """XOAUTH2 accepted, not only refused: the token endpoint hands out the access token the
    test Dovecot's static token check knows (tests/helpers/servers.py), the client logs in with
    SASL XOAUTH2 and fetches the mail waiting there."""
    url, calls = token_server
    mail_user.append(b"From: ana@customer.test\r\nSubject: via oauth\r\n"
                     b"Message-ID: <oauth-1@customer.test>\r\n\r\nhello\r\n")
    rec = Recorder()
    c = ic.ImapClient(oauth_settings(mail_user, url, f"static:{mail_user.access_token}"),
                      ic.MemorySyncState(), rec, timeout=5)
    try:
        await c.connect()
        assert await c.sync_once() == 1
    finally:
        await c.close()
    assert not c.needs_reauth and len(calls) == 1  # one token, accepted the first time
    assert rec.got == [(1, "<oauth-1@customer.test>")]
    # Dovecot's own word that this user logged in with XOAUTH2 (not the password)
    login = f"user=<{mail_user.address}>, method=XOAUTH2"
    for _ in range(100):
        if login in mail_user.server.log_tail(200):
            break
        await asyncio.sleep(0.05)
    assert login in mail_user.server.log_tail(200)


def test_helpers() -> None:
    assert ic.uid_set([1, 2, 3, 7, 9, 10]) == "1:3,7,9:10"
    assert ic.uid_set([5]) == "5"
    assert ic.encode_mailbox("INBOX") == '"INBOX"'
    assert ic.encode_mailbox("Entwürfe") == '"Entw&APw-rfe"'
    assert ic.encode_mailbox('a"b&c') == '"a\\"b&-c"'
    lines = [
        b"1 FETCH (UID 4 BODY[] {3}",
        bytearray(b"abc"),
        b")",
        b"2 FETCH (BODY[] {2}",
        bytearray(b"xy"),
        b" UID 9)",
        b"done",
    ]
    assert ic.parse_fetch(lines) == [(4, b"abc"), (9, b"xy")]
