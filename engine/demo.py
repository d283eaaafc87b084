"""``ticketty demo``: a believable help desk with live traffic through the real inbound paths.

The world (:mod:`engine.demo_data`): a company (Northwind Bikes) with agents of every kind
(admins, agents, one without a seat, one away, one with working hours — and you), teams,
pipelines, canned replies, customers with believable names and owners, a few hundred past
conversations, and every channel kind that exists, connected.

The traffic: customers write real SMTP mail to the email channels' forwarding listeners, about
``rate`` new conversations a minute. Simulated colleagues take unassigned tickets, answer the
ones routed to them and resolve the ones that are done — as many as arrive, so the open queue
neither floods nor drains while you watch. Replies (theirs and yours) leave through the outbox
over real SMTP to a local sink, and customers write back to some of them, threading by
In-Reply-To. Every message is drawn from its ticket's :class:`~engine.demo_data.Scenario`, so
answers fit questions and follow-ups fit answers. Nothing shortcuts the pipeline: what arrives
in the queue came through the same code as production mail.

The demo only ever seeds a fresh file and only reuses a workspace it marked as a demo; a
database holding anything else is refused (:mod:`engine.demo_seed`).
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import random
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import compat32
from typing import Any

from engine.channels.registry import mail_kinds
from engine.demo_calls import DemoCalls
from engine.demo_chat import ChatVisitors
from engine.demo_data import (
    CHANNEL_NAMES,
    DEFAULT_RATE,
    DOMAIN,
    SCENARIOS,
    Scenario,
    customer,
    scenario_for,
)
from engine.demo_forms import FormVisitor, seed_forms
from engine.demo_seed import check_workspace, seed_workspace, seed_world
from engine.models import Agent
from engine.sandbox.smtp_sink import Delivered, SmtpSink
from engine.store import StoreError

__all__ = ["DEFAULT_RATE", "DemoWorld", "check_workspace", "seed_workspace"]

COLLEAGUE_SPEED = 3.0  # colleague moves per arrival: answer, answer the follow-up, resolve
FOLLOW_UP_CHANCE = 0.6  # a customer writes back after an answer
MAX_FOLLOW_UPS = 2
FORM_SHARE = 0.25  # of new conversations, those that start on the contact form /f/contact


def _mail(frm: tuple[str, str], to: str, subject: str, body: str, *, msgid: str | None = None,
          in_reply_to: str | None = None, references: str | None = None,
          when: datetime | None = None) -> bytes:
    m = EmailMessage()
    m["From"] = email.utils.formataddr(frm)
    m["To"] = to
    m["Subject"] = subject
    m["Date"] = email.utils.format_datetime(when or datetime.now(UTC))
    m["Message-ID"] = msgid or email.utils.make_msgid(domain=frm[1].split("@")[1])
    if in_reply_to:
        m["In-Reply-To"] = " ".join(in_reply_to.split())
        m["References"] = " ".join((references or in_reply_to).split())
    m.set_content(body)
    return m.as_bytes()


@dataclass
class Counters:
    """What the simulator did (the summary checks these against what the store recorded)."""

    new_conversations: int = 0
    follow_ups: int = 0
    colleague_replies: int = 0
    resolved: int = 0
    taken: int = 0


class DemoWorld:
    """Seeds the workspace and drives the simulated traffic.

    ``rate``: new conversations a minute; ``pace`` < 1 makes every wait shorter (tests).
    """

    def __init__(self, store: Any, you: tuple[str, str], *, engine: Any = None, seed: int = 7,
                 pace: float = 1.0, rate: float = DEFAULT_RATE, past_tickets: int = 300):
        self.engine = engine
        self.store = store
        self.you = you
        self.rng = random.Random(seed)
        self.pace = pace
        self.rate = rate
        self.past_tickets = past_tickets
        self.sink = SmtpSink(on_message=self._on_delivered)
        self.started = time.time()
        self.counters = Counters()
        self.customers = [customer(self.rng) for _ in range(60)]
        self.agents: dict[str, Agent] = {}
        self.open_at_start = 0
        self.mark: dict[str, int] = {}
        self.verbose = False
        self._stop = asyncio.Event()
        self._loops: list[asyncio.Task[Any]] = []
        self._follow_ups: set[asyncio.Task[Any]] = set()  # customers about to write back
        self._sending: set[asyncio.Task[Any]] = set()  # … and those whose mail is on its way
        self.forms = FormVisitor(self.rng, pace)  # customers using the contact form
        self.chat = ChatVisitors(self, self.rng, pace=pace,
                                 follow_up=self._next_follow_up)  # engine/demo_chat.py
        from engine.demo_meta import MetaDemo

        self.meta = MetaDemo(self)  # Messenger and WhatsApp customers (engine/demo_meta.py)
        self.calls = DemoCalls(self.rng)  # the phone line (engine/demo_calls.py)

    @property
    def interval(self) -> float:
        """Mean seconds between two new conversations."""
        return 60.0 / self.rate * self.pace

    async def seed(self) -> None:
        """The world of :mod:`engine.demo_data` in an empty store (see :mod:`engine.demo_seed`)."""
        self.sink.port = _free_port()
        self.agents = await seed_world(self.store, self.you, self.sink.port, self.rng,
                                       self.customers, self.past_tickets)
        support = await self.store.channel(CHANNEL_NAMES["support"])
        await self.meta.seed(support.routing if support else None)
        await self.calls.seed(self.store, DOMAIN, self.you[0])

    # ------------------------------------------------------------------ traffic
    async def listener_port(self, name: str, timeout: float = 10.0) -> int:  # noqa: ASYNC109
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ch = await self.store.channel(name)
            listening = ch.health.get("listening") if ch else None
            if listening:
                return int(str(listening).rsplit(":", 1)[1])
            await asyncio.sleep(0.05)
        raise RuntimeError(f"the {name} forwarding listener did not start")

    async def _send(self, channel: str, raw: bytes, sender: str, to: str) -> None:
        import aiosmtplib

        port = await self.listener_port(channel)
        await aiosmtplib.send(raw, sender=sender, recipients=[to], hostname="127.0.0.1", port=port,
                              timeout=10)

    async def customer_mail(self) -> None:
        """A customer (often a returning one) starts a new conversation — now and then through
        the contact form (:mod:`engine.demo_forms`) instead of by mail."""
        scenario = self.rng.choice(SCENARIOS)
        name, addr = self.rng.choice(self.customers) if self.rng.random() < 0.7 else customer(self.rng)
        url = self.form_url()
        if url is not None and self.rng.random() < FORM_SHARE:
            if await self.forms.submit(url.removesuffix("/f/contact"), (name, addr),
                                       scenario) == 200:
                self.counters.new_conversations += 1
            return
        to = f"{scenario.channel}@{DOMAIN}"
        raw = _mail((name, addr), to, scenario.subject, scenario.question)
        await self._send(CHANNEL_NAMES[scenario.channel], raw, addr, to)
        self.counters.new_conversations += 1

    async def _on_delivered(self, item: Delivered) -> None:
        """A mail reached the sandbox: if it was a reply to a customer, they may write back."""
        if self._stop.is_set() or not item.rcpt_tos or item.rcpt_tos[0].endswith(f"@{DOMAIN}"):
            return  # stopping, or a notification to a colleague
        task = asyncio.current_task()
        if task is None:
            return
        self._follow_ups.add(task)
        try:
            await self._answer(item)
        except asyncio.CancelledError:
            pass
        except Exception as exc:  # a simulated customer never crashes the demo
            if self.verbose:
                print(f"demo: customer follow-up failed: {exc}", file=sys.stderr)
        finally:
            self._follow_ups.discard(task)
            self._sending.discard(task)

    async def _answer(self, item: Delivered) -> None:
        import email as email_lib

        from engine.channels.email_parse import SUBJECT_TOKEN_RE

        msg = email_lib.message_from_bytes(item.raw, policy=compat32)
        if msg.get("Auto-Submitted", "no").lower() != "no":
            return
        subject = msg.get("Subject", "")
        scenario, token = scenario_for(subject), SUBJECT_TOKEN_RE.search(subject)
        if scenario is None or token is None or self.rng.random() > FOLLOW_UP_CHANCE:
            return
        written = await self.store.demo_inbound_texts(int(token.group(1)))
        follow_up = self._next_follow_up(scenario, written)
        if follow_up is None:
            return
        # nobody answers within a second — and a Date: header has whole seconds, so a quicker
        # answer would sort before the reply it answers
        await asyncio.sleep(max(1.5, self.rng.uniform(0.2, 0.6) * self.interval))
        if self._stop.is_set():
            return
        task = asyncio.current_task()
        assert task is not None  # this coroutine runs as a task
        self._follow_ups.discard(task)
        self._sending.add(task)  # from here on, stopping waits for this mail instead of cancelling
        to_addr = email.utils.parseaddr(msg.get("From", ""))[1]
        addr = email.utils.parseaddr(item.rcpt_tos[0])[1]
        name = next((n for n, a in self.customers if a == addr), "")
        raw = _mail((name, addr), to_addr, subject if subject.lower().startswith("re:") else f"Re: {subject}",
                    follow_up, in_reply_to=msg.get("Message-ID"),
                    references=msg.get("References", "") + " " + msg.get("Message-ID", ""))
        channel = CHANNEL_NAMES["billing" if to_addr.startswith("billing@") else "support"]
        await self._send(channel, raw, addr, to_addr)
        self.counters.follow_ups += 1

    def _next_follow_up(self, scenario: Scenario, written: list[str]) -> str | None:
        """What the customer writes back now: a question they have not asked yet, or thanks
        (always thanks once a follow-up question was answered); nothing once done."""
        asked = [scenario.follow_up(t) for t in written[1:]]
        if any(f is not None and f.closes for f in asked) or len(asked) >= MAX_FOLLOW_UPS:
            return None
        if asked:
            return self.rng.choice(scenario.thanks).text
        fresh = [f for f in scenario.follow_ups if f.text not in written]
        return self.rng.choice(fresh).text if fresh else None

    async def colleague_turn(self) -> None:
        """One move of a simulated colleague: resolve a finished conversation, keep the open
        queue of the customer channels level (resolve an answered ticket when more arrived than
        were resolved), answer a waiting customer, or take an unassigned ticket. Chats and calls
        are left to the person trying the demo."""
        rows = [r for r in await self.store.demo_conversations(self.you[0])
                if scenario_for(r["subject"]) is not None]
        free = {e for e, a in self.agents.items() if a.seat and a.email != self.you[0]
                and a.availability == "available"}
        mine = [r for r in rows if r["agent_email"] in free]
        done = [r for r in mine if r["last_dir"] == "inbound" and r["answers"] and
                (f := _follow_up(r["subject"], r["last_in"])) and f.closes]
        if done:
            return await self._resolve(self.rng.choice(done))
        answered = [r for r in mine if r["last_dir"] == "outbound"]
        if answered and await self.store.open_ticket_count(CUSTOMER_KINDS) > self.open_at_start:
            return await self._resolve(answered[0])  # the longest-waiting one
        waiting = [r for r in mine if r["last_dir"] == "inbound"]
        if waiting:
            return await self._reply(self.rng.choice(waiting))
        unassigned = [r for r in rows if r["assignee_id"] is None]
        if unassigned and free:
            await self._take(self.rng.choice(unassigned), sorted(free))

    async def _desk(self, email_: str) -> Any:
        from engine.desk import Desk

        return Desk(self.store, self.agents[email_])

    async def _resolve(self, row: dict[str, Any]) -> None:
        desk = await self._desk(row["agent_email"])
        try:
            await desk.set_status(row["id"], "solved")
        except StoreError:
            await desk.close(row["id"])
        self.counters.resolved += 1

    async def _reply(self, row: dict[str, Any]) -> None:
        scenario = scenario_for(row["subject"])
        assert scenario is not None
        if not row["answers"]:
            text = self.rng.choice(scenario.answers)
        else:
            follow_up = scenario.follow_up(row["last_in"] or "")
            if follow_up is None or follow_up.closes:
                return  # nothing that fits: a colleague never answers off-topic
            text = self.rng.choice(follow_up.replies)
        desk = await self._desk(row["agent_email"])
        await desk.reply(row["id"], text)
        if not row["answers"] and self.rng.random() < 0.25:
            await desk.set_status(row["id"], "pending")
        if self.engine is not None:
            self.engine.outbox.wake()
        self.counters.colleague_replies += 1

    async def _take(self, row: dict[str, Any], free: list[str]) -> None:
        email_ = self.rng.choice(free)
        await (await self._desk(email_)).assign(row["id"], email_)
        self.counters.taken += 1
        await self._reply({**row, "agent_email": email_})

    async def _loop(self, mean: float, action: Any, first: float) -> None:
        """``action`` every ``mean`` seconds on average until :meth:`stop`; one in progress
        always completes (a mail is either sent and counted, or not sent)."""
        wait = first
        while not self._stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), wait)
            if self._stop.is_set():
                return
            try:
                await action()
            except Exception as exc:  # the show goes on
                if self.verbose:
                    print(f"demo: {action.__name__}: {exc}", file=sys.stderr)
            wait = self.rng.uniform(0.5, 1.5) * mean

    async def start_sink(self) -> None:
        """Start the SMTP sink on the port the seeded channels send to."""
        channel = await self.store.channel(CHANNEL_NAMES["support"])
        self.sink.port = int(channel.settings["smtp_port"])
        await self.sink.start()

    async def start(self) -> None:
        """Before traffic: the sink, the directory, and where the counting starts."""
        if self.sink._server is None:
            await self.start_sink()
        await seed_forms(self.store)  # the contact form (also in a workspace seeded before it)
        if self.meta.graph is None:
            await self.meta.start()
        await self.calls.start(self.store)
        self.agents = {a.email: a for a in await self.store.agents()}
        self.mark = await self.store.demo_marks()
        self.open_at_start = await self.store.open_ticket_count(CUSTOMER_KINDS)
        self.started = time.time()

    async def run(self) -> None:
        """Drive traffic until :meth:`stop` (the engine must be running the channels)."""
        if not self.mark:
            await self.start()
        self._loops = [
            asyncio.ensure_future(self._loop(self.interval, self.customer_mail, 0.3 * self.pace)),
            asyncio.ensure_future(self._loop(self.interval / COLLEAGUE_SPEED, self.colleague_turn,
                                             self.interval / 2)),
            asyncio.ensure_future(self._loop(self.interval * 1.5, self.chat.visit,
                                             0.5 * self.pace)),
            asyncio.ensure_future(self._loop(2.0 * self.pace, self.chat.agent_turn, self.pace)),
            asyncio.ensure_future(self._loop(self.interval * 2, self.meta.customer_message,
                                             0.5 * self.pace)),
            asyncio.ensure_future(self._loop(self.interval * 1.5, self.phone_call,
                                             0.6 * self.pace)),
            asyncio.ensure_future(self._loop(self.interval * 4, self.call_back,
                                             self.interval * 2)),
        ]
        try:
            await asyncio.gather(*self._loops)
        finally:
            for task in self._loops:
                task.cancel()

    async def stop(self, timeout: float = 10.0) -> None:  # noqa: ASYNC109
        """Stop the traffic: customers who were about to write back don't; mails on their way
        and a colleague's move in progress finish (within ``timeout``); then the sink stops."""
        self._stop.set()
        for task in list(self._follow_ups):
            task.cancel()
        pending = [*self._loops, *self._follow_ups, *self._sending]
        if pending:
            _, late = await asyncio.wait(pending, timeout=timeout)
            for task in late:
                task.cancel()
        await self.chat.stop()
        await self.sink.stop()
        await self.meta.stop()
        await self.calls.stop()

    async def drain(self, timeout: float = 10.0) -> None:  # noqa: ASYNC109
        """Wait until the outbox has sent every queued reply (bounded)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and await self.store.outbox_pending():
            if self.engine is not None:
                self.engine.outbox.wake()
            await asyncio.sleep(0.05)

    # ------------------------------------------------------------------ summary
    async def summary(self) -> dict[str, Any]:
        """What happened since :meth:`start`, counted by the store, next to what the simulator
        did: the counters add up (see docs/cli.md)."""
        seen = await self.store.demo_traffic_since(self.mark, CUSTOMER_KINDS)
        channels = seen["channels"]

        # the demo's customers write mail, fill in the contact form and message on Messenger
        # and WhatsApp; the chat's visitors (engine/demo_chat.py) are counted apart
        def total(key: str, kinds: tuple[str, ...] = CUSTOMER_KINDS) -> int:
            return sum(c[key] for c in channels.values() if c["kind"] in kinds)

        c = self.counters
        return {
            "rate_per_minute": self.rate,
            "customer_mails": {"total": c.new_conversations + c.follow_ups,
                               "new_conversations": c.new_conversations, "follow_ups": c.follow_ups},
            "received": total("received"),
            "tickets_created": total("tickets_created"), "assigned": total("assigned"),
            "unassigned": total("tickets_created") - total("assigned"),
            "follow_ups": total("follow_ups"),
            "follow_up_tickets": sorted({t for ch in channels.values() if ch["kind"] in mail_kinds()
                                        for t in ch["follow_up_tickets"]}),
            "colleagues": {"replies": c.colleague_replies, "resolved": c.resolved, "taken": c.taken},
            "replies_sent": total("replies_sent"), "replies_waiting": total("replies_waiting"),
            "replies_failed": total("replies_failed"), "notifications_sent": seen["notifications_sent"],
            "delivered_to_sandbox": len(self.sink.messages) + self.meta.replies_delivered,
            "open_tickets": {"at_start": self.open_at_start, "at_end": seen["open_tickets"]},
            "channels": channels,
            "contact_form": {"url": self.form_url(), "submissions": self.forms.sent},
            "chat": {**self.chat.summary(), "replies_sent": total("replies_sent", ("chat",)),
                     "page": await self.chat.page_url(wait=0)},
            "calls": self.calls.summary(),
        }

    async def phone_call(self) -> None:
        await self.calls.turn(self.engine, self.store)

    async def call_back(self) -> None:
        await self.calls.call_back(self.store, self.agents, self.you[0])

    def form_url(self) -> str | None:
        """The demo's contact form on the engine's front door (None: it is not serving)."""
        web = getattr(self.engine, "web", None)
        if web is None or not web.serving.is_set():
            return None
        host, port = web.address
        return f"http://{host}:{port}/f/contact"


def _follow_up(subject: str, last_in: str | None) -> Any:
    """The follow-up a customer of ``subject``'s scenario would write after ``last_in``."""
    scenario = scenario_for(subject)
    return scenario.follow_up(last_in or "") if scenario is not None else None


#: the kinds whose traffic the demo's customers make (the summary's customer counters)
CUSTOMER_KINDS = ("email", "forms", "messenger", "whatsapp")


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def demo_config() -> Any:
    """The demo engine's settings: a quick lease and outbox, and the web front door on a free
    port of its own — never 8780, which a real desk on this host may be serving."""
    from engine.config import Config, EngineConfig

    return Config(engine=EngineConfig(lease_seconds=3, outbox_interval=0.3,
                                      http_port=_free_port()))
