"""The contract kits of the Messenger and WhatsApp kinds (see :mod:`tests.channels.kits`):
webhooks through the adapter's own routes in-process, sends and syncs against the Graph
stand-in, a refusing Graph on a thread of its own."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest

from engine.channels.abilities import Ability
from engine.channels.base import ChannelAdapter
from engine.channels.contract import ReplyPlan
from engine.channels.testing import MemoryChannelHost
from engine.models import IngestResult
from tests.channels.kits import Kit, _running, outbox_item, until

#: nothing listens there: a kit's adapter that calls Graph unasked fails fast, never leaves
NOWHERE = "http://127.0.0.1:9"


@contextlib.contextmanager
def _refusing_graph() -> Iterator[str]:
    """A Graph that refuses every send for good (error 100), in a thread of its own."""
    import http.server
    import json
    import threading

    class Refuse(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("content-length") or 0))
            body = json.dumps({"error": {"message": "(#100) Invalid parameter", "code": 100}})
            self.send_response(400)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body.encode())

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Refuse)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _asgi(adapter: ChannelAdapter) -> Any:
    """The adapter's mount as an app an httpx client can call in-process."""
    import httpx
    from fastapi import FastAPI

    [mount] = adapter.routes()
    app = FastAPI()
    app.include_router(mount.router, prefix=mount.prefix)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://meta"), \
        mount.prefix


async def _meta_receive(kit: Kit, request: pytest.FixtureRequest,
                        host: MemoryChannelHost) -> None:
    import hashlib
    import hmac

    adapter = kit.adapter(host)
    client, prefix = _asgi(adapter)
    body = kit.inbound(1)
    sig = "sha256=" + hmac.new(b"app-Secret-contract", body, hashlib.sha256).hexdigest()
    async with _running(adapter), client:
        refused = await client.post(f"{prefix}/webhook", content=body)
        assert refused.status_code == 403 and host.health_now["refused_signatures"] == 1
        ok = await client.post(f"{prefix}/webhook", content=body,
                               headers={"X-Hub-Signature-256": sig})
        assert ok.status_code == 200
        await until(lambda: host.messages, what="the delivery to be processed")
    assert [r["state"] for r in host.inbox.values()] == ["done"]
    assert host.messages[0].key == "mid-1"


async def _meta_web_routes(kit: Kit, request: pytest.FixtureRequest,
                           host: MemoryChannelHost) -> None:
    adapter = kit.adapter(host)
    client, prefix = _asgi(adapter)
    assert kit.entry.adapter_class().public_links(adapter.channel, "https://hd.example") == {
        "webhook_url": f"https://hd.example{prefix}/webhook"}
    async with client:
        good = await client.get(f"{prefix}/webhook", params={
            "hub.mode": "subscribe", "hub.verify_token": "verify-Token-contract",
            "hub.challenge": "99"})
        bad = await client.get(f"{prefix}/webhook", params={
            "hub.mode": "subscribe", "hub.verify_token": "nope", "hub.challenge": "99"})
    assert (good.status_code, good.text, bad.status_code) == (200, "99", 403)


async def _meta_send(kit: Kit, request: pytest.FixtureRequest, host: MemoryChannelHost) -> None:
    from engine.sandbox.graph import GraphStandIn

    async with GraphStandIn() as graph:
        graph.add_page("1111", "Acme", "page-Token-contract")
        graph.add_number("PNID_1", "15550001111", "Acme", "access-Token-contract")
        adapter = kit.adapter(host, graph_base_url=graph.base_url)
        try:
            await kit.deliver(adapter, kit.inbound(1))  # the person wrote: the window is open
            plan: ReplyPlan = adapter.prepare_reply(kit.reply_context(adapter.channel))
            sent = await adapter.send(outbox_item(plan.payload))
        finally:
            await adapter.close()
        [req] = graph.sent()
        assert sent and sent in ("m_standin1", "wamid.standin1=")
        assert kit.customer.lstrip("+") in json_dump(req.body)


def json_dump(value: Any) -> str:
    import json

    return json.dumps(value)


async def _meta_sync(kit: Kit, request: pytest.FixtureRequest, host: MemoryChannelHost) -> None:
    from engine.sandbox.graph import GraphStandIn

    async with GraphStandIn() as graph:
        graph.add_page("1111", "Acme", "page-Token-contract")
        graph.templates["WABA_1"] = [{"name": "hello", "language": "en_US",
                                      "status": "APPROVED", "components": []}]
        adapter = kit.adapter(host, graph_base_url=graph.base_url)
        try:
            report = await adapter.sync_once()
        finally:
            await adapter.close()
    if kit.kind == "messenger":
        assert report["greeting"] is True and graph.greetings["1111"]["greeting"]
    else:
        assert report["templates"] == 1 and host.saved_state["templates"][0]["name"] == "hello"


async def _meta_test_connection(kit: Kit, request: pytest.FixtureRequest,
                                host: MemoryChannelHost) -> None:
    from engine.sandbox.graph import GraphStandIn

    async with GraphStandIn() as graph:
        graph.add_page("1111", "Acme", "page-Token-contract")
        graph.add_number("PNID_1", "15550001111", "Acme", "access-Token-contract")
        good = kit.adapter(host, graph_base_url=graph.base_url)
        assert await good.test_connection() == []
        graph.expired.update({"page-Token-contract", "access-Token-contract"})
        problems = await good.test_connection()
        await good.close()
    assert problems and problems[0].startswith("Graph: token expired")


class MessengerKit(Kit):
    kind = "messenger"
    customer = "PSID-42"
    checks = {Ability.receive: _meta_receive, Ability.send: _meta_send,
              Ability.sync_now: _meta_sync, Ability.test_connection: _meta_test_connection,
              Ability.web_routes: _meta_web_routes}

    def settings(self, **more: Any) -> dict[str, Any]:
        return {"page_id": "1111", "page_access_token": "page-Token-contract",
                "app_secret": "app-Secret-contract", "verify_token": "verify-Token-contract",
                "graph_base_url": NOWHERE, "greeting": "Hi!", **more}

    def inbound(self, n: int) -> bytes:
        import json

        return json.dumps({"object": "page", "entry": [{"id": "1111", "messaging": [
            {"sender": {"id": self.customer}, "recipient": {"id": "1111"},
             "timestamp": 1_767_225_600_000 + n,
             "message": {"mid": f"mid-{n}", "text": f"Where is order {n}?"}}]}]}).encode()

    def malformed(self) -> bytes:
        return b'{"object": "page", "entry": "not a list"'

    async def deliver(self, adapter: ChannelAdapter, raw: bytes) -> IngestResult | None:
        return await adapter.ingest_raw(raw)  # type: ignore[attr-defined]

    @contextlib.contextmanager
    def refusing(self, request: pytest.FixtureRequest) -> Iterator[dict]:
        with _refusing_graph() as url:
            yield {"graph_base_url": url}


class WhatsAppKit(MessengerKit):
    kind = "whatsapp"
    customer = "+4915112345678"

    def settings(self, **more: Any) -> dict[str, Any]:
        return {"phone_number_id": "PNID_1", "waba_id": "WABA_1",
                "access_token": "access-Token-contract", "app_secret": "app-Secret-contract",
                "verify_token": "verify-Token-contract", "graph_base_url": NOWHERE, **more}

    def inbound(self, n: int) -> bytes:
        import json

        return json.dumps({"object": "whatsapp_business_account", "entry": [{
            "id": "WABA_1", "changes": [{"field": "messages", "value": {
                "messaging_product": "whatsapp",
                "metadata": {"display_phone_number": "15550001111", "phone_number_id": "PNID_1"},
                "contacts": [{"profile": {"name": "Ana"}, "wa_id": "4915112345678"}],
                "messages": [{"from": "4915112345678", "id": f"mid-{n}",
                              "timestamp": str(1_767_225_600 + n), "type": "text",
                              "text": {"body": f"Where is order {n}?"}}]}}]}]}).encode()

    def malformed(self) -> bytes:
        return b'["not", "a", "delivery"]'


#: the kits this module adds to :data:`tests.channels.kits.KITS`
KITS: dict[str, type[Kit]] = {"messenger": MessengerKit, "whatsapp": WhatsAppKit}
