"""One SSH session: the full TUI in a ``ticketty`` process of its own, under a PTY.

Why a process per session, not Textual driven over the channel in the server's process: the
TUI then runs exactly as it does in a local terminal (Textual's own Linux driver on a real
tty: raw mode, resizes by ``SIGWINCH``, colours from ``TERM``), one session's crash or a busy
screen never stalls another, and the server's event loop only copies bytes. It costs memory
per session (``python -m bench ssh`` measures it).

**Identity.** The server alone decides who the session is: the agent whose key
authenticated. It starts ``python -m ticketty --db DB --ssh-session EMAIL`` itself, with an
argument list and environment it builds — the client's user name, environment and command
never reach them (only the terminal type, and ``COLORTERM`` if it is ``truecolor`` or
``24bit``). The child honours ``--ssh-session`` only because its OS user (the server's
service user) is an admin of the desk, the same rule as ``--as`` (docs/security.md); it then
works *as* that agent, not on behalf of the admin.

**Teardown.** The client disconnecting closes the PTY's master side (the kernel hangs up the
child's terminal, ``SIGHUP``); the child leaves its presence and exits; after
:data:`GRACE` seconds it is killed. The child exiting (``q``) closes the channel.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import pty
import signal
import struct
import sys
import termios
import time
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger("ticketty.ssh")
GRACE = 5.0  # seconds a hung-up TUI gets to leave before it is killed
COLORTERMS = {"truecolor", "24bit"}


def set_winsize(fd: int, cols: int, rows: int) -> None:
    """Tell the PTY its size (the kernel signals ``SIGWINCH`` to the TUI)."""
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", max(rows, 1), max(cols, 1), 0, 0))


def _controlling_tty() -> None:  # pragma: no cover - runs in the child between fork and exec
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def child_env(term: str, colorterm: str | None) -> dict[str, str]:
    """The session process's environment: the server's own, with the client's terminal type
    (and true-colour hint) — nothing else the client sent."""
    env = {k: v for k, v in os.environ.items() if k not in ("COLORTERM", "TERM", "TICKETTY_LOG")}
    env["TERM"] = term if term and term.isprintable() and len(term) < 64 else "xterm-256color"
    if colorterm in COLORTERMS:
        env["COLORTERM"] = colorterm
    env.setdefault("LANG", "C.UTF-8")
    return env


class TuiProcess:
    """The ``ticketty`` process of one session and the byte pump between it and the channel.

    ``write`` sends what the process prints to the client; ``closed(code)`` is called once
    when the process has ended."""

    def __init__(self, argv: list[str], env: dict[str, str], size: tuple[int, int],
                 write: Callable[[bytes], None], closed: Callable[[int], None]) -> None:
        self.argv = argv
        self.env = env
        self.size = size
        self._write = write
        self._closed = closed
        self.master = -1
        self.proc: asyncio.subprocess.Process | None = None
        self.last_input = time.monotonic()
        self._done = False

    async def start(self) -> None:
        master, slave = pty.openpty()
        set_winsize(slave, *self.size)
        try:
            self.proc = await asyncio.create_subprocess_exec(
                *self.argv, stdin=slave, stdout=slave, stderr=slave, env=self.env,
                start_new_session=True, preexec_fn=_controlling_tty, close_fds=True)
        except BaseException:
            os.close(master)
            raise
        finally:
            os.close(slave)
        self.master = master
        os.set_blocking(master, False)
        asyncio.get_running_loop().add_reader(master, self._readable)
        asyncio.get_running_loop().create_task(self._wait(), name="ssh-session-wait")

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    def _readable(self) -> None:
        try:
            data = os.read(self.master, 65536)
        except BlockingIOError:
            return
        except OSError:  # EIO: the child closed its side
            data = b""
        if data:
            self._write(data)
        else:
            self._stop_reading()

    def _stop_reading(self) -> None:
        if self.master >= 0:
            with contextlib.suppress(ValueError, OSError):
                asyncio.get_running_loop().remove_reader(self.master)

    def feed(self, data: bytes) -> None:
        """Keys from the client to the TUI."""
        self.last_input = time.monotonic()
        if self.master >= 0:
            view = memoryview(data)
            while view:
                try:
                    view = view[os.write(self.master, view):]
                except BlockingIOError:
                    time.sleep(0.001)  # the TUI is behind on input: a full tty buffer is rare
                except OSError:
                    return

    def resize(self, cols: int, rows: int) -> None:
        self.size = (cols, rows)
        if self.master >= 0:
            with contextlib.suppress(OSError):
                set_winsize(self.master, cols, rows)

    async def _wait(self) -> None:
        assert self.proc is not None
        code = await self.proc.wait()
        # drain what it printed last (its goodbye, the terminal reset)
        with contextlib.suppress(OSError):
            while self.master >= 0 and (data := os.read(self.master, 65536)):
                self._write(data)
        self._finish(code)

    def _finish(self, code: int) -> None:
        if self._done:
            return
        self._done = True
        self._stop_reading()
        if self.master >= 0:
            with contextlib.suppress(OSError):
                os.close(self.master)
            self.master = -1
        self._closed(code)

    async def hang_up(self) -> None:
        """The client went away: hang up the terminal, give the TUI :data:`GRACE` seconds to
        leave cleanly, then kill its process group."""
        proc = self.proc
        if proc is None or proc.returncode is not None:
            return
        self._stop_reading()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGHUP)
        try:
            await asyncio.wait_for(proc.wait(), GRACE)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            await proc.wait()


def session_argv(db: Path, email: str, config: str | None) -> list[str]:
    """The command line of a session's TUI (the server builds it; the client cannot)."""
    argv = [sys.executable, "-m", "ticketty", "--db", str(db)]
    if config:
        argv += ["--config", config]
    return [*argv, "--ssh-session", email]
