"""Helpers of the forms channel's tests: a form served by a real engine, and filling it in
over HTTP the way a browser does (load the page, send its token and answers back)."""

from __future__ import annotations

import asyncio
import contextlib
import html
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx

from engine.channels.forms_settings import FormsSettings
from engine.channels.setup import build_channel
from engine.form_defs import parse_form
from engine.models import Channel
from engine.store import Store
from tests.helpers.poll import wait_for

CONTACT: dict[str, Any] = {
    "name": "Contact us", "slug": "contact", "thank_you": "Thanks, we will be in touch.",
    "fields": [
        {"key": "name", "label": "Your name", "type": "text"},
        {"key": "email", "label": "Your email", "type": "email", "required": True},
        {"key": "topic", "label": "Topic", "type": "select", "options": ["Billing", "Orders"]},
        {"key": "campaign", "type": "hidden", "from_query": "campaign"},
        {"key": "source", "type": "hidden", "value": "website"},
    ],
}


async def add_form_channel(store: Store, form: dict[str, Any] | None = None, *,
                           name: str = "Web", **settings: Any) -> Channel:
    """Keep ``form`` (default :data:`CONTACT`) and a forms channel serving it."""
    definition = parse_form(form or CONTACT)
    if await store.form(definition.slug) is None:
        await store.add_form(definition)
    pipelines = {p.name: [s.name for s in p.statuses] for p in await store.pipelines()}
    channel = build_channel("forms", name, {"form": definition.slug, **settings},
                            settings_model=FormsSettings, agents=await store.agents(),
                            teams=await store.teams(), pipelines=pipelines)
    return await store.add_channel(channel)


async def wait_served(client: httpx.AsyncClient, path: str, seconds: float = 15) -> None:
    """Until the engine's channel supervisor has mounted ``path``."""
    async def served() -> bool:
        return (await client.get(path)).status_code != 404

    await wait_for(served, seconds)


def hidden_value(page: str, name: str) -> str:
    found = re.search(rf'name="{re.escape(name)}" value="([^"]*)"', page)
    assert found, f"no input {name} on the page"
    return html.unescape(found.group(1))


async def load(client: httpx.AsyncClient, path: str, **params: str) -> dict[str, str]:
    """The page's hidden inputs (token, page URL, query-string fields) as a browser keeps them."""
    page = await client.get(path, params=params)
    assert page.status_code == 200, page.text
    names = re.findall(r'<input type="hidden" name="([^"]+)"', page.text)
    return {n: hidden_value(page.text, n) for n in names}


async def submit(client: httpx.AsyncClient, path: str, answers: dict[str, Any],
                 files: dict[str, tuple[str, bytes, str]] | None = None,
                 **params: str) -> httpx.Response:
    """Load the form, then send ``answers`` with its hidden inputs."""
    data = {**await load(client, path, **params), **answers}
    return await client.post(path, data=data, files=files)


GOOD = {"name": "Ana Lima", "email": "ana@customer.test", "topic": "Orders",
        "subject": "Where is my order?", "description": "Order 1234 has not arrived."}


@contextlib.asynccontextmanager
async def shop_page(html: str) -> AsyncIterator[str]:
    """Another site on this machine serving ``html`` at every path (the page a form is embedded
    in; on loopback like the desk, so Chromium's local-network checks let it load the form)."""
    body = html.encode()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            await reader.readuntil(b"\r\n\r\n")
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n"
                         b"Connection: close\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    try:
        yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    finally:
        server.close()
        await server.wait_closed()
