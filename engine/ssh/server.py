"""``ticketty serve ssh``: the asyncssh server that gives each agent their own desk.

- **Authentication**: public keys only (no passwords, no keyboard-interactive). The offered
  key's fingerprint is looked up in the store (``ticketty agents keys …``) on every login, so
  a removed key stops working at once; an unknown key is refused with a log line naming its
  fingerprint and the client's address.
- **The key decides the agent**: the agent of the key that signed the login, remembered on
  the connection; the SSH user name is logged and otherwise ignored.
- **Only the TUI**: a session must ask for a PTY and a shell; ``exec`` (a command),
  subsystems (SFTP), port forwarding (both ways), agent and X11 forwarding are refused. The
  client's environment is never passed on (only the terminal type; see
  :mod:`engine.ssh.session`).
- **Limits** (``[ssh]``): ``max_sessions`` at once (one more is told the desk is full),
  ``idle_timeout`` without a key press, ``login_timeout`` to authenticate.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncssh

from engine.models import Agent
from engine.ssh.keys import fingerprint_of
from engine.ssh.session import TuiProcess, child_env, session_argv
from engine.ssh.settings import SshConfig
from engine.store import Store

log = logging.getLogger("ticketty.ssh")


class DeskSession(asyncssh.SSHServerSession):
    """One channel: a PTY, a shell request, then the TUI process (see engine.ssh.session)."""

    def __init__(self, server: SshServer, agent: Agent, peer: str) -> None:
        self.server = server
        self.agent = agent
        self.peer = peer
        self.chan: Any = None
        self.term = ""
        self.size = (80, 24)
        self.has_pty = False
        self.tui: TuiProcess | None = None
        self.early: list[bytes] = []  # keys typed before the TUI's process started
        self.started = time.monotonic()

    def connection_made(self, chan: Any) -> None:
        self.chan = chan

    def pty_requested(self, term_type: str, term_size: tuple[int, int, int, int],
                      term_modes: Any) -> bool:
        self.has_pty = True
        self.term = term_type
        if term_size[0] and term_size[1]:
            self.size = (term_size[0], term_size[1])
        return True

    def shell_requested(self) -> bool:
        return True

    def exec_requested(self, command: str) -> bool:
        log.warning("refused a command from %s (%s): only the TUI is served", self.peer,
                    self.agent.email)
        return False

    def subsystem_requested(self, subsystem: str) -> bool:
        log.warning("refused subsystem %r from %s (%s)", subsystem[:40], self.peer,
                    self.agent.email)
        return False

    def session_started(self) -> None:
        asyncio.get_running_loop().create_task(self._start(), name="ssh-session")

    async def _start(self) -> None:
        server = self.server
        if not self.has_pty:
            self._refuse("ticketty needs a terminal: connect with ssh -t")
            return
        if len(server.sessions) >= server.settings.max_sessions:
            log.warning("refused %s (%s): %d sessions already (max_sessions)", self.peer,
                        self.agent.email, len(server.sessions))
            self._refuse("The desk is full right now; try again in a moment.")
            return
        client_env = dict(self.chan.get_environment())
        if client_env:
            log.info("ignored the environment %s sent by %s (%s)",
                     sorted(client_env)[:10], self.peer, self.agent.email)
        env = child_env(self.term, client_env.get("COLORTERM"))
        argv = session_argv(server.db, self.agent.email, server.config_path)
        self.tui = TuiProcess(argv, env, self.size, self._to_client, self._ended)
        server.sessions.add(self)
        try:
            await self.tui.start()
        except OSError as exc:
            server.sessions.discard(self)
            log.error("could not start a session for %s: %s", self.agent.email, exc)
            self._refuse("ticketty could not start a session; the server's log says why.")
            return
        log.info("session for %s from %s (pid %s, %s, %dx%d)", self.agent.email, self.peer,
                 self.tui.pid, self.term, *self.size)
        for data in self.early:
            self.tui.feed(data)
        self.early.clear()

    def _refuse(self, text: str) -> None:
        with contextlib.suppress(Exception):
            self.chan.write(f"\r\n{text}\r\n".encode())
            self.chan.exit(1)

    def _to_client(self, data: bytes) -> None:
        with contextlib.suppress(Exception):
            self.chan.write(data)

    def _ended(self, code: int) -> None:
        self.server.sessions.discard(self)
        log.info("session for %s from %s ended (%s)", self.agent.email, self.peer, code)
        with contextlib.suppress(Exception):
            self.chan.exit(max(0, code))

    def data_received(self, data: bytes, datatype: Any) -> None:
        if self.tui is not None and self.tui.master >= 0:
            self.tui.feed(data)
        elif len(self.early) < 256:
            self.early.append(data)

    def terminal_size_changed(self, width: int, height: int, pixwidth: int,
                              pixheight: int) -> None:
        if self.tui is not None and width and height:
            self.tui.resize(width, height)

    def eof_received(self) -> bool:
        return False  # keep the channel open until the TUI ends

    def connection_lost(self, exc: Exception | None) -> None:
        self.server.sessions.discard(self)
        if self.tui is not None:
            task = asyncio.get_running_loop().create_task(self.tui.hang_up(), name="ssh-hangup")
            self.server.hanging_up.add(task)
            task.add_done_callback(self.server.hanging_up.discard)

    def idle_for(self) -> float:
        return time.monotonic() - (self.tui.last_input if self.tui else self.started)

    def close_idle(self) -> None:
        log.info("closing the idle session of %s from %s", self.agent.email, self.peer)
        self._refuse(f"Closed after {self.server.settings.idle_timeout:g} s without a key.")
        with contextlib.suppress(Exception):
            self.chan.close()


class _Connection(asyncssh.SSHServer):
    """Authentication of one client connection (see the module docstring)."""

    def __init__(self, server: SshServer) -> None:
        self.server = server
        self.peer = "?"
        self.agent: Agent | None = None

    def connection_made(self, conn: Any) -> None:
        peer = conn.get_extra_info("peername") or ("?", 0)
        self.peer = f"{peer[0]}:{peer[1]}"

    def begin_auth(self, username: str) -> bool:
        return True  # every login needs a key

    def password_auth_supported(self) -> bool:
        return False

    def kbdint_auth_supported(self) -> bool:
        return False

    def public_key_auth_supported(self) -> bool:
        return True

    async def validate_public_key(self, username: str, key: Any) -> bool:
        fingerprint = fingerprint_of(key)
        agent = await self.server.agent_for(fingerprint, username)
        if agent is None:
            log.warning("refused key %s from %s (user name %r): no agent has it", fingerprint,
                        self.peer, username[:64])
            return False
        self.agent = agent  # the last key validated is the one whose signature succeeds
        return True

    def auth_completed(self) -> None:
        if self.agent is not None:
            log.info("%s logged in from %s", self.agent.email, self.peer)

    def session_requested(self) -> Any:
        if self.agent is None:
            return False
        return DeskSession(self.server, self.agent, self.peer)

    def connection_requested(self, *args: Any) -> bool:
        log.warning("refused port forwarding from %s", self.peer)
        return False

    def server_requested(self, *args: Any) -> bool:
        log.warning("refused remote port forwarding from %s", self.peer)
        return False


class SshServer:
    """The SSH server: ``async with SshServer(store, db, host_key, settings) as server``;
    ``server.port`` is the port it listens on (useful with port 0)."""

    def __init__(self, store: Store, db: Path, host_key: asyncssh.SSHKey,
                 settings: SshConfig | None = None, *, host: str = "0.0.0.0", port: int = 2222,
                 config_path: str | None = None,
                 agent_for: Callable[[str, str], Awaitable[Agent | None]] | None = None) -> None:
        self.store = store
        self._agent_for = agent_for
        self.db = db
        self.host_key = host_key
        self.settings = settings or SshConfig()
        self.host = host
        self.port = port
        self.config_path = config_path
        self.sessions: set[DeskSession] = set()
        self.hanging_up: set[asyncio.Task[None]] = set()  # sessions whose client went away
        self._acceptor: Any = None
        self._idle: asyncio.Task[None] | None = None

    async def agent_for(self, fingerprint: str, username: str) -> Agent | None:
        """The agent a key logs in as: the one it was added for (``agents keys add``). The
        user name matters only to the demo's own rule (engine/ssh/demo.py)."""
        if self._agent_for is not None:
            return await self._agent_for(fingerprint, username)
        return await self.store.agent_for_key(fingerprint)

    async def start(self) -> SshServer:
        self._acceptor = await asyncssh.create_server(
            lambda: _Connection(self), self.host, self.port, server_host_keys=[self.host_key],
            encoding=None, line_editor=False, allow_scp=False, sftp_factory=None, agent_forwarding=False,
            x11_forwarding=False, login_timeout=self.settings.login_timeout,
            keepalive_interval=30, keepalive_count_max=4)
        self.port = self._acceptor.sockets[0].getsockname()[1]
        if self.settings.idle_timeout:
            self._idle = asyncio.create_task(self._close_idle(), name="ssh-idle")
        return self

    async def _close_idle(self) -> None:
        limit = self.settings.idle_timeout
        while True:
            await asyncio.sleep(min(30.0, max(0.5, limit / 4)))
            for session in list(self.sessions):
                if session.idle_for() > limit:
                    session.close_idle()

    async def stop(self) -> None:
        if self._idle is not None:
            self._idle.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._idle
        if self._acceptor is not None:
            self._acceptor.close()
            await self._acceptor.wait_closed()
        await asyncio.gather(*(s.tui.hang_up() for s in list(self.sessions) if s.tui),
                             *list(self.hanging_up), return_exceptions=True)
        self.sessions.clear()

    async def __aenter__(self) -> SshServer:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()
