"""The runner lease between real ``ticketty engine`` processes (issue 9, items 5 and 17).

- SIGTERM: the engine exits within 2 s, every time, and hands the lease over: another engine
  runs the channels (its forwarding listener answers on the same port) < 1 s later;
- kill -9: the other engine takes over no later than the lease time after the kill.
"""

from __future__ import annotations

import random
import signal
import socket
import time

from tests.helpers.procs import EngineProc, query, run, wait_until, write_config
from tests.helpers.servers import free_port


def _forwarding_channel(db, port: int) -> None:
    run(db, "channels", "add", "email", "--name", "Fwd", "--set", "address=help@acme.test",
        "--set", "mode=forwarding", "--set", f"forward_listen_port={port}")


def _greets(port: int) -> bool:
    """The forwarding listener on ``port`` answers with its 220 greeting."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
            s.settimeout(0.5)
            return s.recv(64).startswith(b"220")
    except OSError:
        return False


def _holder(db) -> str:
    rows = query(db, "SELECT holder FROM leases WHERE name='runner' AND expires_at > ?",
                 (time.time(),))
    return rows[0][0] if rows else ""


def test_sigterm_exits_within_2s_in_20_of_20_tries(db_path, tmp_path, mail_user):
    # an IMAP channel (real Dovecot) takes a moment to log out: the window in which a lease
    # renewal used to take the lead again and leave a task that never ended
    sets = [x for k, v in mail_user.settings().items() for x in ("--set", f"{k}={v}")]
    run(db_path, "channels", "add", "email", "--name", "Imap", *sets)
    _forwarding_channel(db_path, 0)
    # a short lease renews every 0.2 s, so a renewal lands inside most shutdowns
    config = write_config(tmp_path / "fast.toml", lease_seconds=0.6)
    rng = random.Random(17)
    took: list[float] = []
    for attempt in range(20):
        engine = EngineProc(db_path, config)
        try:
            engine.wait_line("ready in", timeout=30)
            if attempt % 2:  # running the channels, at a different point of the lease cycle
                engine.wait_line("now runs the channels", timeout=30)
                time.sleep(rng.uniform(0, 0.4))
            # else: at once, while the first lease renewal may still be opening its connection
            t0 = engine.signal(signal.SIGTERM)
            try:
                rc = engine.wait_exit(timeout=2.0)
            except Exception as exc:
                raise AssertionError(f"try {attempt + 1}: still running 2 s after SIGTERM:\n"
                                     f"{engine.log()}") from exc
            took.append(time.monotonic() - t0)
            assert rc == 0, engine.log()
            tail = engine.log().split("shutting down", 1)[-1]
            assert "now runs the channels" not in tail, f"took the lead while stopping:\n{engine.log()}"
        finally:
            engine.stop()
    assert len(took) == 20 and max(took) < 2.0


def test_sigterm_hands_the_lease_over_within_1s(db_path, tmp_path):
    port = free_port()
    _forwarding_channel(db_path, port)
    config = write_config(tmp_path / "engine.toml", lease_seconds=6)
    a = EngineProc(db_path, config)
    b = None
    try:
        a.wait_line("now runs the channels", timeout=30)
        wait_until(lambda: _greets(port), 10, "A's listener")
        b = EngineProc(db_path, config)
        b.wait_line("ready in", timeout=30)
        assert str(a.pid) in _holder(db_path)
        t0 = a.signal(signal.SIGTERM)
        wait_until(lambda: str(b.pid) in _holder(db_path) and _greets(port), 3,
                   "B to hold the lease and listen")
        took = time.monotonic() - t0
        assert took < 1.0, f"takeover took {took:.2f}s\nA:\n{a.log()}\nB:\n{b.log()}"
        assert a.wait_exit(timeout=2) == 0
    finally:
        a.stop()
        if b is not None:
            b.stop()


def test_kill_9_takeover_within_the_lease_time(db_path, tmp_path):
    port = free_port()
    _forwarding_channel(db_path, port)
    lease = 2.0
    config = write_config(tmp_path / "engine.toml", lease_seconds=lease)
    a = EngineProc(db_path, config)
    b = None
    try:
        a.wait_line("now runs the channels", timeout=30)
        b = EngineProc(db_path, config)
        b.wait_line("ready in", timeout=30)
        t0 = a.signal(signal.SIGKILL)
        a.wait_exit(timeout=5)
        wait_until(lambda: str(b.pid) in _holder(db_path), lease + 3, "B to take the lease")
        took = time.monotonic() - t0
        wait_until(lambda: _greets(port), 5, "B's listener")
        # the lease was renewed at most a renewal period before the kill: expiry <= kill + lease
        assert took <= lease + 0.25, f"takeover took {took:.2f}s (lease {lease}s)\nB:\n{b.log()}"
    finally:
        a.stop()
        if b is not None:
            b.stop()
