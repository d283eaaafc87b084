"""A reply being sent by one live process is never sent again by another (issue 9, item 4).

Real processes and a real SMTP server: ``ticketty tickets reply`` sends through an aiosmtpd
sink that takes 10 s to answer DATA; meanwhile ``ticketty engine`` starts and becomes the
runner. The runner must leave the row alone because its owner is alive and beating.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import threading
import time

from aiosmtpd.controller import Controller

from engine.desk import Desk
from engine.store import Store
from tests.helpers.procs import BIN, EngineProc, query, run, wait_until, write_config
from tests.helpers.servers import free_port

DATA_DELAY = 10.0


class SlowSink:
    """Takes :data:`DATA_DELAY` seconds per DATA; records when each DATA started."""

    def __init__(self) -> None:
        self.started: list[tuple[float, bytes]] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope) -> str:
        with self.lock:
            self.started.append((time.monotonic(), envelope.original_content or b""))
        await asyncio.sleep(DATA_DELAY)
        return "250 2.0.0 OK"

    def count(self) -> int:
        with self.lock:
            return len(self.started)


def _desk_with_ticket(db_path, port: int) -> None:
    run(db_path, "channels", "add", "email", "--name", "Mail", "--set", "address=help@acme.test",
        "--set", "mode=forwarding", "--set", "forward_listen_port=0",
        "--set", "smtp_host=127.0.0.1", "--set", f"smtp_port={port}",
        "--set", "smtp_security=none")
    run(db_path, "tickets", "create", "--subject", "Where is my order", "--from",
        "cleo@example.com", "--body", "It has not arrived.")


def test_slow_send_in_one_process_is_not_repeated_by_a_new_runner(db_path, tmp_path):
    sink = SlowSink()
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    engine = None
    reply = None
    try:
        _desk_with_ticket(db_path, port)
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


def test_a_runner_losing_the_lease_mid_send_finishes_it_and_the_next_does_not_repeat_it(
        db_path, tmp_path):
    """Engine A is sending a reply (slow server) when it stalls past its lease (SIGSTOP) and
    engine B becomes the runner; A wakes up, finishes the send, B leaves the row alone."""
    sink = SlowSink()
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    a = b = None
    try:
        _desk_with_ticket(db_path, port)

        async def queue_reply() -> None:  # queued only: the runner engine sends it
            async with Store(db_path) as store:
                admin = (await store.agents())[0]
                await Desk(store, admin).reply(1, "It ships today.")

        asyncio.run(queue_reply())
        config = write_config(tmp_path / "engine.toml", lease_seconds=3)
        a = EngineProc(db_path, config)
        a.wait_line("now runs the channels", timeout=30)
        wait_until(lambda: sink.count() == 1, 30, "A's DATA to reach the sink")
        b = EngineProc(db_path, config)
        b.wait_line("ready in", timeout=30)
        a.signal(signal.SIGSTOP)  # A stalls past its lease
        try:
            b.wait_line("now runs the channels", timeout=10)
        finally:
            a.signal(signal.SIGCONT)
        a.wait_line("stopped running the channels", timeout=10)
        wait_until(lambda: query(db_path, "SELECT state FROM outbox") == [("sent",)],
                   DATA_DELAY + 30, "the reply to be sent")
        assert sink.count() == 1, f"delivered {sink.count()} times\nA:\n{a.log()}\nB:\n{b.log()}"
        b.wait_line("left alone", timeout=1)
        assert "outbox: item 1 (reply) sent" in a.log()
    finally:
        for engine in (a, b):
            if engine is not None:
                engine.stop()
        controller.stop()
