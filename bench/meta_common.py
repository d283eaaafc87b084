"""What the Messenger/WhatsApp benchmarks share: a workspace with one Meta channel, a real
``ticketty engine`` serving it, a Graph stand-in on a thread of its own (profile look-ups),
and signed webhook requests as raw HTTP/1.1 (signed the documented way, in a few lines)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench.common import answers, wait_until, web_engine

SECRET = "bench-App-Secret"
PAGE, NUMBER, WABA = "1111", "PNID_1", "WABA_1"


@contextmanager
def graph_thread() -> Iterator[str]:
    """A Graph stand-in serving on its own thread and loop; yields its base URL."""
    from engine.sandbox.graph import GraphStandIn

    ready = threading.Event()
    box: dict[str, Any] = {}

    async def serve() -> None:
        graph = GraphStandIn()
        graph.add_page(PAGE, "Bench Page", "bench-Token")
        await graph.start()
        box["url"], box["loop"], box["stop"] = graph.base_url, asyncio.get_running_loop(), \
            asyncio.Event()
        for i in range(100_000):  # the profile API answers for every sender of the run
            graph.profiles[f"PSID-{i}"] = {"first_name": "Customer", "last_name": str(i)}
        ready.set()
        await box["stop"].wait()
        await graph.stop()

    thread = threading.Thread(target=asyncio.run, args=(serve(),), daemon=True)
    thread.start()
    ready.wait(30)
    try:
        yield str(box["url"])
    finally:
        box["loop"].call_soon_threadsafe(box["stop"].set)
        thread.join(10)


def isolate(where: Path) -> None:
    """This process and the engine it starts share a config dir (and its secrets key)."""
    os.environ["XDG_CONFIG_HOME"] = str(where / "config")


async def seed(db: Path, kind: str, graph_url: str) -> int:
    """Admin, 4 agents in a team, and one ``kind`` channel routing round-robin to them
    (call :func:`isolate` first: the channel's secrets are sealed with that dir's key)."""
    from bench.common import seed_workspace
    from engine.models import Channel
    from engine.store import Store

    async with Store(db) as store:
        mail = await seed_workspace(store)
        settings: dict[str, Any] = {"app_secret": SECRET, "verify_token": "bench-Verify",
                                    "graph_base_url": graph_url}
        if kind == "messenger":
            settings.update(page_id=PAGE, page_access_token="bench-Token")
        else:
            settings.update(phone_number_id=NUMBER, waba_id="", access_token="bench-Token")
        channel = await store.add_channel(Channel(kind=kind, name=f"Bench {kind}",
                                                  settings=settings, routing=mail.routing))
        await store.update_channel(mail.model_copy(update={"enabled": False}))
        assert channel.id is not None
        return channel.id


def payload(kind: str, i: int, text: str, *, sender: int | None = None) -> bytes:
    """One documented delivery: message ``i`` from sender ``sender`` (default: ``i``)."""
    who = i if sender is None else sender
    now = time.time()
    if kind == "messenger":
        body: dict[str, Any] = {"object": "page", "entry": [{"id": PAGE, "messaging": [
            {"sender": {"id": f"PSID-{who}"}, "recipient": {"id": PAGE},
             "timestamp": int(now * 1000),
             "message": {"mid": f"m_bench{i}", "text": text}}]}]}
    else:
        phone = f"49151{who:08d}"
        body = {"object": "whatsapp_business_account", "entry": [{"id": WABA, "changes": [
            {"field": "messages", "value": {
                "messaging_product": "whatsapp",
                "metadata": {"display_phone_number": "15550001111", "phone_number_id": NUMBER},
                "contacts": [{"profile": {"name": f"Customer {who}"}, "wa_id": phone}],
                "messages": [{"from": phone, "id": f"wamid.bench{i}=",
                              "timestamp": str(int(now)), "type": "text",
                              "text": {"body": text}}]}}]}]}
    return json.dumps(body).encode()


def signed_request(path: str, body: bytes) -> bytes:
    sig = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    return (f"POST {path} HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
            f"X-Hub-Signature-256: {sig}\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body


@contextmanager
def engine(where: Path, db: Path, kind: str, channel_id: int) -> Iterator[tuple[Any, int, str]]:
    """A real ``ticketty engine`` serving ``db``; yields (process, port, webhook path) once the
    channel's webhook answers its handshake."""
    path = f"/{kind}/{channel_id}/webhook"
    with web_engine(where, db) as running:
        url = f"http://127.0.0.1:{running.port}{path}?hub.mode=subscribe" \
              "&hub.verify_token=bench-Verify&hub.challenge=ok"
        try:
            wait_until(lambda: answers(url), running.proc, "the channel's webhook never answered")
        except RuntimeError as exc:
            failed: RuntimeError | None = exc
        else:
            failed = None
            yield running.proc, running.port, path
    if failed is not None:  # with what the engine said, now that it has stopped
        raise RuntimeError(f"{failed}: {running.stderr[-1500:]}")
