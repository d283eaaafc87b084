"""Seeding the demo's workspace: the directory, two email channels and a few hundred past
conversations — and the rule that the demo seeds only a fresh file and reuses only its own.

The demo marks its workspace in the store (``demo.workspace`` when seeding starts,
``demo.seeded`` when it is done); :func:`check_workspace` reads the file before anything opens
it, so a database holding a real help desk (or not a ticketty database at all) is refused
untouched.
"""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.demo_data import (
    CANNED,
    CHANNEL_NAMES,
    COLLEAGUES,
    COMPANY,
    DOMAIN,
    SCENARIOS,
    Scenario,
)
from engine.models import (
    Agent,
    Channel,
    InboundMessage,
    Pipeline,
    RoutingMode,
    RoutingRule,
    Source,
    Status,
    Strategy,
    TicketDefaults,
)
from engine.store import StoreError
from engine.store import demo as D

if TYPE_CHECKING:
    from engine.demo import DemoWorld


def check_workspace(db: Path) -> str:
    """The kind of workspace at ``db`` (``new`` or ``demo``); raises if the demo must not
    touch it."""
    kind = D.workspace_kind(db)
    if kind == "workspace":
        raise StoreError(f"{db} holds a help desk that is not a demo; the demo never touches it"
                         " (run `ticketty demo` without --db for a temporary workspace, or give"
                         " a new file)")
    if kind == "foreign":
        raise StoreError(f"{db} is not a ticketty database; the demo leaves it alone")
    return kind


async def seed_workspace(db: Path, world: DemoWorld) -> None:
    """Seed a fresh demo database, or reuse one the demo made (a store alone: no channel runs
    while seeding). Anything else is refused before the file is opened."""
    from engine.store import Store

    check_workspace(db)
    async with Store(db) as store:
        world.store = store
        if await store.get_setting(D.DEMO_SEEDED):
            return  # an existing demo workspace (--db): keep it, just drive traffic again
        if await store.get_setting(D.DEMO_MARK):
            raise StoreError(f"{db} is a demo workspace whose seeding was interrupted; remove it")
        await store.set_setting(D.DEMO_MARK, True)
        await world.seed()
        await store.set_setting(D.DEMO_SEEDED, True)


async def seed_world(store: Any, you: tuple[str, str], sink_port: int, rng: random.Random,
                     customers: list[tuple[str, str]], past_tickets: int) -> dict[str, Agent]:
    """Agents, teams, a pipeline, canned replies, the two email channels (sending to the
    sandbox on ``sink_port``) and the history; returns the agents by email."""
    from engine.desk import ensure_first_admin

    me = await ensure_first_admin(store, *you)
    agents = {me.email: me}
    for spec in COLLEAGUES:
        agent = await store.agent(spec["email"]) or await store.add_agent(Agent(**spec))
        agents[agent.email] = agent
    repairs = await store.add_team("Repairs", [f"omar@{DOMAIN}", f"lena@{DOMAIN}",
                                               f"priya@{DOMAIN}", me.email])
    await store.add_team("Billing", [f"maya@{DOMAIN}", f"diego@{DOMAIN}"])
    await store.add_pipeline(Pipeline(name="Sales", statuses=[
        Status(name="lead"), Status(name="quoted"), Status(name="won", closed=True),
        Status(name="lost", closed=True)]))
    for title, body in CANNED:
        await store.add_canned(title, body)
    sink_settings = {"smtp_host": "127.0.0.1", "smtp_port": sink_port, "smtp_security": "none",
                     "company_name": COMPANY, "mode": "forwarding", "forward_listen_port": 0,
                     "signature": "{full_name}\nNorthwind Bikes — we keep you rolling"}
    await store.add_channel(Channel(
        kind="email", name=CHANNEL_NAMES["support"],
        settings={"address": f"support@{DOMAIN}", **sink_settings},
        defaults=TicketDefaults(status="new", priority="normal"),
        routing=RoutingRule(mode=RoutingMode.users_teams, team_ids=[repairs.id],
                            strategy=Strategy.round_robin)))
    await store.add_channel(Channel(
        kind="email", name=CHANNEL_NAMES["billing"],
        settings={"address": f"billing@{DOMAIN}", **sink_settings, "from_name_mode": "company"},
        defaults=TicketDefaults(status="open", priority="high"),
        routing=RoutingRule(mode=RoutingMode.contact_owner)))
    from engine.demo_chat import seed_chat

    await seed_chat(store, repairs.id)
    await _seed_history(store, rng, customers, past_tickets, [a for a in agents.values() if a.seat])
    return agents


async def _seed_history(store: Any, rng: random.Random, customers: list[tuple[str, str]],
                        count: int, seated: list[Agent]) -> None:
    """``count`` past conversations, most answered, many closed — each one a scenario."""
    from engine.ingest import ingest_many

    channels = {k: (await store.channel(name)).id for k, name in CHANNEL_NAMES.items()}
    now = datetime.now(UTC)
    msgs: list[InboundMessage] = []
    picks: list[Scenario] = []
    for i in range(count):
        scenario = rng.choice(SCENARIOS)
        name, addr = rng.choice(customers)
        when = now - timedelta(minutes=rng.randint(30, 60 * 24 * 45))
        status = rng.choices(["closed", "solved", "open", "pending", "new"], [50, 15, 15, 10, 10])[0]
        picks.append(scenario)
        msgs.append(InboundMessage(
            channel_id=channels[scenario.channel],
            key=f"<history-{i}@{addr.split('@')[1]}>", sender=addr, sender_name=name,
            subject=scenario.subject, text=scenario.question, received_at=when,
            import_status=status, source=Source.channel,
            extra={"priority": rng.choices(["low", "normal", "high", "urgent"], [2, 6, 3, 1])[0]},
        ))
    order = sorted(range(len(msgs)), key=lambda n: msgs[n].received_at)
    msgs, picks = [msgs[n] for n in order], [picks[n] for n in order]
    results = await ingest_many(store, msgs)
    threads = []
    for msg, scenario, res in zip(msgs, picks, results, strict=True):
        if res.ticket_id is None or rng.random() < 0.2:
            continue  # a fifth stays unassigned and unanswered
        threads.append((res.ticket_id, rng.choice(seated), msg.channel_id,
                        _past_steps(rng, scenario, msg)))
    await store.seed_demo_history(threads, [a.id for a in seated], 12, rng.choice)


def _past_steps(rng: random.Random, scenario: Scenario, msg: InboundMessage
                ) -> list[tuple[str, str, float]]:
    """What happened on a seeded ticket after the question, fitting its status: an answer,
    then thanks on a closed one or a follow-up question on an open one (now waiting)."""
    status = msg.import_status
    at = msg.received_at.timestamp()
    latest = time.time() - 60

    def later() -> float:
        nonlocal at
        at = min(at + rng.randint(300, 86400), latest)
        return at

    if status not in ("closed", "solved", "pending") and rng.random() >= 0.3:
        return []
    steps = [("outbound", rng.choice(scenario.answers), later())]
    if status in ("closed", "solved") and rng.random() < 0.5:
        steps.append(("inbound", rng.choice(scenario.thanks).text, later()))
    elif status in ("open", "new") and rng.random() < 0.5:
        steps.append(("inbound", rng.choice(scenario.questions).text, later()))
    return steps
