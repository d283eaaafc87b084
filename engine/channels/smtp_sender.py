"""Send MIME bytes over SMTP submission with aiosmtplib (SSL / STARTTLS / plain, with auth).

Failures raise :class:`EmailSendError` with ``transient`` telling the outbox whether a retry
can help (4xx replies, connection problems, timeouts) or not (5xx: bad recipient, refused
credentials …). SMTP has no idempotency key: a timeout after DATA may still have delivered,
which is why the outbox reuses the same Message-ID on a resend.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import aiosmtplib

from engine.channels.email_compose import ComposedEmail
from engine.channels.email_oauth import OAuthError
from engine.channels.email_settings import EmailSettings
from engine.vault import reveal

TokenGetter = Callable[[], Awaitable[str]]


class EmailSendError(Exception):
    """Sending failed. ``transient``: worth retrying later; ``code``: SMTP reply code if any."""

    def __init__(self, reason: str, *, transient: bool, code: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.transient = transient
        self.code = code


def _chain(exc: BaseException) -> list[BaseException]:
    out: list[BaseException] = []
    cur: BaseException | None = exc
    while cur is not None and cur not in out and len(out) < 8:
        out.append(cur)
        cur = cur.__cause__ or cur.__context__
    return out


def describe_connect_error(exc: BaseException, proto: str, host: str, port: int) -> str:
    """A precise one-line reason for a failed connection (shown by the setup wizard)."""
    where = f"{host}:{port}"
    for e in _chain(exc):
        if isinstance(e, ssl.SSLCertVerificationError):
            return f"{proto}: TLS certificate not trusted for {where} ({e.verify_message or e})"
        if isinstance(e, ssl.SSLError):
            return f"{proto}: TLS error with {where} ({e.reason or e}) — check the security setting"
        if isinstance(e, ConnectionRefusedError):
            return f"{proto}: connection refused by {where} — wrong host or port, or server down"
        if isinstance(e, socket.gaierror):
            return f"{proto}: host not found: {host}"
        if isinstance(e, TimeoutError):
            return f"{proto}: timed out talking to {where}"
    for e in _chain(exc):
        if "Connect call failed" in str(e) or "refused" in str(e).lower():
            return f"{proto}: connection refused by {where} — wrong host or port, or server down"
    return f"{proto}: cannot connect to {where}: {exc}"


def smtp_client(
    settings: EmailSettings,
    *,
    token_getter: TokenGetter | None = None,
    tls_context: ssl.SSLContext | None = None,
    timeout: float = 30.0,
) -> aiosmtplib.SMTP:
    """An unconnected :class:`aiosmtplib.SMTP` configured from the channel settings."""
    kwargs: dict[str, Any] = {
        "hostname": settings.smtp_host,
        "port": settings.smtp_port,
        "timeout": timeout,
        "use_tls": settings.smtp_security == "ssl",
        "start_tls": settings.smtp_security == "starttls",
    }
    if tls_context is not None:
        kwargs["tls_context"] = tls_context
    user = settings.smtp_user or (settings.address if settings.oauth_provider else "")
    if user:
        kwargs["username"] = user
        if settings.oauth_provider and token_getter is not None:
            kwargs["oauth_token_generator"] = token_getter
        else:
            kwargs["password"] = reveal(settings.smtp_password)
    return aiosmtplib.SMTP(**kwargs)


def _classify(exc: Exception, settings: EmailSettings) -> EmailSendError:
    host, port = settings.smtp_host, settings.smtp_port
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        codes = [r.code for r in exc.recipients]
        detail = "; ".join(f"{r.recipient}: {r.code} {r.message}" for r in exc.recipients)
        return EmailSendError(
            f"SMTP: all recipients refused ({detail})",
            transient=all(400 <= c < 500 for c in codes),
            code=codes[0] if codes else None,
        )
    if isinstance(exc, aiosmtplib.SMTPAuthenticationError):
        return EmailSendError(
            f"SMTP: login failed ({exc.code} {exc.message})", transient=False, code=exc.code
        )
    if isinstance(exc, aiosmtplib.SMTPResponseException) and not isinstance(
        exc, aiosmtplib.SMTPConnectResponseError
    ):
        return EmailSendError(
            f"SMTP: server answered {exc.code} {exc.message}",
            transient=400 <= exc.code < 500,
            code=exc.code,
        )
    if isinstance(exc, aiosmtplib.SMTPNotSupported):
        return EmailSendError(f"SMTP: {exc}", transient=False)
    oauth = next((e for e in _chain(exc) if isinstance(e, OAuthError)), None)
    if oauth is not None:  # no access token: a sign-in problem, not a connection one
        return EmailSendError(f"SMTP: {oauth.reason}", transient=not oauth.needs_reauth)
    return EmailSendError(describe_connect_error(exc, "SMTP", host, port), transient=True)


async def send_mail(
    settings: EmailSettings,
    message: ComposedEmail | bytes,
    *,
    sender: str | None = None,
    recipients: Sequence[str] | None = None,
    token_getter: TokenGetter | None = None,
    tls_context: ssl.SSLContext | None = None,
    io_timeout: float = 30.0,
) -> dict[str, str]:
    """Deliver one mail; return ``{recipient: "code message"}`` for accepted recipients.

    ``message`` is a :class:`ComposedEmail` (envelope taken from it) or raw bytes with
    ``sender``/``recipients`` given. Raises :class:`EmailSendError`.
    """
    if isinstance(message, ComposedEmail):
        raw = message.raw
        sender = sender or message.sender
        recipients = list(recipients or message.recipients)
    else:
        raw = bytes(message)
        sender = sender or settings.address
        recipients = list(recipients or [])
    if not recipients:
        raise EmailSendError("no recipients", transient=False)
    client = smtp_client(
        settings, token_getter=token_getter, tls_context=tls_context, timeout=io_timeout
    )
    try:
        async with client:
            errors, _ = await client.sendmail(sender, recipients, raw)
    except Exception as exc:  # aiosmtplib, OSError, ssl, OAuth … → one error type
        raise _classify(exc, settings) from exc
    accepted = {r: "250" for r in recipients if r not in errors}
    if not accepted:
        raise EmailSendError(f"SMTP: all recipients refused: {errors}", transient=False)
    return accepted


async def test_smtp_connection(
    settings: EmailSettings,
    *,
    token_getter: TokenGetter | None = None,
    tls_context: ssl.SSLContext | None = None,
    io_timeout: float = 15.0,
) -> str | None:
    """Connect (+ TLS + login) without sending; ``None`` if fine, else a precise reason."""
    client = smtp_client(
        settings, token_getter=token_getter, tls_context=tls_context, timeout=io_timeout
    )
    try:
        async with client:
            await client.noop()
    except Exception as exc:
        return _classify(exc, settings).reason
    return None


test_smtp_connection.__test__ = False  # type: ignore[attr-defined]  # not a pytest test
