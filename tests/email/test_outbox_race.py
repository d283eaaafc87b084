"""A reply being sent by one live process is never sent again by another (issue 9, item 4).

Real processes and a real SMTP server: ``ticketty tickets reply`` sends through an aiosmtpd
sink that takes 10 s to answer DATA; meanwhile ``ticketty engine`` starts and becomes the
runner. The runner must leave the row alone because its owner is alive and beating.
"""

from __future__ import annotations

import asyncio
import subprocess
import threading
import time

from aiosmtpd.controller import Controller
from procs import BIN, EngineProc, query, run, wait_until, write_config
from servers import free_port

DATA_DELAY = 10.0


class SlowSink:
    """Takes :data:`DATA_DELAY` seconds per DATA; records when each DATA started."""

    def __init__(self) -> None:
        self.started: list[tuple[float, bytes]] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: ANN001
        with self.lock:
            self.started.append((time.monotonic(), envelope.original_content or b""))
        await asyncio.sleep(DATA_DELAY)
        return "250 2.0.0 OK"

    def count(self) -> int:
        with self.lock:
            return len(self.started)


def test_slow_send_in_one_process_is_not_repeated_by_a_new_runner(db_path, tmp_path):
    sink = SlowSink()
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    engine = None
    reply = None
    try:
        run(db_path, "channels", "add", "email", "--name", "Mail", "--set", "address=help@acme.test",
            "--set", "mode=forwarding", "--set", "forward_listen_port=0",
            "--set", "smtp_host=127.0.0.1", "--set", f"smtp_port={port}",
            "--set", "smtp_security=none")
        run(db_path, "tickets", "create", "--subject", "Where is my order", "--from",
            "cleo@example.com", "--body", "It has not arrived.")
        reply = subprocess.Popen([BIN, "--db", str(db_path), "tickets", "reply", "1", "--body",
                                  "It ships today."], stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True)
        wait_until(lambda: sink.count() == 1, 30, "the CLI's DATA to reach the sink")
        assert query(db_path, "SELECT state FROM outbox") == [("sending",)]

        engine = EngineProc(db_path, write_config(tmp_path / "engine.toml"))
        engine.wait_line("now runs the channels", timeout=30)
        out, err = reply.communicate(timeout=DATA_DELAY + 30)
        assert reply.returncode == 0, err
        assert "reply sent" in out
        assert query(db_path, "SELECT state FROM outbox") == [("sent",)]
        assert sink.count() == 1, f"delivered {sink.count()} times"
        # the runner looked at the row while the CLI was sending, and saw a live owner
        engine.wait_line("left alone", timeout=1)
        assert "outbox: item 1 (reply) sent" not in engine.log()
    finally:
        if reply is not None and reply.poll() is None:
            reply.kill()
            reply.wait()
        if engine is not None:
            engine.stop()
        controller.stop()
