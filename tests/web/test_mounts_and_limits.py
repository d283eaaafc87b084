"""The front door through a real uvicorn: test-only channel mounts, and the limits every route
sits behind (body size while streaming, per-address and per-visitor rates, timeouts, trusted
proxies)."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import httpx
import pytest
from fastapi import APIRouter, Depends, Request, WebSocket

from engine.web import WebMount, channel_mounts
from engine.web.app import visitor_limit
from tests.web.web_helpers import FakeChannel, mounted

calls: list[str] = []


def _router() -> APIRouter:
    router = APIRouter()

    @router.get("/")
    async def root() -> dict:
        return {"at": "root"}

    @router.get("/hello")
    async def hello(name: str = "you") -> dict:
        return {"hello": name}

    @router.post("/echo")
    async def echo(request: Request) -> dict:
        calls.append("echo")
        return {"n": len(await request.body())}

    @router.get("/slow")
    async def slow() -> dict:
        await asyncio.sleep(10)
        return {}

    @router.get("/whoami")
    async def whoami(request: Request) -> dict:
        return {"client": request.client.host if request.client else None,
                "scheme": request.url.scheme}

    @router.get("/visit", dependencies=[Depends(visitor_limit("X-Visitor", per_minute=60,
                                                              burst=2))])
    async def visit() -> dict:
        return {"ok": True}

    @router.websocket("/ws")
    async def ws(socket: WebSocket) -> None:
        await socket.accept()
        text = await socket.receive_text()
        await socket.send_text(f"echo: {text}")
        await socket.close()

    return router


@pytest.fixture
def static_dir(tmp_path: Path) -> Path:
    d = tmp_path / "static"
    d.mkdir()
    (d / "widget.js").write_text("console.log('hi')\n")
    return d


async def _raw(url: str, data: bytes, *, then_wait: float = 5.0) -> bytes:
    """Send ``data`` on a fresh connection and read what comes back (up to ``then_wait`` s)."""
    host, port = url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        writer.write(data)
        await writer.drain()
        async with asyncio.timeout(then_wait):
            return await reader.read(65536)
    finally:
        writer.close()


def test_an_ipv6_client_is_limited_by_its_64():
    from engine.web.limits import address_key

    assert address_key("2001:db8:1:2::1") == address_key("2001:db8:1:2:ffff::9")
    assert address_key("2001:db8:1:2::1") != address_key("2001:db8:1:3::1")
    assert address_key("203.0.113.9") == "ip:203.0.113.9"
    assert address_key(None) == "ip:-"


def test_mounts_are_checked_and_only_declared_abilities_count():
    for bad in ("/", "chat", "/chat/", "/healthz", "/api", "/api/v2", "/a b"):
        with pytest.raises(ValueError):
            WebMount(prefix=bad, router=APIRouter())
    with pytest.raises(ValueError, match="neither"):
        WebMount(prefix="/t")

    class NoWeb:
        def can(self, ability: str) -> bool:
            return False

        def routes(self) -> list:  # never asked: the ability is not declared
            raise AssertionError("asked a channel without the web_routes ability")

    fake = FakeChannel(WebMount(prefix="/t", router=APIRouter()))
    assert [m.prefix for m in channel_mounts([NoWeb(), object(), fake])] == ["/t"]
    channel_mounts([fake])
    assert fake.asked == 1  # one adapter is asked once; its mounts are kept while it lives


async def test_a_test_mount_serves_routes_static_files_and_websockets(db_path, static_dir):
    import websockets

    fake = FakeChannel(WebMount(prefix="/t", router=_router(), static=static_dir, name="test"),
                       WebMount(prefix="/t/deep", router=_router()))
    adapters: list = [fake]
    async with mounted(db_path, lambda: adapters, http_ip_rate=0) as (engine, url, server), \
            httpx.AsyncClient(base_url=url) as client:
        r = await client.get("/t/hello", params={"name": "<b>Ann</b>"})
        assert r.status_code == 200 and r.json() == {"hello": "<b>Ann</b>"}
        assert r.headers["content-type"] == "application/json"
        assert r.headers["x-content-type-options"] == "nosniff"  # never sniffed as markup
        assert (await client.get("/t")).json() == {"at": "root"}  # the bare prefix is "/"
        static = await client.get("/t/static/widget.js")
        assert static.status_code == 200 and "console.log" in static.text
        assert static.headers["x-content-type-options"] == "nosniff"
        assert (await client.get("/t/static/../../etc/passwd")).status_code == 404
        assert (await client.get("/t/deep/hello")).json() == {"hello": "you"}  # longest prefix
        missing = await client.get("/nowhere")
        assert missing.status_code == 404 and missing.json() == {"error": "nothing at /nowhere"}
        async with websockets.connect(url.replace("http", "ws") + "/t/ws") as socket:
            await socket.send("hi")
            assert await socket.recv() == "echo: hi"

        # channels connected or removed while the server runs: served, or not, at once
        adapters.append(FakeChannel(WebMount(prefix="/later", router=_router())))
        assert (await client.get("/later/hello")).json() == {"hello": "you"}
        adapters.remove(fake)
        assert (await client.get("/t/hello")).status_code == 404
        health = await client.get("/healthz")
        assert health.json() == {"ok": True, "leader": engine.holder}


async def test_body_limit_refuses_a_big_content_length_before_the_route_runs(db_path):
    fake = FakeChannel(WebMount(prefix="/t", router=_router()),
                       WebMount(prefix="/big", router=_router(), max_body=100_000))
    async with mounted(db_path, lambda: [fake], http_max_body=4096, http_ip_rate=0) as (_, url, _), \
            httpx.AsyncClient(base_url=url) as client:
        calls.clear()
        r = await client.post("/t/echo", content=b"x" * 5000)
        assert r.status_code == 413, r.text
        assert "4,096 bytes" in r.json()["error"]
        assert calls == []  # refused on the header alone
        assert (await client.post("/t/echo", content=b"x" * 4000)).json() == {"n": 4000}
        # a mount with its own limit (uploads)
        assert (await client.post("/big/echo", content=b"x" * 50_000)).json() == {"n": 50_000}
        assert (await client.post("/big/echo", content=b"x" * 100_001)).status_code == 413
        # a big Content-Length whose body never comes: answered at once, nothing read
        started = time.monotonic()
        answer = await _raw(url, b"POST /t/echo HTTP/1.1\r\nHost: t\r\n"
                                 b"Content-Length: 10000000\r\n\r\n")
        assert answer.startswith(b"HTTP/1.1 413"), answer
        assert time.monotonic() - started < 2


async def test_body_limit_counts_a_chunked_body_while_it_streams(db_path):
    """No Content-Length: the body is counted as it arrives and refused the moment it passes
    the limit — the client has not even finished sending."""
    fake = FakeChannel(WebMount(prefix="/t", router=_router()))
    async with mounted(db_path, lambda: [fake], http_max_body=4096, http_ip_rate=0) as (_, url, _):
        chunk = b"x" * 1000
        body = b"".join(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n" for _ in range(5))
        # 5,000 bytes sent, the final zero-length chunk never: the body is not over
        answer = await _raw(url, b"POST /t/echo HTTP/1.1\r\nHost: t\r\n"
                                 b"Transfer-Encoding: chunked\r\n\r\n" + body)
        head, _, payload = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 413"), answer
        assert b"content-type: application/json" in head.lower()
        assert json.loads(payload)["error"].startswith("the request body is larger than 4,096")
        # under the limit, chunked, finished: accepted
        small = b"".join(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n" for _ in range(3))
        answer = await _raw(url, b"POST /t/echo HTTP/1.1\r\nHost: t\r\nConnection: close\r\n"
                                 b"Transfer-Encoding: chunked\r\n\r\n" + small + b"0\r\n\r\n")
        assert answer.startswith(b"HTTP/1.1 200") and answer.endswith(b'{"n":3000}'), answer


async def test_per_address_rate_limit_answers_429_with_retry_after(db_path):
    fake = FakeChannel(WebMount(prefix="/t", router=_router()))
    async with mounted(db_path, lambda: [fake], http_ip_rate=60, http_ip_burst=3) as (_, url, _), \
            httpx.AsyncClient(base_url=url) as client:
        codes = [(await client.get("/t/hello")).status_code for _ in range(3)]
        refused = await client.get("/t/hello")
        assert codes == [200, 200, 200]
        assert refused.status_code == 429
        assert refused.headers["retry-after"] == "1"  # one request a second: back in 1 s
        assert "too many requests" in refused.json()["error"]
        # monitors are never locked out
        assert {(await client.get("/healthz")).status_code for _ in range(10)} == {200}


async def test_per_visitor_rate_limit_is_per_visitor(db_path):
    fake = FakeChannel(WebMount(prefix="/t", router=_router()))
    async with mounted(db_path, lambda: [fake], http_ip_rate=0) as (_, url, _), \
            httpx.AsyncClient(base_url=url) as client:
        ann = [(await client.get("/t/visit", headers={"X-Visitor": "ann"})).status_code
               for _ in range(3)]
        assert ann == [200, 200, 429]
        refused = await client.get("/t/visit", headers={"X-Visitor": "ann"})
        assert int(refused.headers["retry-after"]) >= 1
        assert (await client.get("/t/visit", headers={"X-Visitor": "bea"})).status_code == 200


async def test_a_slow_request_times_out(db_path):
    fake = FakeChannel(WebMount(prefix="/t", router=_router()))
    async with mounted(db_path, lambda: [fake], http_timeout=0.5, http_ip_rate=0) as (_, url, _), \
            httpx.AsyncClient(base_url=url) as client:
        started = time.monotonic()
        slow = await client.get("/t/slow")
        assert slow.status_code == 503 and "0.5 s" in slow.json()["error"]
        assert time.monotonic() - started < 3
        # a body that stops arriving (slowloris): 408
        answer = await _raw(url, b"POST /t/echo HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n"
                                 b"\r\nonly a part")
        assert answer.startswith(b"HTTP/1.1 408"), answer


async def test_forwarded_headers_are_believed_only_from_trusted_proxies(db_path):
    fake = FakeChannel(WebMount(prefix="/t", router=_router()))
    spoof = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"}
    async with mounted(db_path, lambda: [fake], http_ip_rate=0) as (_, url, _), \
            httpx.AsyncClient(base_url=url) as client:
        who = (await client.get("/t/whoami", headers=spoof)).json()
        assert who == {"client": "127.0.0.1", "scheme": "http"}  # nobody is trusted
    async with mounted(db_path, lambda: [fake], http_ip_rate=60, http_ip_burst=1,
                       trusted_proxies=["127.0.0.1/32"]) as (_, url, _), \
            httpx.AsyncClient(base_url=url) as client:
        who = (await client.get("/t/whoami", headers=spoof)).json()
        assert who == {"client": "203.0.113.9", "scheme": "https"}
        # a visitor prepending an address of their choice gains nothing: the rightmost
        # untrusted hop is the client
        chain = {"X-Forwarded-For": "1.2.3.4, 198.51.100.7"}
        assert (await client.get("/t/whoami", headers=chain)).json()["client"] == "198.51.100.7"
        # and the rate limit is per forwarded client (burst 1 each)
        again = await client.get("/t/whoami", headers={"X-Forwarded-For": "203.0.113.9"})
        other = await client.get("/t/whoami", headers={"X-Forwarded-For": "192.0.2.1"})
        assert (again.status_code, other.status_code) == (429, 200)


def test_the_engine_imports_fastapi_only_when_it_serves():
    """``ticketty engine``, the CLI and the TUI start without FastAPI and uvicorn (~0.3 s):
    the server imports them on a worker thread when it starts."""
    import subprocess
    import sys

    code = ("import sys, engine.engine, engine.web, engine.web.server, engine.cli\n"
            "print(sorted(m for m in ('fastapi', 'uvicorn', 'starlette') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"
