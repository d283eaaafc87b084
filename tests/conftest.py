"""Shared pytest fixtures.

Email: a session-wide real Dovecot (``dovecot`` fixture; a missing binary FAILS, it does not
skip — CI installs it via ``scripts/install-test-deps.sh``), a fresh mailbox per test
(``mail_user``) and an aiosmtpd sink (``smtp_sink``).
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.helpers.servers import Dovecot, MailUser, SinkHandler, XOAuth2Handler, free_port

if TYPE_CHECKING:
    from engine.sandbox.oauth import OAuthStandIn

# Tests must never touch a real user's database, config or secrets.key, nor share them with
# another test run on the same machine: one private XDG tree per session, removed at its end.
_XDG = tempfile.mkdtemp(prefix="ticketty-test-xdg-")
atexit.register(shutil.rmtree, _XDG, ignore_errors=True)
os.environ["XDG_DATA_HOME"] = os.path.join(_XDG, "data")
os.environ["XDG_CONFIG_HOME"] = os.path.join(_XDG, "config")
for _var in ("TICKETTY_DB", "TICKETTY_SECRET_KEY"):
    os.environ.pop(_var, None)
# Every TUI and engine a test starts (in-process or as a command) may become the runner and
# open the web front door; none may ever take the real default port 8780 (a demo or a real
# desk on this host may be using it). Commands read this config; in-process engines are
# given ``http_port=0`` (or a free port) by the tests themselves.
_CONFIG = Path(os.environ["XDG_CONFIG_HOME"]) / "ticketty"
_CONFIG.mkdir(parents=True, mode=0o700)
(_CONFIG / "config.toml").write_text("[engine]\nhttp_port = 0\n")


@pytest.fixture(scope="session")
def tmux() -> str:
    """The tmux binary for the whole-app smoke tests: a missing one FAILS, like Dovecot."""
    path = shutil.which("tmux")
    if path is None:
        pytest.fail("tmux is not installed: run scripts/install-test-deps.sh (Debian package "
                    "tmux); the whole-app smoke tests need a real terminal", pytrace=False)
    return path


@pytest.fixture(scope="session")
def dovecot() -> Iterator[Dovecot]:
    """One private Dovecot for the whole session (stopping one takes ~2.5 s)."""
    if shutil.which("dovecot") is None:
        pytest.fail(
            "dovecot is not installed: run scripts/install-test-deps.sh "
            "(Debian package dovecot-imapd); the email tests need a real IMAP server",
            pytrace=False,
        )
    server = Dovecot()
    try:
        server.start()
    except Exception as exc:
        server.cleanup()
        pytest.fail(f"could not start dovecot: {exc}", pytrace=False)
    yield server
    server.cleanup()


@pytest.fixture
def mail_user(dovecot: Dovecot) -> MailUser:
    """A fresh user with an empty INBOX on the session Dovecot."""
    return dovecot.add_user()


@pytest.fixture
def smtp_sink() -> Iterator[tuple[SinkHandler, int]]:
    """An aiosmtpd server (threaded Controller on 127.0.0.1) keeping what it receives."""
    from aiosmtpd.controller import Controller

    handler = SinkHandler()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


@pytest.fixture
async def oauth_standin() -> AsyncIterator[OAuthStandIn]:
    """The local OAuth provider (engine/sandbox/oauth.py) on a free port, quick to poll."""
    from engine.sandbox.oauth import OAuthStandIn

    async with OAuthStandIn(interval=0.1) as provider:
        yield provider


@pytest.fixture
def xoauth2_smtp(oauth_standin: OAuthStandIn) -> Iterator[tuple[XOAuth2Handler, int]]:
    """An aiosmtpd server accepting only XOAUTH2 logins with the stand-in's access tokens."""
    from aiosmtpd.controller import Controller

    handler = XOAuth2Handler(oauth_standin.access_token_valid)
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, auth_require_tls=False)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


# ----------------------------------------------------------------------------- core store

@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "ticketty.db"


@pytest.fixture
async def store(db_path: Path):
    """A fresh store with the default pipeline and one admin (admin@example.com), mapped to
    the OS user running the tests, as a first run would."""
    from engine.desk import ensure_first_admin
    from engine.store import Store

    async with Store(db_path) as s:
        await ensure_first_admin(s, "admin@example.com", "Ada Admin")
        yield s
