"""The demo's phone line: a calls channel on the Twilio stand-in, and callers ringing it.

Seeding gives three colleagues (and you) a phone and connects "Phones" (kind ``calls``) to a
:class:`~engine.sandbox.twilio.TwilioStandIn` on a port of its own. While the demo runs,
customers call through the stand-in and the engine's real webhook routes, signed as Twilio
signs them: an agent answers, or nobody does and the caller leaves a voicemail (transcribed),
or hangs up; now and then a colleague calls a missed caller back from the ticket (the outbox
places it through the stand-in's ``Calls`` resource). The counts join the demo's summary.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import urlsplit

from engine.models import Channel, RoutingMode, RoutingRule
from engine.sandbox.twilio import TwilioStandIn

CHANNEL = "Phones"
NUMBER = "+14155550100"
#: colleagues (by local part) who get a phone in the demo; you get one too
PHONES = {"omar": "+14155550131", "priya": "+14155550132", "diego": "+14155550133"}
YOUR_PHONE = "+14155550130"
MESSAGES = [
    "Hi, my e-bike's display stays dark since this morning, can someone call me back?",
    "Calling about order 4471, the delivery date changed twice. Please ring me.",
    "The rear brake squeaks after the service last week. Thanks.",
    "I was charged twice for the spring tune-up, could you check?",
]


@dataclass
class CallCounters:
    calls: int = 0
    answered: int = 0
    voicemails: int = 0
    hung_up: int = 0
    call_backs: int = 0


class DemoCalls:
    """Drives the demo's calls (owned by :class:`engine.demo.DemoWorld`)."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.twilio = TwilioStandIn(numbers=(NUMBER,))
        self.counters = CallCounters()
        from engine.demo_data import customer

        #: (name, number): Twilio's caller-name lookup gives the name (``CallerName``)
        self.callers = [(customer(rng)[0], f"+1415555{n:04d}")
                        for n in rng.sample(range(2000, 9999), 25)]

    async def seed(self, store: Any, domain: str, you: str) -> None:
        """Phones for a few agents, and the Phones channel on the stand-in's future port."""
        for local, phone in PHONES.items():
            agent = await store.agent(f"{local}@{domain}")
            if agent is not None:
                await store.update_agent(agent.email, phone=phone)
        await store.update_agent(you, phone=YOUR_PHONE)
        team = next((t for t in await store.teams() if t.name == "Repairs"), None)
        self.twilio.port = _free_port()
        await store.add_channel(Channel(
            kind="calls", name=CHANNEL, settings={
                **self.twilio.settings(), "recording": True,
                "greeting": "Thanks for calling Northwind Bikes. Connecting you to a mechanic."},
            routing=RoutingRule(mode=RoutingMode.users_teams,
                                team_ids=[team.id] if team and team.id else [],
                                agent_ids=[a.id for a in await store.agents()
                                           if a.phone and a.id is not None])))

    async def start(self, store: Any) -> None:
        """Start the stand-in where the channel's ``api_base_url`` points (another port, and
        the channel follows, when that one is taken)."""
        channel = await store.channel(CHANNEL)
        if channel is None:
            return
        self.twilio.port = urlsplit(str(channel.settings.get("api_base_url"))).port or 0
        try:
            await self.twilio.start()
        except OSError:
            self.twilio.port = 0
            await self.twilio.start()
            opened = channel.settings | {"api_base_url": self.twilio.api_base_url}
            opened.pop("auth_token", None)
            await store.update_channel(channel.model_copy(update={"settings": {
                **opened, "auth_token": self.twilio.auth_token}}))

    async def stop(self) -> None:
        await self.twilio.stop()

    async def _voice_url(self, engine: Any, store: Any) -> str | None:
        channel = await store.channel(CHANNEL)
        if engine is None or channel is None or engine.web is None:
            return None
        await asyncio.wait_for(engine.web.serving.wait(), 10)
        base = engine.config.engine.public_base().rstrip("/")
        return f"{base}/calls/{channel.id}"

    async def turn(self, engine: Any, store: Any) -> None:
        """One customer calls: answered (half the time), voicemail, or a hang-up."""
        base = await self._voice_url(engine, store)
        if base is None:
            return
        name, caller = self.rng.choice(self.callers)
        roll = self.rng.random()
        self.counters.calls += 1
        if roll < 0.5:
            outcome = await self.twilio.incoming_call(
                f"{base}/voice", caller, answer="first", status_url=f"{base}/status",
                duration=self.rng.randint(40, 400), caller_name=name)
            taken = outcome.answered_by is not None  # else nobody was rung: voicemail, hung up
            self.counters.answered += taken
            self.counters.hung_up += not taken
            return
        said = self.rng.choice(MESSAGES) if roll < 0.85 else None
        await self.twilio.incoming_call(f"{base}/voice", caller, answer=None, voicemail=said,
                                        status_url=f"{base}/status", caller_name=name,
                                        transcription_fails=self.rng.random() < 0.1)
        self.counters.voicemails += said is not None
        self.counters.hung_up += said is None

    async def call_back(self, store: Any, agents: dict[str, Any], you: str) -> None:
        """A colleague with a phone (not you) calls back the latest missed call still open."""
        from engine.desk import Desk

        channel = await store.channel(CHANNEL)
        if channel is None:
            return
        missed = await store.missed_call_tickets(channel.id)
        callers = [a for a in await store.agents() if a.phone and a.email != you]
        if not missed or not callers:
            return
        agent = self.rng.choice(callers)
        await Desk(store, agent).call_back(missed[0])
        self.counters.call_backs += 1

    def summary(self) -> dict[str, int]:
        return {**asdict(self.counters), "calls_placed_by_agents": len(self.twilio.calls)}


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
