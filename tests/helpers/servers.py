"""Real servers for the tests: a throwaway Dovecot and an aiosmtpd sink.

Dovecot runs from its own config (see ``../shared/TESTING.md``): private base/state dirs on
tmpfs when available, a high free port, a passwd-file with users of uid/gid 65534 (Dovecot
refuses uid 0), every directory on the path chmod 755, and the master's stdio redirected so
it does not hold pytest's pipes. Plain IMAP plus IMAPS and STARTTLS with a self-signed
certificate, so all three security modes are exercised against the real server.
"""

from __future__ import annotations

import contextlib
import imaplib
import itertools
import os
import random
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

MAIL_UID = 65534
MAIL_GID = 65534
PASSWORD = "secret"
DOMAIN = "example.test"


def access_token(n: int) -> str:
    """The one XOAUTH2 access token the test Dovecot accepts for user ``n``."""
    return f"ya29.test-access-token-{n}"


def free_port(low: int = 20000, high: int = 60000) -> int:
    """A currently free high TCP port on 127.0.0.1."""
    for _ in range(200):
        port = random.randint(low, high)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port found")


def wait_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            s.settimeout(0.2)
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.02)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


def _tmp_root() -> Path:
    shm = Path("/dev/shm")
    base = shm if shm.is_dir() and os.access(shm, os.W_OK) else None
    root = Path(tempfile.mkdtemp(prefix="ticketty-dovecot-", dir=base))
    root.chmod(0o755)
    return root


def _make_cert(root: Path) -> tuple[Path, Path]:
    cert, key = root / "cert.pem", root / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost,IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    cert.chmod(0o644)
    key.chmod(0o644)  # read by the root master only, but keep it simple in a throwaway dir
    return cert, key


_CONF = """\
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
info_log_path = {root}/dovecot.log
listen = 127.0.0.1
protocols = imap
ssl = yes
ssl_cert = <{cert}
ssl_key = <{key}
disable_plaintext_auth = no
auth_failure_delay = 0
auth_mechanisms = plain login xoauth2
mail_location = maildir:~/Maildir
first_valid_uid = 1
default_login_user = dovenull
default_internal_user = dovecot
mail_max_userip_connections = 200
passdb {{
  driver = passwd-file
  mechanisms = plain login
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
# XOAUTH2 with a static token check: Dovecot 2.3 verifies the bearer token like a password,
# so each user's one valid access token is listed here (MailUser.access_token)
passdb {{
  driver = passwd-file
  mechanisms = xoauth2
  args = scheme=PLAIN username_format=%u {root}/tokens
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {root}/passwd
}}
namespace inbox {{
  inbox = yes
  separator = /
}}
service imap-login {{
  inet_listener imap {{
    port = {port}
  }}
  inet_listener imaps {{
    port = {ssl_port}
    ssl = yes
  }}
}}
"""


@dataclass
class MailUser:
    """One throwaway mailbox on the test Dovecot."""

    server: Dovecot
    address: str
    password: str = PASSWORD

    @property
    def access_token(self) -> str:
        """The XOAUTH2 access token the test Dovecot accepts for this user (a static check)."""
        return access_token(int(self.address.split("@")[0].removeprefix("user")))

    def imap(self) -> imaplib.IMAP4:
        c = imaplib.IMAP4("127.0.0.1", self.server.port)
        c.login(self.address, self.password)
        return c

    def append(self, raw: bytes, folder: str = "INBOX", flags: str = "") -> None:
        """APPEND one mail (stdlib imaplib: a separate connection, like another client)."""
        self.append_many([raw], folder, flags)

    def append_many(self, raws: list[bytes], folder: str = "INBOX", flags: str = "") -> None:
        c = self.imap()
        try:
            for raw in raws:
                typ, data = c.append(folder, flags or None, None, raw)
                if typ != "OK":
                    raise RuntimeError(f"APPEND failed: {data!r}")
        finally:
            c.logout()

    def create_folder(self, folder: str) -> None:
        c = self.imap()
        try:
            c.create(folder)
        finally:
            c.logout()

    def uids(self, folder: str = "INBOX", criteria: str = "ALL") -> list[int]:
        c = self.imap()
        try:
            c.select(folder)
            typ, data = c.uid("SEARCH", criteria)
            return [int(x) for x in data[0].split()]
        finally:
            c.logout()

    def settings(self, **overrides: object) -> dict:
        """EmailSettings keys pointing at this mailbox (plain IMAP by default)."""
        base = {
            "address": self.address,
            "imap_host": "127.0.0.1",
            "imap_port": self.server.port,
            "imap_user": self.address,
            "imap_password": self.password,
            "imap_security": "none",
            "imap_folder": "INBOX",
            "smtp_host": "127.0.0.1",
            "smtp_port": 25,
            "smtp_security": "none",
            "company_name": "Acme",
        }
        base.update(overrides)
        return base


@dataclass
class Dovecot:
    """A private Dovecot instance. :meth:`start` / :meth:`stop` / :meth:`restart`."""

    root: Path = field(default_factory=_tmp_root)
    port: int = field(default_factory=free_port)
    ssl_port: int = field(default_factory=free_port)
    _counter: itertools.count = field(default_factory=lambda: itertools.count(1))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    pool_size: int = 300

    def __post_init__(self) -> None:
        self.cert, self.key = _make_cert(self.root)
        for d in ("run", "state", "home"):
            (self.root / d).mkdir(mode=0o755, exist_ok=True)
            (self.root / d).chmod(0o755)
        # Dovecot re-reads a changed passwd-file at most once a second, so users added one by
        # one fail auth half the time: write a pool of users up front and hand them out.
        (self.root / "passwd").write_text(
            "".join(self._passwd_line(i) for i in range(1, self.pool_size + 1))
        )
        (self.root / "passwd").chmod(0o644)
        (self.root / "tokens").write_text(
            "".join(self._token_line(i) for i in range(1, self.pool_size + 1)))
        (self.root / "tokens").chmod(0o644)
        self.conf = self.root / "dovecot.conf"
        self.conf.write_text(
            _CONF.format(
                root=self.root, port=self.port, ssl_port=self.ssl_port, cert=self.cert, key=self.key
            )
        )
        self.conf.chmod(0o644)

    # -- process -----------------------------------------------------------------------
    def start(self) -> None:
        err = self.root / "start.err"
        with open(err, "wb") as ef:
            rc = subprocess.call(
                ["dovecot", "-c", str(self.conf)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=ef,
            )
        if rc != 0:
            raise RuntimeError(
                f"dovecot failed to start (rc={rc}): {err.read_text()}\n{self.log_tail()}"
            )
        wait_port(self.port)
        wait_port(self.ssl_port)

    def master_pid(self) -> int | None:
        pidfile = self.root / "run" / "master.pid"
        try:
            return int(pidfile.read_text().strip())
        except (OSError, ValueError):
            return None

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM the master we started (by its pid file) and wait until it is gone."""
        pid = self.master_pid()
        if pid is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.02)
        # wait for the port to be released too
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) != 0:
                    return
            time.sleep(0.02)

    def restart(self) -> None:
        self.stop()
        self.start()

    def log_tail(self, n: int = 30) -> str:
        try:
            return "\n".join(
                (self.root / "dovecot.log").read_text(errors="replace").splitlines()[-n:]
            )
        except OSError:
            return ""

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def doveadm(self, *args: str) -> str:
        out = subprocess.run(
            ["doveadm", "-c", str(self.conf), *args],
            check=True,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
        )
        return out.stdout

    # -- users -------------------------------------------------------------------------
    @staticmethod
    def _token_line(n: int) -> str:
        return f"user{n}@{DOMAIN}:{{PLAIN}}{access_token(n)}\n"

    def _passwd_line(self, n: int) -> str:
        home = self.root / "home" / f"user{n}"
        return f"user{n}@{DOMAIN}:{{PLAIN}}{PASSWORD}:{MAIL_UID}:{MAIL_GID}::{home}\n"

    def add_user(self) -> MailUser:
        """A fresh, never used user with an empty mailbox (from the pre-written pool)."""
        with self._lock:
            n = next(self._counter)
            if n > self.pool_size:  # pool exhausted: extend it and let Dovecot notice
                with open(self.root / "passwd", "a") as f:
                    f.writelines(self._passwd_line(i) for i in range(n, n + 100))
                with open(self.root / "tokens", "a") as f:
                    f.writelines(self._token_line(i) for i in range(n, n + 100))
                self.pool_size = n + 99
                time.sleep(1.1)
            home = self.root / "home" / f"user{n}"
            home.mkdir(mode=0o755)
            os.chown(home, MAIL_UID, MAIL_GID)
        return MailUser(self, f"user{n}@{DOMAIN}", PASSWORD)

    def client_ssl_context(self) -> ssl.SSLContext:
        """A client context that trusts this server's self-signed certificate."""
        ctx = ssl.create_default_context(cafile=str(self.cert))
        ctx.check_hostname = False
        return ctx


class SinkHandler:
    """aiosmtpd handler that keeps every envelope it receives."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []
        self.received = threading.Event()

    async def handle_DATA(self, server, session, envelope) -> str:
        self.messages.append(
            (
                envelope.mail_from,
                list(envelope.rcpt_tos),
                envelope.original_content or envelope.content,
            )
        )
        self.received.set()
        return "250 2.0.0 OK"


class XOAuth2Handler(SinkHandler):
    """An aiosmtpd sink that logs in only with SASL XOAUTH2 and a token ``valid(token)``
    accepts — what Gmail's or Microsoft's SMTP asks their identity provider (here: the OAuth
    stand-in, :meth:`engine.sandbox.oauth.OAuthStandIn.access_token_valid`)."""

    def __init__(self, valid) -> None:
        super().__init__()
        self.valid = valid
        self.logins: list[tuple[str, bool]] = []

    async def auth_XOAUTH2(self, server, args):  # aiosmtpd's hook name
        import base64

        from aiosmtpd.smtp import AuthResult

        fields = base64.b64decode(args[1]).decode().split("\x01")
        user = fields[0].removeprefix("user=")
        token = fields[1].removeprefix("auth=Bearer ")
        ok = bool(self.valid(token))
        self.logins.append((user, ok))
        return AuthResult(success=ok, handled=False)
