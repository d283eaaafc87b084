"""The demo's Messenger and WhatsApp traffic, through the real webhook routes.

Northwind Bikes has a Facebook Page and a WhatsApp number, both on a local Graph stand-in
(:mod:`engine.sandbox.graph`). People write on them — the question of one of the demo's
scenarios, its subject as the first line so colleagues know what fits — as signed webhook
deliveries to the engine's own front door, exactly as Meta posts them. The Page has a greeting
(set on it when the channel starts) and an instant reply (sent after a person's first
message). When an agent's reply reaches the stand-in, the person's phone sends the delivery
and read receipts, and sometimes a follow-up from the scenario. Counts join the demo's
counters, so the summary adds up across every channel.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from engine.demo_data import SCENARIOS, Scenario, customer
from engine.models import Channel

if TYPE_CHECKING:
    from engine.demo import DemoWorld
    from engine.sandbox.graph import GraphStandIn, Recorded

MESSENGER, WHATSAPP = "Messenger", "WhatsApp"
PAGE, NUMBER, WABA = "4242", "PN_NORTHWIND", "WABA_NORTHWIND"
GREETING = "Hi {{user_first_name}}! Ask us anything about your bike."
INSTANT = "Thanks for writing to Northwind Bikes! A person will answer you shortly."


@dataclass
class Person:
    kind: str  # messenger | whatsapp
    ident: str  # psid, or phone digits
    name: str
    scenario: Scenario
    written: list[str] = field(default_factory=list)


class MetaDemo:
    """Seeds the two channels and plays their customers (see the module docstring)."""

    def __init__(self, world: DemoWorld) -> None:
        self.world = world
        self.graph: GraphStandIn | None = None
        self.people: dict[str, Person] = {}
        self.secret = ""
        self.channels: dict[str, Channel] = {}
        self.replies_delivered = 0  # agents' replies that reached a customer's phone
        self.receipts = 0

    async def seed(self, routing: Any) -> None:
        """The two channels, routed like the support mail, on a Graph stand-in port."""
        from engine.demo import _free_port

        base = f"http://127.0.0.1:{_free_port()}"
        secret = secrets.token_hex(16)
        common = {"app_secret": secret, "verify_token": secrets.token_urlsafe(16),
                  "graph_base_url": base}
        routed = {"routing": routing} if routing is not None else {}
        await self.world.store.add_channel(Channel(
            kind="messenger", name=MESSENGER, **routed, settings={
                **common, "page_id": PAGE, "page_access_token": "demo-page-token",
                "page_name": "Northwind Bikes", "greeting": GREETING,
                "instant_reply": INSTANT}))
        await self.world.store.add_channel(Channel(
            kind="whatsapp", name=WHATSAPP, **routed, settings={
                **common, "phone_number_id": NUMBER, "waba_id": WABA,
                "access_token": "demo-wa-token", "display_phone": "+1 555 0100"}))

    async def start(self) -> None:
        """The stand-in, on the port the channels were seeded with."""
        from engine.channels import build_adapter
        from engine.sandbox.graph import GraphStandIn

        store = self.world.store
        for name in (MESSENGER, WHATSAPP):
            channel = await store.channel(name)
            if channel is None:
                return  # a demo workspace seeded before these channels existed
            self.channels[name] = channel
        adapter: Any = build_adapter(self.channels[MESSENGER], store)
        self.secret = adapter.settings.app_secret.get_secret_value()
        port = int(adapter.settings.graph_base_url.rsplit(":", 1)[1])
        graph = GraphStandIn(port=port, on_send=self._sent)
        graph.add_page(PAGE, "Northwind Bikes", "demo-page-token")
        graph.add_number(NUMBER, "+1 555 0100", "Northwind Bikes", "demo-wa-token", WABA)
        graph.templates[WABA] = [{"name": "ticket_update", "language": "en_US",
                                  "status": "APPROVED", "components": [
                                      {"type": "BODY", "text": "Your request {{1}} was "
                                                               "updated: reply to continue."}]}]
        self.graph = await graph.start()

    async def stop(self) -> None:
        if self.graph is not None:
            await self.graph.stop()

    # ------------------------------------------------------------------ customers
    def _url(self, kind: str) -> str | None:
        engine = self.world.engine
        web = engine.web if engine is not None else None
        if web is None or not web.serving.is_set():
            return None
        host, port = web.address
        channel = self.channels[MESSENGER if kind == "messenger" else WHATSAPP]
        return f"http://{host}:{port}/{kind}/{channel.id}/webhook"

    async def customer_message(self) -> None:
        """Someone new writes on Messenger or WhatsApp."""
        if self.graph is None:
            return
        rng = self.world.rng
        kind = rng.choice(["messenger", "whatsapp"])
        name, _ = customer(rng)
        ident = f"{rng.randrange(10**15, 10**16)}" if kind == "messenger" else \
            f"49151{rng.randrange(10**7, 10**8)}"
        person = Person(kind, ident, name, rng.choice(SCENARIOS))
        first, _, last = name.partition(" ")
        self.graph.profiles[ident] = {"first_name": first, "last_name": last}
        if await self._write(person, f"{person.scenario.subject}\n{person.scenario.question}"):
            self.people[ident] = person
            self.world.counters.new_conversations += 1

    async def _write(self, person: Person, text: str) -> bool:
        from engine.sandbox.graph import messenger_event, whatsapp_event

        url = self._url(person.kind)
        if url is None or self.graph is None:
            return False
        mid = f"m_{secrets.token_hex(10)}"
        if person.kind == "messenger":
            payload = messenger_event(PAGE, person.ident, text=text, mid=mid,
                                      timestamp_ms=int(time.time() * 1000))
        else:
            payload = whatsapp_event(WABA, NUMBER, "15550100", messages=[{
                "from": person.ident, "id": f"wamid.{mid}=", "timestamp": str(int(time.time())),
                "type": "text", "text": {"body": text}}],
                contacts=[{"profile": {"name": person.name}, "wa_id": person.ident}])
        answer = await self.graph.deliver(url, payload, self.secret)
        if answer.status_code != 200:
            return False
        person.written.append(text)
        return True

    async def _sent(self, rec: Recorded, message_id: str) -> None:
        """An agent's message reached a person's phone: receipts, then maybe a follow-up."""
        body = rec.body if isinstance(rec.body, dict) else {}
        to = str((body.get("recipient") or {}).get("id") or body.get("to") or "")
        person = self.people.get(to)
        text = str((body.get("message") or {}).get("text") or
                   (body.get("text") or {}).get("body") or "")
        if person is None or text == INSTANT:
            return
        self.replies_delivered += 1
        await asyncio.sleep(0.3)
        await self._receipt(person, message_id, "delivered")
        await asyncio.sleep(0.5)
        await self._receipt(person, message_id, "read")
        from engine.demo import FOLLOW_UP_CHANCE

        if self.world.rng.random() > FOLLOW_UP_CHANCE:
            return
        scenario = person.scenario
        written = [scenario.question, *person.written[1:]]
        follow_up = self.world._next_follow_up(scenario, written)
        if follow_up is None:
            return
        await asyncio.sleep(max(1.5, self.world.rng.uniform(0.2, 0.6) * self.world.interval))
        if await self._write(person, follow_up):
            self.world.counters.follow_ups += 1

    async def _receipt(self, person: Person, message_id: str, state: str) -> None:
        from engine.sandbox.graph import whatsapp_event

        url = self._url(person.kind)
        if url is None or self.graph is None:
            return
        now = time.time()
        payload: dict[str, Any]
        if person.kind == "messenger":
            event: dict[str, Any] = {"sender": {"id": person.ident}, "recipient": {"id": PAGE},
                                     "timestamp": int(now * 1000)}
            event[state if state == "read" else "delivery"] = (
                {"watermark": int(now * 1000)} if state == "read"
                else {"mids": [message_id], "watermark": int(now * 1000)})
            payload = {"object": "page", "entry": [{"id": PAGE, "messaging": [event]}]}
        else:
            payload = whatsapp_event(WABA, NUMBER, "15550100", statuses=[
                {"id": message_id, "status": state, "timestamp": str(int(now)),
                 "recipient_id": person.ident}])
        if (await self.graph.deliver(url, payload, self.secret)).status_code == 200:
            self.receipts += 1
