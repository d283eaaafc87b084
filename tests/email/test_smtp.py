"""Forwarding listener (in-loop aiosmtpd) and the SMTP sender, against real servers."""

from __future__ import annotations

import asyncio
import email
import smtplib
from email import policy

import aiosmtplib
import pytest

from engine.channels.email_compose import compose_reply
from engine.channels.email_parse import parse_email
from engine.channels.email_settings import EmailSettings
from engine.channels.smtp_data import SpooledMail
from engine.channels.smtp_listener import ForwardingListener
from engine.channels.smtp_sender import EmailSendError, send_mail, test_smtp_connection

RAW = b"From: Ana <ana@customer.test>\r\nTo: support@acme.test\r\nSubject: Hi\r\nMessage-ID: <f1@customer.test>\r\n\r\nHello\r\n"


def settings(port: int, **kw: object) -> EmailSettings:
    base = {
        "address": "support@acme.test",
        "mode": "forwarding",
        "smtp_host": "127.0.0.1",
        "smtp_port": port,
        "smtp_security": "none",
        "company_name": "Acme",
        "signature": "--\n{full_name}, Acme",
    }
    base.update(kw)
    return EmailSettings(**base)


async def test_listener_accepts_only_channel_addresses_and_hands_bytes_on() -> None:
    got: list[tuple[bytes, str, list[str]]] = []

    async def on_message(mail: SpooledMail) -> None:
        got.append((mail.read_bytes(), mail.mail_from, mail.rcpt_tos))

    async with ForwardingListener(
        ["Support@acme.test"], on_message, port=0, max_message_bytes=4096
    ) as lst:
        async with aiosmtplib.SMTP(hostname="127.0.0.1", port=lst.port, start_tls=False) as smtp:
            errors, _ = await smtp.sendmail("ana@customer.test", ["support+t12@acme.test"], RAW)
            assert errors == {}
            with pytest.raises(aiosmtplib.SMTPRecipientsRefused) as exc:
                await smtp.sendmail("ana@customer.test", ["someone@else.test"], RAW)
            assert exc.value.recipients[0].code == 550
            # oversize: refused (552), never handed on
            with pytest.raises(aiosmtplib.SMTPResponseException) as big:
                await smtp.sendmail("ana@customer.test", ["support@acme.test"], RAW + b"x" * 8000)
            assert big.value.code == 552
            # a bounce arrives with a null envelope sender → recorded as Return-Path: <>
            await smtp.sendmail("", ["support@acme.test"], RAW.replace(b"f1@", b"f2@"))
    assert len(got) == 2
    raw, mail_from, rcpts = got[0]
    assert rcpts == ["support+t12@acme.test"] and mail_from == "ana@customer.test"
    m = parse_email(raw)
    assert m.sender == "ana@customer.test" and m.text == "Hello"
    assert parse_email(got[1][0]).flags.auto_reply  # null Return-Path


async def test_listener_callback_failure_is_a_temporary_error() -> None:
    async def boom(mail: SpooledMail) -> None:
        raise RuntimeError("store down")

    async with ForwardingListener(["support@acme.test"], boom, port=0) as lst:
        with pytest.raises(aiosmtplib.SMTPDataError) as exc:
            await aiosmtplib.send(
                RAW,
                sender="a@b.test",
                recipients=["support@acme.test"],
                hostname="127.0.0.1",
                port=lst.port,
                start_tls=False,
            )
        assert exc.value.code == 451


async def test_listener_works_with_stdlib_client_in_a_thread() -> None:
    got: list[bytes] = []

    async def on_message(mail: SpooledMail) -> None:
        got.append(mail.read_bytes())

    async with ForwardingListener(["support@acme.test"], on_message, port=0) as lst:

        def send() -> None:
            with smtplib.SMTP("127.0.0.1", lst.port) as s:
                s.sendmail("a@b.test", ["support@acme.test"], RAW)

        await asyncio.to_thread(send)
    assert got and b"Hello" in got[0]


async def test_sender_delivers_reply_with_threading_and_signature(smtp_sink) -> None:
    sink, port = smtp_sink
    s = settings(port)
    c = compose_reply(
        s,
        to="ana@customer.test",
        subject="Help",
        text="Fixed.",
        ticket_id=5,
        message_id=9,
        idempotency_key="ob-5-9",
        agent_name="Ana María López",
        in_reply_to="<c2@customer.test>",
        references=["<c1@customer.test>"],
    )
    accepted = await send_mail(s, c)
    assert set(accepted) == {"ana@customer.test"}
    assert sink.received.wait(5)
    mail_from, rcpts, raw = sink.messages[0]
    assert mail_from == "support@acme.test" and rcpts == ["ana@customer.test"]
    msg = email.message_from_bytes(raw, policy=policy.default)
    assert msg["Message-ID"] == c.message_id
    assert msg["In-Reply-To"] == "<c2@customer.test>"
    assert msg["References"] == "<c1@customer.test> <c2@customer.test>"
    assert msg["Subject"] == "Re: Help [#5]"
    assert str(msg["From"]) == "Ana María López at Acme <support@acme.test>"
    assert "Ana María López, Acme" in msg.get_body(("plain",)).get_content()
    assert "Ana María López, Acme" in msg.get_body(("html",)).get_content()


async def test_sender_errors_are_classified(smtp_sink) -> None:
    _, port = smtp_sink
    closed = settings(1)
    with pytest.raises(EmailSendError) as exc:
        await send_mail(closed, RAW, recipients=["ana@customer.test"], io_timeout=5)
    assert exc.value.transient and "connection refused" in exc.value.reason
    assert "connection refused" in (await test_smtp_connection(closed, io_timeout=5) or "")
    assert await test_smtp_connection(settings(port)) is None
    # TLS against a plain server
    reason = await test_smtp_connection(settings(port, smtp_security="ssl"), io_timeout=5)
    assert reason and "TLS" in reason


async def test_sender_refused_recipient_is_permanent() -> None:
    async def on_message(mail: SpooledMail) -> None:
        return None

    async with ForwardingListener(["support@acme.test"], on_message, port=0) as lst:
        with pytest.raises(EmailSendError) as exc:
            await send_mail(settings(lst.port), RAW, recipients=["nobody@else.test"])
        assert not exc.value.transient and exc.value.code == 550


async def test_sender_login_failure_is_reported(smtp_sink) -> None:
    _, port = smtp_sink
    # the sink offers no AUTH: asking for a login is a precise, permanent error
    reason = await test_smtp_connection(settings(port, smtp_user="u", smtp_password="p"))
    assert reason and "SMTP" in reason and "AUTH" in reason.upper()
