"""Real ``ticketty`` processes for the tests: run commands, start engines, read their logs.

:class:`EngineProc` starts ``ticketty engine`` with its own config file and collects its
stderr lines (with the monotonic time each arrived) on a thread, so a test can wait for a log
line with a timeout instead of sleeping.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

BIN = str(Path(sys.executable).parent / "ticketty")


def run(db: Path, *args: str, check: bool = True, timeout: float = 60) -> subprocess.CompletedProcess:
    proc = subprocess.run([BIN, "--db", str(db), *args], capture_output=True, text=True,
                          timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"{args} exited {proc.returncode}: {proc.stderr}")
    return proc


def write_config(path: Path, *, lease_seconds: float = 1.5, outbox_interval: float = 0.2,
                 http_port: int = 0) -> Path:
    """An engine config for tests: never the default HTTP port 8780 (0: no web server)."""
    path.write_text(f"[engine]\nlease_seconds = {lease_seconds}\n"
                    f"outbox_interval = {outbox_interval}\nhttp_port = {http_port}\n")
    return path


def query(db: Path, sql: str, params: tuple = ()) -> list[tuple]:
    conn = sqlite3.connect(db, timeout=10)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def wait_until(predicate, timeout: float, what: str, step: float = 0.02) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(step)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


class EngineProc:
    """``ticketty engine`` in a child process; ``lines`` holds ``(monotonic time, line)``."""

    def __init__(self, db: Path, config: Path, *extra: str) -> None:
        self.proc = subprocess.Popen(
            [BIN, "--db", str(db), "--config", str(config), "engine", *extra],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
        self.lines: list[tuple[float, str]] = []
        self._cond = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    @property
    def pid(self) -> int:
        return self.proc.pid

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            with self._cond:
                self.lines.append((time.monotonic(), line.rstrip("\n")))
                self._cond.notify_all()
        with self._cond:
            self._cond.notify_all()

    def wait_line(self, text: str, timeout: float = 20, after: float = 0.0) -> float:
        """Wait for a log line containing ``text`` (logged after ``after``); its arrival time."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for at, line in self.lines:
                    if at >= after and text in line:
                        return at
                left = deadline - time.monotonic()
                if left <= 0 or (self.proc.poll() is not None and not self._reader.is_alive()):
                    raise AssertionError(f"engine {self.pid} never logged {text!r}:\n{self.log()}")
                self._cond.wait(min(left, 0.1))

    def log(self) -> str:
        with self._cond:
            return "\n".join(line for _, line in self.lines)

    def signal(self, sig: int) -> float:
        t = time.monotonic()
        self.proc.send_signal(sig)
        return t

    def wait_exit(self, timeout: float) -> int:
        return self.proc.wait(timeout=timeout)

    def stop(self) -> None:
        """Make sure the process is gone (tests call this in ``finally``)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._reader.join(timeout=5)
