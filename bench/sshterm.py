"""An SSH client that reads a remote TUI's screen: asyncssh for the connection, pyte as the
terminal emulator (keys in, screen text out). Used by ``bench ssh`` and the SSH tests
(tests/helpers/ssh.py)."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any

import asyncssh
import pyte


async def poll(check: Callable[[], Awaitable[bool]], limit: float = 10.0,
               every: float = 0.05) -> bool:
    """Await ``check()`` until it is true or ``limit`` seconds passed; its last answer."""
    deadline = time.monotonic() + limit
    for _ in range(int(limit / every) + 1):
        if await check():
            return True
        if time.monotonic() > deadline:
            break
        await asyncio.sleep(every)
    return await check()


def new_key() -> asyncssh.SSHKey:
    return asyncssh.generate_private_key("ssh-ed25519", comment="test")


class Terminal:
    """One logged-in session: ``text()`` is the screen now; ``wait_for`` polls it."""

    def __init__(self, conn: asyncssh.SSHClientConnection, proc: Any, size: tuple[int, int]):
        self.conn = conn
        self.proc = proc
        self.screen = pyte.Screen(*size)
        self.stream = pyte.ByteStream(self.screen)
        self.received = 0
        self.changed = asyncio.Event()
        self._pending: list[bytes] = []  # parsed lazily: pyte is slow, 30 screens add up
        self._carry = b""
        self._watches: list[tuple[re.Pattern[bytes], asyncio.Future[float]]] = []
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def open(cls, port: int, key: asyncssh.SSHKey, *, size: tuple[int, int] = (110, 30),
                   username: str = "agent", env: dict[str, str] | None = None,
                   term: str = "xterm-256color") -> Terminal:
        conn = await asyncssh.connect("127.0.0.1", port, username=username, client_keys=[key],
                                      known_hosts=None, agent_path=None)
        proc = await conn.create_process(term_type=term, term_size=size, encoding=None,
                                         env=env or {})
        return cls(conn, proc, size)

    async def _read(self) -> None:
        while True:
            data = await self.proc.stdout.read(65536)
            if not data:
                return
            now = time.monotonic()
            self.received += len(data)
            self._pending.append(data)
            if self._watches:
                seen = self._carry + data
                for pattern, future in list(self._watches):
                    if not future.done() and pattern.search(seen):
                        future.set_result(now)
                        self._watches.remove((pattern, future))
                self._carry = seen[-512:]
            self.changed.set()

    def watch(self, needle: str | re.Pattern[bytes]) -> asyncio.Future[float]:
        """A future set to the monotonic time ``needle`` (text, or a pattern over the raw
        bytes) first arrives in the output."""
        pattern = needle if isinstance(needle, re.Pattern) else re.compile(
            re.escape(needle.encode()))
        future: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self._watches.append((pattern, future))
        return future

    def display(self) -> list[str]:
        """The screen's lines now (parses what arrived since the last look)."""
        if self._pending:
            data, self._pending = b"".join(self._pending), []
            self.stream.feed(data)
        return self.screen.display

    def text(self) -> str:
        return "\n".join(line.rstrip() for line in self.display())

    async def wait_for(self, needle: str, limit: float = 20.0) -> float:
        """Seconds until ``needle`` is on the screen (fails after ``limit``)."""
        started = time.monotonic()
        while needle not in self.text():
            left = limit - (time.monotonic() - started)
            if left <= 0:
                raise AssertionError(f"{needle!r} not on the screen:\n{self.text()}")
            self.changed.clear()
            try:
                await asyncio.wait_for(self.changed.wait(), min(left, 0.5))
            except TimeoutError:
                pass
        return time.monotonic() - started

    def send(self, keys: str | bytes) -> None:
        self.proc.stdin.write(keys.encode() if isinstance(keys, str) else keys)

    def resize(self, cols: int, rows: int) -> None:
        self.display()
        self.screen.resize(rows, cols)
        self.proc.change_terminal_size(cols, rows)

    async def close(self) -> None:
        self.conn.close()
        await self.conn.wait_closed()
        self._reader.cancel()
