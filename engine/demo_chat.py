"""The demo's website chat: a chat channel and simulated visitors on real WebSockets.

:func:`seed_chat` connects the chat channel (the bot on, with quick replies) routed to a team.
:class:`ChatVisitors` plays visitors the way a browser's widget does — over the engine's own
front door, ``ws://…/chat/<id>/ws`` — so what reaches the queue came through the production
path: a visitor opens the widget, types (the agents see "typing…"), writes their scenario's
subject and question, asks the bot for a person (the chat is routed then), waits for the
colleague's answer (the demo's colleagues answer chat
tickets as they answer mail) and sometimes follows up, then leaves. ``GET /demo`` on the same
front door embeds the widget for a person to chat too.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import time
from dataclasses import dataclass
from typing import Any

from engine.channels.chat_bot import HANDOFF
from engine.demo_data import SCENARIOS, Scenario

CHAT_NAME = "Website chat"
QUICK = ("Opening hours = We're in the shop Monday to Saturday, 9:00 to 18:00. | "
         "Repair prices = A standard service is 79 €, brakes from 35 €.")


async def seed_chat(store: Any, team_id: int | None) -> Any:
    """The demo's chat channel (its settings dumped whole: the visitor key is kept)."""
    from engine.channels.chat_settings import ChatSettings
    from engine.models import Channel, RoutingMode, RoutingRule, Strategy, TicketDefaults

    settings = ChatSettings(team_name="Northwind Bikes", accent_color="#0f766e",
                            welcome_message="Hi! Ask us anything about your bike.",
                            bot_enabled=True, bot_collect=False, bot_quick_replies=QUICK)
    return await store.add_channel(Channel(
        kind="chat", name=CHAT_NAME, settings=settings.model_dump(mode="json"),
        defaults=TicketDefaults(status="new", priority="normal"),
        routing=RoutingRule(mode=RoutingMode.users_teams,
                            team_ids=[team_id] if team_id else [],
                            strategy=Strategy.round_robin)))


@dataclass
class ChatCounters:
    visitors: int = 0
    lines: int = 0
    answers_seen: int = 0


class ChatVisitors:
    """Simulated visitors of the demo's chat channel (see the module docstring)."""

    def __init__(self, world: Any, rng: random.Random, *, pace: float = 1.0,
                 follow_up: Any = None) -> None:
        self.world = world  # its store and engine are set when the engine starts
        self.rng = rng
        self.pace = pace
        self.follow_up = follow_up  # (scenario, texts written) -> next line or None
        self.counters = ChatCounters()
        self._visits: set[asyncio.Task[Any]] = set()
        #: visitor id → their scenario, while they are on the page
        self.talking: dict[str, Scenario] = {}

    async def url(self) -> str | None:
        """The chat's socket URL on the running front door (None: not serving yet)."""
        web = getattr(self.world.engine, "web", None)
        channel = await self.world.store.channel(CHAT_NAME)
        if web is None or web.address is None or channel is None or not channel.enabled:
            return None
        host, port = web.address
        return f"ws://{host}:{port}/chat/{channel.id}/ws"

    async def page_url(self, wait: float = 5.0) -> str | None:
        """``http://127.0.0.1:<port>/demo`` once the front door serves (None: it does not)."""
        deadline = time.monotonic() + wait
        while True:
            web = getattr(self.world.engine, "web", None)
            if web is not None and web.address is not None:
                host, port = web.address
                return f"http://{host}:{port}/demo"
            if time.monotonic() >= deadline:
                return None
            await asyncio.sleep(0.05)

    async def visit(self) -> None:
        """Start one visitor (in the background: they wait for answers)."""
        url = await self.url()
        if url is None:
            return
        task = asyncio.ensure_future(self._visitor(url, self.rng.choice(SCENARIOS)))
        self._visits.add(task)
        task.add_done_callback(self._visits.discard)

    async def _visitor(self, url: str, scenario: Scenario) -> None:
        from websockets.asyncio.client import connect

        self.counters.visitors += 1
        written: list[str] = []
        async with connect(url) as ws:
            frames: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

            async def read() -> None:
                async for raw in ws:
                    await frames.put(json.loads(raw))

            reader = asyncio.ensure_future(read())
            session = await asyncio.wait_for(frames.get(), 10)
            visitor = str(session.get("visitor") or "")
            self.talking[visitor] = scenario
            try:
                for n, text in enumerate([scenario.subject, scenario.question]):
                    await self._type(ws, text, f"l{n}")
                    written.append(text)
                    if n == 0:  # who they are: a returning customer is the contact of their mails
                        name, address = self.rng.choice(self.world.customers)
                        await ws.send(json.dumps({"type": "email", "email": address,
                                                  "name": name}))
                await ws.send(json.dumps({"type": "quick", "label": HANDOFF}))  # routed now
                for turn in range(3):
                    if not await self._answer(frames, 6 * 60 * self.pace):
                        return
                    line = self.follow_up(scenario, written) if self.follow_up else None
                    if line is None or self.rng.random() > 0.6:
                        return
                    await asyncio.sleep(self.rng.uniform(1.0, 4.0) * self.pace)
                    await self._type(ws, line, f"f{turn}")
                    written.append(line)
            finally:
                self.talking.pop(visitor, None)
                reader.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await reader

    async def _type(self, ws: Any, text: str, cid: str) -> None:
        await ws.send(json.dumps({"type": "typing", "on": True}))
        await asyncio.sleep(min(4.0, 0.04 * len(text)) * self.pace)
        await ws.send(json.dumps({"type": "message", "id": cid, "text": text}))
        self.counters.lines += 1

    async def _answer(self, frames: asyncio.Queue[dict[str, Any]], seconds: float) -> bool:
        """Wait for an agent's line (bot lines don't count)."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            try:
                frame = await asyncio.wait_for(frames.get(), left)
            except TimeoutError:
                return False
            if frame.get("type") == "message" and frame.get("author") == "agent":
                self.counters.answers_seen += 1
                return True
        return False

    async def agent_turn(self) -> None:
        """Chat is live: the assigned colleague answers a visitor waiting on the page (typing
        first), from the scenario — the first answer, then the reply that fits the follow-up."""
        world = self.world
        channel = await world.store.channel(CHAT_NAME)
        if channel is None:
            return
        for visitor, scenario in list(self.talking.items()):
            ticket_id = await world.store.conversation_ticket(channel.id, visitor)
            ticket = await world.store.ticket(ticket_id) if ticket_id else None
            agent = world.agents.get(ticket.assignee_email or "") if ticket else None
            if ticket is None or agent is None or agent.email == world.you[0]:
                continue  # yours to answer, or nobody's yet
            lines = [x for x in await world.store.thread_lines(ticket.id) if x.author != "bot"]
            if not lines or lines[-1].author != "visitor" or len(lines) < 2:
                continue
            if not any(x.author == "agent" for x in lines):
                text = self.rng.choice(scenario.answers)
            else:
                follow = scenario.follow_up(lines[-1].text)
                if follow is None or follow.closes or not follow.replies:
                    continue
                text = self.rng.choice(follow.replies)
            await world.store.signal("chat.typing", ticket.id, who="agent", on=True,
                                     name=agent.name)
            await asyncio.sleep(min(3.0, 0.02 * len(text)) * self.pace)
            await (await world._desk(agent.email)).reply(ticket.id, text)
            world.counters.colleague_replies += 1
            if world.engine is not None:
                world.engine.outbox.wake()
            return  # one move a turn

    async def stop(self, timeout: float = 5.0) -> None:  # noqa: ASYNC109
        for task in list(self._visits):
            task.cancel()
        if self._visits:
            await asyncio.wait(list(self._visits), timeout=timeout)

    def summary(self) -> dict[str, int]:
        c = self.counters
        return {"visitors": c.visitors, "lines": c.lines, "answers_seen": c.answers_seen}
