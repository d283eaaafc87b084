"""``ticketty demo``: a believable help desk with live traffic through the real inbound paths.

The world: a company (Northwind Bikes) with agents of every kind (admins, agents, one without
a seat, one away, one with working hours — and you), teams, pipelines, canned replies, contacts
with owners, a few hundred past tickets, and every channel kind that exists, connected.

The traffic: customers write real SMTP mail to the email channels' forwarding listeners;
simulated colleagues answer the tickets routed to them; their replies (and yours) leave
through the outbox over real SMTP to a local sink, and customers answer some of them —
threading back by In-Reply-To. Nothing here shortcuts the pipeline: what arrives in the queue
came through the same code as production mail.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import email.utils
import json
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.policy import compat32
from pathlib import Path
from typing import Any

from engine.models import (
    Agent,
    Channel,
    InboundMessage,
    Pipeline,
    Role,
    RoutingMode,
    RoutingRule,
    Source,
    Status,
    Strategy,
    TicketDefaults,
    WorkingHours,
)
from engine.sandbox.smtp_sink import Delivered, SmtpSink

COMPANY = "Northwind Bikes"
DOMAIN = "northwind.test"

COLLEAGUES = [
    dict(email=f"maya@{DOMAIN}", name="Maya Chen", role=Role.admin, skills=["billing", "fr"]),
    dict(email=f"omar@{DOMAIN}", name="Omar Haddad", skills=["repairs", "ar"]),
    dict(email=f"lena@{DOMAIN}", name="Lena Fischer", skills=["repairs", "de"], availability="away"),
    dict(email=f"diego@{DOMAIN}", name="Diego Alvarez", skills=["billing", "es"]),
    dict(email=f"priya@{DOMAIN}", name="Priya Nair", skills=["repairs"],
         working_hours=WorkingHours(days=[1, 2, 3, 4, 5], start="08:00", end="20:00")),
    dict(email=f"sam@{DOMAIN}", name="Sam Park", seat=False),
]

CUSTOMERS = [
    ("Ana Souza", "ana.souza@example.com"), ("Ben Okafor", "ben.okafor@example.org"),
    ("Chloé Martin", "chloe.martin@example.fr"), ("Dmitri Ivanov", "dmitri@example.net"),
    ("Emma Larsen", "emma.larsen@example.com"), ("Farah Khan", "farah.k@example.co.uk"),
    ("Gustavo Lima", "gustavo@example.com.br"), ("Hana Sato", "hana.sato@example.jp"),
    ("Isaac Cohen", "isaac.cohen@example.com"), ("Julia Nowak", "julia.nowak@example.pl"),
    ("Kwame Mensah", "kwame@example.com"), ("Laura Rossi", "laura.rossi@example.it"),
    ("Mateo García", "mateo.garcia@example.es"), ("Nora Berg", "nora.berg@example.no"),
    ("Oliver Smith", "oliver@example.com"), ("Paula Costa", "paula.costa@example.pt"),
    ("Quinn Taylor", "quinn@example.com"), ("Rosa Jiménez", "rosa.j@example.mx"),
    ("Stefan Müller", "stefan.mueller@example.de"), ("Tara Singh", "tara.singh@example.in"),
]

SUPPORT_TOPICS = [
    ("Brake squeal after service", "Since the last service my rear brake squeals at every stop."),
    ("Gears skipping on the Trail 29", "The chain skips on the two largest cogs, mostly uphill."),
    ("E-bike battery not charging", "The charger light stays green and the battery stays at 20%."),
    ("Where is my order?", "I ordered a helmet last week and the tracking has not moved."),
    ("Wrong size frame delivered", "I ordered an M frame but received an L. How do I swap it?"),
    ("Warranty claim for cracked rim", "The front rim cracked after three months of commuting."),
    ("Flat tyres every week", "I keep getting flats on the commuter. Are the tubes faulty?"),
    ("Can I book a fitting?", "I'd like a bike fitting before buying the Road Pro."),
    ("App won't pair with my e-bike", "The Northwind app can't find my bike over Bluetooth."),
    ("Headset creaks when braking", "There's a creak from the front when I brake hard."),
]
BILLING_TOPICS = [
    ("Charged twice for order", "My card shows two charges for the same order."),
    ("Invoice with VAT number", "Could you reissue my invoice with our company VAT number?"),
    ("Refund not received", "I returned the pedals two weeks ago but have no refund yet."),
    ("Change billing address", "We moved; please update the billing address on our account."),
    ("Monthly plan cancellation", "Please cancel my service plan at the end of this month."),
]
FOLLOW_UPS = [
    "Thanks! That helped, but I still have a question: how long will it take?",
    "I tried that and it did not work, unfortunately. Any other ideas?",
    "Great, thank you so much for the quick answer.",
    "Here's a photo description: the crack is about 2 cm long near the valve.",
    "Could you call me instead? It is easier to explain by phone.",
]
CANNED = [
    ("Greeting", "Hi there,\n\nThanks for reaching out to Northwind Bikes — {first_name} here. "),
    ("Brake check", "Could you tell us when the bike was last serviced? Squeal after a service is "
                    "usually contaminated pads; we can clean or replace them for free."),
    ("Shipping delay", "Sorry for the wait! Our warehouse is catching up after the holidays; your "
                       "parcel will ship within two working days."),
    ("Refund timing", "Refunds reach your card 5–10 working days after we receive the return."),
    ("Sign-off", "Best regards,\n{full_name}\nNorthwind Bikes support"),
]
AGENT_REPLIES = [
    "Thanks for the details! I've booked your bike in for a free check this week.",
    "Sorry about that. I've arranged a replacement; you'll get a shipping label by email.",
    "Could you send us the order number so I can look into it?",
    "Good news: the refund was issued today and should reach your card within a few days.",
    "That sounds like a firmware issue. Please update the app and try pairing again.",
]


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


class DemoWorld:
    """Seeds the workspace and drives the simulated traffic. ``pace`` < 1 is faster."""

    def __init__(self, store: Any, you: tuple[str, str], *, engine: Any = None, seed: int = 7,
                 pace: float = 1.0, past_tickets: int = 300):
        self.engine = engine
        self.store = store
        self.you = you
        self.rng = random.Random(seed)
        self.pace = pace
        self.past_tickets = past_tickets
        self.sink = SmtpSink(on_message=self._on_delivered)
        self.started = time.time()
        self.sent_by_us = 0
        self.customer_mails = 0
        self.follow_ups = 0
        self.channel_ids: dict[str, int] = {}
        self._tasks: list[asyncio.Task[Any]] = []

    # ------------------------------------------------------------------ seeding
    async def seed(self) -> None:
        from engine.desk import ensure_first_admin

        store = self.store
        self.sink.port = _free_port()
        you = await ensure_first_admin(store, *self.you)
        agents = {you.email: you}
        for spec in COLLEAGUES:
            agent = await store.agent(spec["email"]) or await store.add_agent(Agent(**spec))
            agents[agent.email] = agent
        self.agents = agents
        repairs = await store.add_team("Repairs", [f"omar@{DOMAIN}", f"lena@{DOMAIN}",
                                                   f"priya@{DOMAIN}", you.email])
        billing = await store.add_team("Billing", [f"maya@{DOMAIN}", f"diego@{DOMAIN}"])
        await store.add_pipeline(Pipeline(name="Sales", statuses=[
            Status(name="lead"), Status(name="quoted"), Status(name="won", closed=True),
            Status(name="lost", closed=True)]))
        for title, body in CANNED:
            await store.add_canned(title, body)
        sink_settings = {"smtp_host": "127.0.0.1", "smtp_port": self.sink.port, "smtp_security": "none",
                         "company_name": COMPANY, "mode": "forwarding", "forward_listen_port": 0,
                         "signature": "{full_name}\nNorthwind Bikes — we keep you rolling"}
        support = await store.add_channel(Channel(
            kind="email", name="Support email", settings={"address": f"support@{DOMAIN}", **sink_settings},
            defaults=TicketDefaults(status="new", priority="normal"),
            routing=RoutingRule(mode=RoutingMode.users_teams, team_ids=[repairs.id],
                                strategy=Strategy.round_robin)))
        billing_ch = await store.add_channel(Channel(
            kind="email", name="Billing email", settings={"address": f"billing@{DOMAIN}", **sink_settings,
                                                          "from_name_mode": "company"},
            defaults=TicketDefaults(status="open", priority="high"),
            routing=RoutingRule(mode=RoutingMode.contact_owner)))
        self.channel_ids = {"Support email": support.id, "Billing email": billing_ch.id}
        self.teams = {"Repairs": repairs.id, "Billing": billing.id}
        await self._seed_history()

    async def _seed_history(self) -> None:
        """A few hundred past tickets across channels, some answered, many closed."""
        from engine.ingest import ingest_many
        from engine.store.tickets import add_message, assign

        now = datetime.now(UTC)
        msgs: list[InboundMessage] = []
        for i in range(self.past_tickets):
            billing = i % 4 == 0
            name, addr = self.rng.choice(CUSTOMERS)
            subject, body = self.rng.choice(BILLING_TOPICS if billing else SUPPORT_TOPICS)
            when = now - timedelta(minutes=self.rng.randint(30, 60 * 24 * 45))
            status = self.rng.choices(["closed", "solved", "open", "pending", "new"], [50, 15, 15, 10, 10])[0]
            msgs.append(InboundMessage(
                channel_id=self.channel_ids["Billing email" if billing else "Support email"],
                key=f"<history-{i}@{addr.split('@')[1]}>", sender=addr, sender_name=name,
                subject=subject, text=body, received_at=when, import_status=status,
                source=Source.channel,
                extra={"priority": self.rng.choices(["low", "normal", "high", "urgent"], [2, 6, 3, 1])[0]},
            ))
        msgs.sort(key=lambda m: m.received_at)
        results = await ingest_many(self.store, msgs)
        seated = [a for a in self.agents.values() if a.seat]

        def finish(tx: Any) -> None:
            for msg, res in zip(msgs, results, strict=True):
                if res.ticket_id is None or self.rng.random() < 0.2:
                    continue
                agent = self.rng.choice(seated)
                assign(tx, res.ticket_id, agent.id, reason="seeded history")
                if msg.import_status in ("closed", "solved", "pending") or self.rng.random() < 0.3:
                    at = msg.received_at.timestamp() + self.rng.randint(300, 86400)
                    add_message(tx, res.ticket_id, direction="outbound", text=self.rng.choice(AGENT_REPLIES),
                                author_name=agent.name, author_email=agent.email, agent_id=agent.id,
                                channel_id=msg.channel_id, delivery_state="sent",
                                at=min(at, time.time() - 60))
                tx.execute("UPDATE tickets SET unread=0 WHERE id=?", (res.ticket_id,))
            # a few customers have an owner (the billing channel routes to the owner)
            owners = [a.id for a in seated]
            for row in tx.all("SELECT id FROM contacts ORDER BY id LIMIT 12"):
                tx.execute("UPDATE contacts SET owner_id=? WHERE id=?", (self.rng.choice(owners), row[0]))

        await self.store.write(finish)

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
        billing = self.rng.random() < 0.3
        name, addr = self.rng.choice(CUSTOMERS)
        if self.rng.random() < 0.35:  # a brand-new customer
            n = self.rng.randint(100, 999)
            name, addr = f"New Customer {n}", f"customer{n}@example.com"
        subject, body = self.rng.choice(BILLING_TOPICS if billing else SUPPORT_TOPICS)
        channel = "Billing email" if billing else "Support email"
        to = f"{'billing' if billing else 'support'}@{DOMAIN}"
        await self._send(channel, _mail((name, addr), to, subject, body), addr, to)
        self.customer_mails += 1

    async def _on_delivered(self, item: Delivered) -> None:
        """A reply reached a customer: some of them answer back, threading by In-Reply-To."""
        try:
            await self._answer(item)
        except Exception as exc:  # noqa: BLE001 - a simulated customer never crashes the demo
            if self.verbose:
                print(f"demo: customer follow-up failed: {exc}", file=sys.stderr)

    async def _answer(self, item: Delivered) -> None:
        import email as email_lib

        msg = email_lib.message_from_bytes(item.raw, policy=compat32)
        if msg.get("Auto-Submitted", "no").lower() != "no" or self.rng.random() > 0.5:
            return
        await asyncio.sleep(self.rng.uniform(2, 6) * self.pace)
        to_addr = email.utils.parseaddr(msg.get("From", ""))[1]
        customer = email.utils.parseaddr(item.rcpt_tos[0] if item.rcpt_tos else "")[1]
        name = next((n for n, a in CUSTOMERS if a == customer), customer.split("@")[0])
        subject = msg.get("Subject", "")
        raw = _mail((name, customer), to_addr, subject if subject.lower().startswith("re:") else f"Re: {subject}",
                    self.rng.choice(FOLLOW_UPS), in_reply_to=msg.get("Message-ID"),
                    references=msg.get("References", "") + " " + msg.get("Message-ID", ""))
        channel = "Billing email" if to_addr.startswith("billing@") else "Support email"
        await self._send(channel, raw, customer, to_addr)
        self.follow_ups += 1

    async def colleague_reply(self) -> None:
        """A simulated colleague answers one of their waiting tickets."""
        from engine.desk import Desk

        def pick(c: Any) -> Any:
            return c.execute(
                "SELECT t.id, a.email FROM tickets t JOIN agents a ON a.id = t.assignee_id"
                " WHERE t.is_open=1 AND a.email != ? AND a.availability='available' AND"
                " (SELECT direction FROM messages m WHERE m.ticket_id=t.id AND m.direction IN"
                "  ('inbound','outbound') ORDER BY m.created_at DESC, m.id DESC LIMIT 1)='inbound'"
                " AND t.activity_at > ? ORDER BY random() LIMIT 1", (self.you[0], self.started - 5)
            ).fetchone()

        row = await self.store.read(pick)
        if row is None:
            return
        agent = await self.store.agent(row[1])
        desk = Desk(self.store, agent)
        await desk.reply(row[0], self.rng.choice(AGENT_REPLIES))
        if self.rng.random() < 0.3:
            await desk.set_status(row[0], "pending")
        if self.engine is not None:
            self.engine.outbox.wake()
        self.sent_by_us += 1

    async def _loop(self, every: tuple[float, float], action: Any, first: float = 0.0) -> None:
        await asyncio.sleep(first * self.pace)
        while True:
            try:
                await action()
            except Exception as exc:  # noqa: BLE001 - the show goes on
                if self.verbose:
                    print(f"demo: {action.__name__}: {exc}", file=sys.stderr)
            await asyncio.sleep(self.rng.uniform(*every) * self.pace)

    verbose = False

    async def start_sink(self) -> None:
        """Start the SMTP sink on the port the seeded channels send to."""
        channel = await self.store.channel("Support email")
        self.sink.port = int(channel.settings["smtp_port"])
        self.agents = {a.email: a for a in await self.store.agents()}
        await self.sink.start()

    async def run(self) -> None:
        """Drive traffic until cancelled (the engine must be running the channels)."""
        if self.sink._server is None:
            await self.start_sink()
        loops = [
            self._loop((1.5, 4.0), self.customer_mail, first=0.5),
            self._loop((2.5, 6.0), self.colleague_reply, first=3.0),
        ]
        await asyncio.gather(*loops)

    async def stop(self) -> None:
        await self.sink.stop()

    # ------------------------------------------------------------------ summary
    async def summary(self) -> dict[str, Any]:
        since = self.started

        def q(c: Any) -> dict[str, Any]:
            created = c.execute("SELECT count(*), count(assignee_id) FROM tickets WHERE created_at >= ?",
                                (since,)).fetchone()
            sent = c.execute("SELECT count(*) FROM outbox WHERE state='sent' AND sent_at >= ?",
                             (since,)).fetchone()[0]
            per: dict[str, Any] = {}
            for ch in c.execute("SELECT id, name, kind FROM channels WHERE removed=0"):
                received = c.execute(
                    "SELECT count(*) FROM messages WHERE channel_id=? AND direction='inbound'"
                    " AND created_at >= ?", (ch["id"], since - 60)).fetchone()[0]
                out = c.execute("SELECT count(*) FROM outbox WHERE channel_id=? AND state='sent'"
                                " AND sent_at >= ?", (ch["id"], since)).fetchone()[0]
                per[ch["name"]] = {"kind": ch["kind"], "received": received, "sent": out}
            return {"tickets_created": created[0], "assigned": created[1],
                    "unassigned": created[0] - created[1], "replies_sent": sent, "channels": per}

        data = await self.store.read(q)
        data["customer_mails"] = self.customer_mails
        data["customer_follow_ups"] = self.follow_ups
        data["delivered_to_sandbox"] = len(self.sink.messages)
        return data


async def run_headless(db: Path, seconds: float, you: tuple[str, str], pace: float = 1.0) -> dict:
    from engine.config import Config, EngineConfig
    from engine.engine import Engine

    config = Config(engine=EngineConfig(lease_seconds=3, outbox_interval=0.3))
    world = DemoWorld(None, you, pace=pace)
    await seed_workspace(db, world)
    async with Engine(config, db) as engine:
        world.engine, world.store = engine, engine.store
        await engine.wait_leader(10)
        world.started = time.time()
        task = asyncio.ensure_future(world.run())
        try:
            await asyncio.sleep(seconds)
            await asyncio.sleep(0.5)  # let in-flight deliveries land
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            summary = await world.summary()
            await world.stop()
    summary["seconds"] = seconds
    summary["db"] = str(db)
    return summary


async def seed_workspace(db: Path, world: DemoWorld) -> None:
    """Seed a fresh demo database (a store alone: no channel runs while seeding)."""
    from engine.store import Store

    async with Store(db) as store:
        world.store = store
        if await store.get_setting("demo.seeded"):
            return  # an existing demo workspace (--db): keep it, just drive traffic again
        await world.seed()
        await store.set_setting("demo.seeded", True)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def demo_db(args: argparse.Namespace) -> Path:
    """The demo never uses the user's real database: a fresh temp file unless --db is given."""
    explicit = getattr(args, "demo_db", None) or getattr(args, "db", None)
    if explicit:
        return Path(explicit).expanduser()
    return Path(tempfile.mkdtemp(prefix="ticketty-demo-")) / "demo.db"


def run_demo_cli(args: argparse.Namespace) -> int:
    from engine.identity import os_user

    db = demo_db(args)
    user = os_user()
    you = (user.default_email, user.name)
    if args.headless:
        summary = asyncio.run(run_headless(db, args.seconds, you))
        print(json.dumps(summary, indent=2))
        return 0
    from tui.demo import run_demo_tui

    return run_demo_tui(args, db, you)
