"""Helpers of the web front door's tests (fixtures are in conftest.py): a real engine serving
on a free port (never 8780) with an admin and an agent holding API tokens, test-only channel
mounts, and a front door on a port the system picks."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from engine.config import Config, EngineConfig
from engine.engine import Engine
from engine.models import Agent, Role
from tests.helpers.servers import free_port


@dataclass
class WebDesk:
    engine: Engine
    url: str
    admin: Agent
    agent: Agent
    admin_token: str
    agent_token: str

    def client(self, token: str | None = None, **kwargs: Any) -> httpx.AsyncClient:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.AsyncClient(base_url=self.url, headers=headers, timeout=20, **kwargs)


async def wait_serving(engine: Engine, seconds: float = 20) -> str:
    """The base URL once the engine's front door listens."""
    async with asyncio.timeout(seconds):
        while engine.web is None:  # noqa: ASYNC110 - the server appears when the lead is taken
            await asyncio.sleep(0.01)
        await engine.web.serving.wait()
    host, port = engine.web.address
    return f"http://{host}:{port}"


@contextlib.asynccontextmanager
async def web_desk(db: Path, **settings: Any) -> AsyncIterator[WebDesk]:
    """An engine on ``db`` serving the front door on a free port, with an admin (token
    ``admin-ci``) and an agent (token ``agent-ci``); ``settings``: more ``[engine]`` keys."""
    from engine.desk import ensure_first_admin

    settings = {"http_port": free_port(), "lease_seconds": 3, "outbox_interval": 0.1,
                **settings}
    async with Engine(Config(engine=EngineConfig(**settings)), db) as engine:
        admin = await ensure_first_admin(engine.store, "admin@example.com", "Ada Admin")
        agent = await engine.store.add_agent(Agent(email="bob@example.com", name="Bob Builder",
                                                   role=Role.agent))
        desk = WebDesk(engine, await wait_serving(engine), admin, agent,
                       await engine.store.create_api_token("admin-ci", admin.id),
                       await engine.store.create_api_token("agent-ci", agent.id))
        yield desk


class FakeChannel:
    """A stand-in for a channel adapter declaring the ``web_routes`` ability."""

    def __init__(self, *mounts: Any) -> None:
        self.mounts = list(mounts)
        self.asked = 0

    def can(self, ability: str) -> bool:
        return ability == "web_routes"

    def routes(self) -> list[Any]:
        self.asked += 1
        return self.mounts


@contextlib.asynccontextmanager
async def mounted(db: Path, adapters: Callable[[], Iterable[Any]], **settings: Any
                  ) -> AsyncIterator[tuple[Engine, str, Any]]:
    """A leading engine on ``db`` (``settings``: ``[engine]`` keys) whose front door serves the
    mounts of ``adapters`` (test channels), on a port the system picks (``http_port = 0`` keeps
    the engine from opening its own; the server binds port 0). Yields the engine, the URL and
    the server."""
    from engine.web.server import front_door

    async with Engine(Config(engine=EngineConfig(http_port=0, lease_seconds=3, **settings)),
                      db) as engine:
        assert await engine.wait_leader(10)
        server = front_door(engine, adapters)
        server.start()
        try:
            async with asyncio.timeout(20):
                await server.serving.wait()
            host, port = server.address
            yield engine, f"http://{host}:{port}", server
        finally:
            await server.stop()
