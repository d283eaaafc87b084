"""Helpers of the calling channel's tests: a real engine serving its front door, the Twilio
stand-in, and a calls channel pointing at it (agents with and without phones)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from engine.models import Agent, Channel, RoutingMode, RoutingRule
from engine.sandbox.twilio import TwilioStandIn
from tests.web.web_helpers import WebDesk, web_desk

CUSTOMER = "+14155550199"
ADA_PHONE = "+14155550111"
CY_PHONE = "+14155550122"


@dataclass
class CallsDesk:
    desk: WebDesk
    twilio: TwilioStandIn
    channel: Channel
    ada: Agent
    cy: Agent
    extra: dict[str, Any]

    @property
    def store(self) -> Any:
        return self.desk.engine.store

    def url(self, path: str) -> str:
        return f"{self.desk.url}/calls/{self.channel.id}{path}"

    async def set(self, **settings: Any) -> None:
        """Change the channel's settings (the engine restarts its adapter)."""
        self.extra.update(settings)
        self.channel = await self.store.update_channel(self.channel.model_copy(
            update={"settings": {**self.twilio.settings(), **self.extra}}))
        self.channel = await self.store.channel(self.channel.id)
        await wait_mounted(self)


async def until(cond: Callable[[], Any], seconds: float = 15.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = await cond() if asyncio.iscoroutinefunction(cond) else cond()
        if value:
            return value
        await asyncio.sleep(0.02)
    raise AssertionError(f"timed out after {seconds:g}s waiting for {what}")


async def wait_mounted(calls: CallsDesk) -> None:
    """Until the engine's running adapter answers on the channel's routes with the current
    settings (a signed probe to ``/status`` for an unknown call answers 204)."""
    async def probe() -> bool:
        adapter = calls.desk.engine._adapters.get(calls.channel.id)
        wanted = {k: v for k, v in calls.channel.settings.items() if k != "auth_token"}
        if adapter is None or any(adapter.settings.model_dump(mode="json").get(k) != v
                                  for k, v in wanted.items()):
            return False
        hook = await calls.twilio.post(calls.url("/status"), [("CallSid", "CAprobe")])
        calls.twilio.webhooks.pop()
        return hook.status == 204

    await until(probe, 20, "the calls channel's routes")


@contextlib.asynccontextmanager
async def calls_desk(db: Path, engine: dict[str, Any] | None = None,
                     **settings: Any) -> AsyncIterator[CallsDesk]:
    """An engine serving a calls channel (``settings``: more channel settings; ``engine``: more
    ``[engine]`` keys) on the Twilio stand-in; Ada and Cy have phones, Bob (the desk's agent)
    has none; routing: all three."""
    async with TwilioStandIn() as twilio, web_desk(db, http_ip_rate=0, http_visitor_rate=0,
                                                   **(engine or {})) as desk:
        store = desk.engine.store
        ada = await store.add_agent(Agent(email="ada@example.com", name="Ada Agent",
                                          phone=ADA_PHONE))
        cy = await store.add_agent(Agent(email="cy@example.com", name="Cy Caller",
                                         phone=CY_PHONE))
        channel = await store.add_channel(Channel(
            kind="calls", name="Phones", settings={**twilio.settings(), **settings},
            routing=RoutingRule(mode=RoutingMode.users_teams,
                                agent_ids=[desk.agent.id, ada.id, cy.id])))
        calls = CallsDesk(desk, twilio, channel, ada, cy, dict(settings))
        await wait_mounted(calls)
        yield calls


def client() -> httpx.AsyncClient:
    return httpx.AsyncClient(timeout=20)
