"""What the channel contract suite needs to exercise each kind with real parts.

Every registry kind has a :class:`Kit` here (the suite fails for a kind without one): valid
settings (every secret filled in), a customer identity, inbound raw input (valid and
malformed), how raw input reaches the adapter's receiving path, and one check per ability the
kind declares — run against real servers (Dovecot, aiosmtpd, the OAuth stand-in) or the
:class:`~engine.channels.testing.MemoryChannelHost`. A new kind adds its kit next to
:class:`EmailKit`.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import UTC, datetime
from typing import Any, ClassVar

import aiosmtplib
import pytest

from engine.channels.abilities import Ability
from engine.channels.base import ChannelAdapter
from engine.channels.contract import ReplyContext, ReplyPlan
from engine.channels.registry import ChannelKind, entry
from engine.channels.testing import MemoryChannelHost
from engine.models import Channel, IngestResult, Priority, Ticket
from engine.outbox import OutboxItem
from tests.helpers.servers import free_port

Check = Callable[["Kit", pytest.FixtureRequest, MemoryChannelHost], Awaitable[None]]


async def until(cond: Callable[[], Any], seconds: float = 15.0, what: str = "condition") -> Any:
    """Wait for ``cond()`` to be truthy (polling), or fail naming ``what``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = cond()
        if value:
            return value
        await asyncio.sleep(0.02)
    raise AssertionError(f"timed out after {seconds:g}s waiting for {what}")


def a_ticket(subject: str) -> Ticket:
    """Ticket #7 as the ticket screen has it."""
    now = datetime(2026, 1, 5, tzinfo=UTC)
    return Ticket(id=7, subject=subject, pipeline="Support", status="open", is_open=True,
                  priority=Priority.normal, created_at=now, updated_at=now,
                  last_activity_at=now)


def outbox_item(payload: dict[str, Any], *, kind: str = "reply", key: str = "reply:9",
                ticket_id: int = 7, message_id: int = 9) -> OutboxItem:
    """An outbox row as the outbox hands it to a sender."""
    return OutboxItem(id=1, kind=kind, channel_id=1, ticket_id=ticket_id, message_id=message_id,
                      idempotency_key=key, payload=payload, attempts=0, state="sending",
                      last_error=None)


class Kit:
    """One kind's contract kit. Subclasses fill in the class attributes and methods."""

    kind: ClassVar[str]
    #: the customer's identity (of the kind's ``identity_kind``) used in replies
    customer: ClassVar[str]
    #: ability → its check, for every ability the kind declares
    checks: ClassVar[dict[Ability, Check]]

    @property
    def entry(self) -> ChannelKind:
        return entry(self.kind)

    def settings(self, **more: Any) -> dict[str, Any]:
        """Valid settings values, every secret filled in with a distinct value."""
        raise NotImplementedError

    def channel(self, **more: Any) -> Channel:
        """A saved-looking channel (id 1) with :meth:`settings` (validated, JSON form)."""
        model = self.entry.settings_class()
        settings = model.model_validate(self.settings(**more)).model_dump(mode="json")
        return Channel(id=1, kind=self.kind, name="Contract", settings=settings)

    def adapter(self, host: MemoryChannelHost, **more: Any) -> ChannelAdapter:
        return self.entry.adapter_class()(self.channel(**more), host)

    def inbound(self, n: int) -> bytes:
        """Valid raw input, different for each ``n``."""
        raise NotImplementedError

    def malformed(self) -> bytes:
        """Raw input the kind cannot turn into a message (it must be quarantined)."""
        raise NotImplementedError

    async def deliver(self, adapter: ChannelAdapter, raw: bytes) -> IngestResult | None:
        """Hand ``raw`` to the adapter's receiving path, as its transport would."""
        raise NotImplementedError

    def reply_context(self, channel: Channel) -> ReplyContext:
        """A reply on a two-message conversation, as the store would read it."""
        return ReplyContext(
            ticket_id=7, subject="Order 1", message_id=9, key="reply:9", channel=channel,
            body="Thanks, it is on its way.", html=None, agent_name="Ada Agent",
            agent_email="ada@acme.test", identities=((self.entry.identity_kind, self.customer),))

    def refusing(self, request: pytest.FixtureRequest) -> contextlib.AbstractContextManager[dict]:
        """A server that refuses for good what the kind sends: the settings to reach it."""
        raise NotImplementedError


# ------------------------------------------------------------------------------ email
def _mail(n: int, **headers: str) -> bytes:
    lines = {"From": "Ana Customer <ana@customer.test>", "To": "help@acme.test",
             "Subject": f"Order {n}", "Message-ID": f"<contract-{n}@customer.test>",
             "Date": "Mon, 05 Jan 2026 10:00:00 +0000", **headers}
    head = "".join(f"{k}: {v}\r\n" for k, v in lines.items())
    return f"{head}\r\nWhere is order {n}?\r\n".encode()


class _Refuser:
    async def handle_RCPT(self, server, session, envelope, address, options):
        return "550 5.1.1 no such user here"


@contextlib.contextmanager
def _refusing_smtp() -> Iterator[int]:
    from aiosmtpd.controller import Controller

    port = free_port()
    controller = Controller(_Refuser(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


@contextlib.asynccontextmanager
async def _running(adapter: ChannelAdapter) -> AsyncIterator[asyncio.Task]:
    task = asyncio.ensure_future(adapter.run())
    try:
        yield task
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def _email_receive(kit: Kit, request: pytest.FixtureRequest,
                         host: MemoryChannelHost) -> None:
    adapter: Any = kit.adapter(host)
    async with _running(adapter):
        await until(lambda: adapter.listener is not None and adapter.listener.running,
                    what="the forwarding listener")
        port = adapter.listener.port
        await aiosmtplib.send(kit.inbound(1), sender="ana@customer.test",
                              recipients=["help@acme.test"], hostname="127.0.0.1", port=port,
                              start_tls=False)
        await until(lambda: host.messages, what="the mail to be ingested")
        assert host.health_now["listening"].endswith(f":{port}")
    assert host.messages[0].sender == "ana@customer.test"
    # stopped: it says so, and the socket went with the task (an exit stack owns it)
    assert host.health_now["connected"] is False and host.health_now["listening"] is None
    with pytest.raises(OSError):
        await asyncio.open_connection("127.0.0.1", port)


def _imap(kit: Kit, request: pytest.FixtureRequest, host: MemoryChannelHost, **more: Any
          ) -> tuple[Any, Any]:
    mail_user = request.getfixturevalue("mail_user")
    return mail_user, kit.adapter(host, **{**mail_user.settings(), "mode": "imap", **more})


async def _email_history(kit: Kit, request: pytest.FixtureRequest,
                         host: MemoryChannelHost) -> None:
    mail_user, adapter = _imap(kit, request, host)
    mail_user.append_many([kit.inbound(1), kit.inbound(2)])
    report = await adapter.import_history(status="closed")
    assert report["found"] == 2 and report["created"] == 2 and report["read"] == 2
    assert [m.import_status for m in host.messages] == ["closed", "closed"]
    assert host.saved_state["imap"]["INBOX"][1] == max(mail_user.uids())


async def _email_skip(kit: Kit, request: pytest.FixtureRequest, host: MemoryChannelHost) -> None:
    mail_user, adapter = _imap(kit, request, host)
    mail_user.append_many([kit.inbound(1), kit.inbound(2)])
    last = await adapter.skip_existing()
    assert last == max(mail_user.uids()) and host.messages == []
    assert host.saved_state["imap"]["INBOX"][1] == last


async def _email_sync(kit: Kit, request: pytest.FixtureRequest, host: MemoryChannelHost) -> None:
    mail_user, adapter = _imap(kit, request, host)
    mail_user.append(kit.inbound(1))
    result = await adapter.sync_once()
    assert result["fetched"] == 1 and result["tickets_created"] == 1
    assert [m.subject for m in host.messages] == ["Order 1"]
    assert host.health_now["last_sync_at"] == host.now


async def _email_test_connection(kit: Kit, request: pytest.FixtureRequest,
                                 host: MemoryChannelHost) -> None:
    _, smtp_port = request.getfixturevalue("smtp_sink")
    _, adapter = _imap(kit, request, host, smtp_port=smtp_port)
    assert await adapter.test_connection() == []
    _, wrong = _imap(kit, request, host, smtp_port=smtp_port, imap_password="wrong-Password")
    problems = await wrong.test_connection()
    assert problems and problems[0].startswith("IMAP: ")


def _sink(request: pytest.FixtureRequest) -> tuple[Any, dict[str, Any]]:
    handler, port = request.getfixturevalue("smtp_sink")
    return handler, {"smtp_host": "127.0.0.1", "smtp_port": port, "smtp_security": "none",
                     "smtp_user": "", "smtp_password": ""}


async def _email_send(kit: Kit, request: pytest.FixtureRequest, host: MemoryChannelHost) -> None:
    handler, reach = _sink(request)
    adapter = kit.adapter(host, **reach)
    plan: ReplyPlan = adapter.prepare_reply(kit.reply_context(adapter.channel))
    sent = await adapter.send(outbox_item(plan.payload))
    # the id fixed when the reply was queued is the one that went out
    assert sent == plan.external_id
    _, recipients, raw = handler.messages[0]
    assert recipients == [kit.customer] and f"Message-ID: {sent}".encode() in raw


async def _email_notify(kit: Kit, request: pytest.FixtureRequest,
                        host: MemoryChannelHost) -> None:
    handler, reach = _sink(request)
    adapter = kit.adapter(host, **reach)
    await adapter.send_notification(outbox_item(
        {"to": "ada@acme.test", "subject": "[#7] assigned to you: Order 1", "text": "Hi Ada"},
        kind="notify", key="notify:7:1"))
    _, recipients, raw = handler.messages[0]
    assert recipients == ["ada@acme.test"] and b"Auto-Submitted: auto-replied" in raw


async def _email_sign_in(kit: Kit, request: pytest.FixtureRequest,
                         host: MemoryChannelHost) -> None:
    from engine.channels.email_settings import EmailSettings
    from engine.channels.email_signin import poll_device_code, request_device_code
    from engine.sandbox.oauth import OAuthStandIn

    async with OAuthStandIn(interval=0.1) as provider:
        settings = EmailSettings.model_validate(kit.settings(
            oauth_provider="office365", oauth_refresh_token="", **provider.settings()))
        code = await request_device_code(settings)
        provider.approve(code.user_code)
        tokens = await poll_device_code(settings, code, sleep=lambda s: asyncio.sleep(0))
        assert tokens.refresh_token in provider.refresh_tokens


class EmailKit(Kit):
    kind = "email"
    customer = "ana@customer.test"
    checks = {
        Ability.receive: _email_receive,
        Ability.send: _email_send,
        Ability.notify_agents: _email_notify,
        Ability.history_import: _email_history,
        Ability.skip_existing: _email_skip,
        Ability.sync_now: _email_sync,
        Ability.test_connection: _email_test_connection,
        Ability.sign_in: _email_sign_in,
    }

    def settings(self, **more: Any) -> dict[str, Any]:
        return {"address": "help@acme.test", "mode": "forwarding", "forward_listen_port": 0,
                "imap_password": "imap-Pa55-contract", "smtp_password": "smtp-Pa55-contract",
                "oauth_client_secret": "client-Secret-contract",
                "oauth_refresh_token": "refresh-Token-contract", "signature": "-- {full_name}",
                **more}

    def inbound(self, n: int) -> bytes:
        return _mail(n)

    def malformed(self) -> bytes:
        return b"this is not a mail at all\r\n"

    async def deliver(self, adapter: ChannelAdapter, raw: bytes) -> IngestResult | None:
        return await adapter.ingest_raw(raw, "contract")  # type: ignore[attr-defined]

    def reply_context(self, channel: Channel) -> ReplyContext:
        return dataclasses.replace(super().reply_context(channel),
                                   thread_ids=("<contract-1@customer.test>",),
                                   inbound_ids=("<contract-1@customer.test>",))

    @contextlib.contextmanager
    def refusing(self, request: pytest.FixtureRequest) -> Iterator[dict]:
        with _refusing_smtp() as port:
            yield {"smtp_host": "127.0.0.1", "smtp_port": port, "smtp_security": "none",
                   "smtp_user": "", "smtp_password": ""}


# ------------------------------------------------------------------------------ forms
CONTRACT_FORM = {
    "name": "Contract form", "slug": "contract",
    "fields": [{"key": "email", "type": "email", "required": True},
               {"key": "campaign", "type": "hidden", "from_query": "campaign"}],
}


async def _forms_web_routes(kit: Kit, request: pytest.FixtureRequest,
                            host: MemoryChannelHost) -> None:
    """The form's mount served by the front door's own dispatcher and limits: the page, a
    submission through the host (hidden answer kept off the thread), a refused one counted."""
    import re

    import httpx

    from engine.form_defs import parse_form
    from engine.web.app import MountDispatcher
    from engine.web.limits import Limits, LimitsMiddleware
    from engine.web.mounts import WebMount

    host.forms["contract"] = parse_form(CONTRACT_FORM)
    adapter: Any = kit.adapter(host)
    mounts = adapter.routes()
    assert [m.prefix for m in mounts] == ["/f/contract"] and isinstance(mounts[0], WebMount)
    limits = Limits()
    app = LimitsMiddleware(MountDispatcher(lambda: mounts, limits), limits, lambda: mounts)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://form.test") as client:
        page = await client.get("/f/contract", params={"campaign": "autumn"})
        assert page.status_code == 200 and 'for="f-email"' in page.text
        hidden = dict(re.findall(r'type="hidden" name="([^"]+)" value="([^"]*)"', page.text))
        answers = {**hidden, "email": "ana@customer.test", "subject": "Order 1",
                   "description": "Where is order 1?"}
        assert (await client.post("/f/contract", data=answers)).status_code == 200
        trap = await client.post("/f/contract", data={**answers, "_website": "x"})
        assert trap.status_code == 422
    await adapter.flush_counts()
    msg = host.messages[0]
    assert len(host.messages) == 1 and msg.sender == "ana@customer.test"
    assert "autumn" not in msg.text and "Where is order 1?" in msg.text
    fields = {f["key"]: f["value"] for f in msg.extra["form_submission"]["fields"]}
    assert fields["campaign"] == "autumn"
    assert host.health_now["rejected"] == {"honeypot": 1} and host.health_now["accepted"] == 1


class FormsKit(Kit):
    kind = "forms"
    customer = "ana@customer.test"
    checks = {Ability.web_routes: _forms_web_routes}

    def settings(self, **more: Any) -> dict[str, Any]:
        return {"form": "contract", "reply_channel": "Support", "min_fill_seconds": 0, **more}


# ------------------------------------------------------------------------------- chat
from tests.channels.kit_chat import ChatKit  # noqa: E402 - the chat kit builds on Kit


#: kind → its kit; the suite fails for a registry kind missing here
# ------------------------------------------------------------------------------ calls
def _voice_form(n: int) -> bytes:
    from urllib.parse import urlencode

    return urlencode([("CallSid", f"CA{n:032d}"), ("From", "+14155550199"),
                      ("To", "+14155550100"), ("CallStatus", "ringing"),
                      ("Direction", "inbound")]).encode()


async def _calls_receive(kit: Kit, request: pytest.FixtureRequest,
                         host: MemoryChannelHost) -> None:
    adapter = kit.adapter(host)
    result = await kit.deliver(adapter, kit.inbound(3))
    assert result is not None and result.created_ticket
    (msg,) = host.messages
    assert (msg.sender_kind, msg.sender, msg.key) == ("phone", "+14155550199", f"CA{3:032d}")


async def _calls_routes(kit: Kit, request: pytest.FixtureRequest,
                        host: MemoryChannelHost) -> None:
    import httpx
    from fastapi import FastAPI

    from engine.channels.calls_signature import signature
    from engine.web.mounts import WebMount

    adapter = kit.adapter(host)
    (mount,) = adapter.routes()
    assert isinstance(mount, WebMount) and mount.prefix == "/calls/1"
    app = FastAPI()
    app.include_router(mount.router, prefix=mount.prefix)
    url = "http://desk.test/calls/1/voice"
    body = kit.inbound(4)
    head = {"Content-Type": "application/x-www-form-urlencoded"}
    from urllib.parse import parse_qsl

    signed = signature("contract-token", url, parse_qsl(body.decode()))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as client:
        refused = await client.post(url, content=body, headers=head)
        assert refused.status_code == 403 and host.messages == [], refused.text
        answered = await client.post(url, content=body,
                                     headers={**head, "X-Twilio-Signature": signed})
    assert answered.status_code == 200, answered.text
    assert answered.status_code == 200 and "<Record" in answered.text  # nobody to ring
    assert len(host.messages) == 1


async def _calls_test_connection(kit: Kit, request: pytest.FixtureRequest,
                                 host: MemoryChannelHost) -> None:
    from engine.sandbox.twilio import TwilioStandIn

    async with TwilioStandIn(auth_token="contract-token") as twilio:
        good = kit.adapter(host, **twilio.settings())
        assert await good.test_connection() == []
        wrong = kit.adapter(host, **{**twilio.settings(), "auth_token": "nope"})
        assert "auth token is wrong" in " ".join(await wrong.test_connection())
        other = kit.adapter(host, **twilio.settings(phone_number="+14155550177"))
        assert "not a number of this account" in " ".join(await other.test_connection())


class CallsKit(Kit):
    kind = "calls"
    customer = "+14155550199"
    checks: ClassVar[dict[Ability, Check]] = {
        Ability.receive: _calls_receive,
        Ability.web_routes: _calls_routes,
        Ability.test_connection: _calls_test_connection,
    }

    def settings(self, **more: Any) -> dict[str, Any]:
        return {"account_sid": "AC" + "0" * 31 + "1", "auth_token": "contract-token",
                "phone_number": "+14155550100", "api_base_url": "http://127.0.0.1:9",
                **more}

    def inbound(self, n: int) -> bytes:
        return _voice_form(n)

    def malformed(self) -> bytes:
        return b"From=%2B14155550199&To=%2B14155550100"  # no CallSid

    async def deliver(self, adapter: ChannelAdapter, raw: bytes) -> IngestResult | None:
        from urllib.parse import parse_qsl

        return await adapter.webhooks.receive(  # type: ignore[attr-defined]
            dict(parse_qsl(raw.decode())), raw, numbers=[])


KITS: dict[str, type[Kit]] = {"email": EmailKit, "chat": ChatKit, "forms": FormsKit,
                              "calls": CallsKit}


from tests.channels import kits_meta  # noqa: E402 - it imports this module's Kit

KITS.update(kits_meta.KITS)
