"""What the engine logs about forwarded mail (issue 9, item 19).

INFO says what happened — a connection, a mail accepted and where it went, a refusal, a
quarantine — and never a customer's address; the SMTP conversation itself (with the addresses)
appears only at DEBUG.
"""

from __future__ import annotations

import asyncio
import logging

import aiosmtplib
import pytest

from engine.channels import build_adapter
from engine.channels.email import EmailAdapter
from engine.models import Channel

SECRET = "hidden.person@customer.test"  # not "secret": the Dovecot password, scrubbed from logs


def _mail(n: int, sender: str = SECRET) -> bytes:
    return (f"From: Secret Person <{sender}>\r\nTo: help@acme.test\r\nSubject: order {n}\r\n"
            f"Message-ID: <log{n}@customer.test>\r\n\r\nWhere is my order?\r\n").encode()


async def _adapter(store) -> EmailAdapter:
    channel = await store.add_channel(Channel(kind="email", name="Support", settings={
        "address": "help@acme.test", "mode": "forwarding", "forward_listen_port": 0}))
    return build_adapter(channel, store)  # type: ignore[return-value]


async def _running(adapter: EmailAdapter) -> asyncio.Task:
    task = asyncio.ensure_future(adapter.run())
    for _ in range(500):
        if adapter.listener is not None and adapter.listener.running:
            return task
        await asyncio.sleep(0.02)
    raise AssertionError("listener did not start")


def _send(port: int, raw: bytes, rcpt: str = "help@acme.test", sender: str = SECRET):
    return aiosmtplib.send(raw, sender=sender, recipients=[rcpt], hostname="127.0.0.1",
                           port=port, start_tls=False)


async def test_info_logs_say_what_happened_without_customer_addresses(store, caplog):
    caplog.set_level(logging.INFO)
    adapter = await _adapter(store)
    task = await _running(adapter)
    try:
        port = adapter.listener.port
        await _send(port, _mail(1))
        with pytest.raises(aiosmtplib.SMTPRecipientsRefused):
            await _send(port, _mail(2), rcpt="someone.else@customer.test")
        await _send(port, b"From: " + SECRET.encode() + b"\r\nno header end", sender=SECRET)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    shown = [r for r in caplog.records if r.levelno >= logging.INFO]
    text = "\n".join(r.getMessage() for r in shown)
    assert "customer.test" not in text, text
    assert "connection from 127.0.0.1" in text
    assert "accepted a mail of" in text and "→ ticket #1 (new ticket)" in text
    assert "refused a recipient" in text
    assert "went to quarantine" in text or "→ ticket #2" in text
    assert not [r for r in caplog.records if r.name == "mail.log" and r.levelno < logging.WARNING]


async def test_smtp_commands_with_addresses_only_at_debug(store, caplog):
    caplog.set_level(logging.DEBUG)
    adapter = await _adapter(store)
    task = await _running(adapter)
    try:
        await _send(adapter.listener.port, _mail(3))
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    detail = [r for r in caplog.records if r.name == "mail.log" and SECRET in r.getMessage()]
    assert detail and all(r.levelno == logging.DEBUG for r in detail)
