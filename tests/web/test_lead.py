"""Who serves the front door: only the runner-lease holder; a busy port is said clearly and
does not stop the engine; shutdown stays inside the engine's 2 s budget."""

from __future__ import annotations

import asyncio
import signal
import smtplib
import socket
import time

import httpx

from engine.config import Config, EngineConfig
from engine.engine import Engine
from engine.web import WebMount
from tests.helpers.procs import EngineProc, query, run, wait_until, write_config
from tests.helpers.servers import free_port
from tests.web.web_helpers import FakeChannel, mounted, wait_serving


def _health(port: int) -> tuple[int, dict] | None:
    try:
        r = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
    except httpx.HTTPError:
        return None
    return r.status_code, r.json()


def _listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


async def test_healthz_names_the_leader(desk):
    async with desk.client() as client:
        r = await client.get("/healthz")
    assert r.status_code == 200
    assert r.json() == {"ok": True, "leader": desk.engine.holder}


async def test_http_port_zero_serves_nothing(db_path):
    async with Engine(Config(engine=EngineConfig(http_port=0)), db_path) as engine:
        assert await engine.wait_leader(10)
        assert engine.web is None


def test_only_the_leader_serves_and_a_takeover_serves(db_path, tmp_path):
    """Two engines configured for the same port: the follower never binds it (no busy-port
    line); when the leader is killed, the follower takes the lead and serves."""
    port = free_port()
    config = write_config(tmp_path / "engine.toml", lease_seconds=1.5, http_port=port)
    a = EngineProc(db_path, config)
    b = None
    try:
        a.wait_line("web: serving", timeout=30)
        status, body = _health(port)
        assert status == 200 and body["ok"] is True
        leader_a = body["leader"]
        assert f":{a.pid}:" in leader_a
        b = EngineProc(db_path, config)
        b.wait_line("ready in", timeout=30)
        time.sleep(0.5)  # b is up and following; it must not have touched the port
        assert "web:" not in b.log()
        assert _health(port)[1]["leader"] == leader_a
        a.proc.kill()  # no goodbye: b takes over when the lease runs out
        a.wait_exit(10)
        b.wait_line("web: serving", timeout=30)
        status, body = _health(port)
        assert status == 200 and f":{b.pid}:" in body["leader"]
    finally:
        a.stop()
        if b is not None:
            b.stop()


def test_a_busy_port_is_logged_and_the_other_channels_keep_running(db_path, tmp_path):
    http_port, smtp_port = free_port(), free_port()
    run(db_path, "channels", "add", "email", "--name", "Fwd", "--set", "address=help@acme.test",
        "--set", "mode=forwarding", "--set", f"forward_listen_port={smtp_port}")
    blocker = socket.socket()
    blocker.bind(("127.0.0.1", http_port))
    blocker.listen()
    engine = EngineProc(db_path, write_config(tmp_path / "engine.toml", lease_seconds=3),
                        "--http-port", str(http_port))  # the flag wins over the config's 0
    try:
        engine.wait_line(f"web: 127.0.0.1:{http_port} is busy", timeout=30)
        line = next(text for _, text in engine.lines if "is busy" in text)
        assert "http_port" in line and "--http-port" in line and "keep running" in line
        assert line.count("\n") == 0
        # the forwarding channel works all the same
        engine.wait_line("forwarding listener on", timeout=30)
        with smtplib.SMTP("127.0.0.1", smtp_port, timeout=10) as smtp:
            smtp.sendmail("cleo@example.com", ["help@acme.test"],
                          b"From: Cleo <cleo@example.com>\r\nTo: help@acme.test\r\n"
                          b"Subject: still here\r\nMessage-ID: <busy@example.com>\r\n\r\nHi\r\n")
        wait_until(lambda: query(db_path, "SELECT count(*) FROM tickets")[0][0] == 1, 30,
                   "the mail's ticket")
        assert engine.proc.poll() is None
        # said once, not once per retry; and served as soon as the port is free
        blocker.close()
        engine.wait_line("web: serving", timeout=60)
        assert sum("is busy" in text for _, text in engine.lines) == 1
        assert _health(http_port)[0] == 200
    finally:
        blocker.close()
        engine.stop()


def test_sigterm_with_the_web_server_up_exits_within_2s(db_path, tmp_path):
    port = free_port()
    engine = EngineProc(db_path, write_config(tmp_path / "engine.toml", http_port=port))
    try:
        engine.wait_line("web: serving", timeout=30)
        client = httpx.Client(base_url=f"http://127.0.0.1:{port}")  # a kept-alive connection
        assert client.get("/healthz").status_code == 200
        t = engine.signal(signal.SIGTERM)
        assert engine.wait_exit(10) == 0
        took = time.monotonic() - t
        assert took < 2.0, f"exit took {took:.2f} s\n{engine.log()}"
        assert not _listening(port)
        client.close()
    finally:
        engine.stop()


async def test_engine_exit_cuts_off_a_slow_request_within_budget(db_path):
    from fastapi import APIRouter

    router = APIRouter()
    started = asyncio.Event()

    @router.get("/slow")
    async def slow() -> dict:
        started.set()
        await asyncio.sleep(30)
        return {}

    fake = FakeChannel(WebMount(prefix="/t", router=router))
    async with mounted(db_path, lambda: [fake], http_ip_rate=0) as (engine, url, server):
        client = httpx.AsyncClient(base_url=url)
        request = asyncio.ensure_future(client.get("/t/slow"))
        await started.wait()
        t = time.monotonic()
        await server.stop()  # what losing the lead or exiting does
        server_stop = time.monotonic() - t
    assert server_stop < 1.5
    try:
        async with asyncio.timeout(5):
            result = await asyncio.gather(request, return_exceptions=True)
        assert isinstance(result[0], httpx.HTTPError) or result[0].status_code >= 500
    finally:
        await client.aclose()


async def test_losing_the_lead_stops_serving(db_path):
    port = free_port()
    config = Config(engine=EngineConfig(http_port=port, lease_seconds=3))
    async with Engine(config, db_path) as engine:
        await wait_serving(engine)
        await engine._stop_leading()  # what a failed renewal does
        assert engine.web is None
        assert not _listening(port)
