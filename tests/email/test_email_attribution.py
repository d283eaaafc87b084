"""Forwarded-mail attribution end to end (issue 17, item 4): through the real forwarding
listener and through real IMAP (Dovecot), a mail an agent forwards in is credited to the
customer in the forwarded block; the same mail forwarded by a stranger is not."""

from __future__ import annotations

from pathlib import Path

import aiosmtplib

from engine.config import Config, EngineConfig
from engine.desk import ensure_first_admin
from engine.engine import Engine
from engine.models import Agent, Channel
from engine.store import TicketQuery
from tests.helpers.poll import wait_for
from tests.helpers.servers import free_port

FORWARD = (Path(__file__).parent.parent / "corpus" / "email" / "gmail_forward.eml").read_bytes()


def forwarded_by(sender: str, msgid: str, to: str = "support@acme.test") -> bytes:
    """The corpus forward of Ana's mail, sent on by ``sender`` under ``msgid``."""
    raw = FORWARD.replace(b"From: Agent Smith <agent@acme.test>", f"From: <{sender}>".encode())
    raw = raw.replace(b"<fwd-gmail-1@acme.test>", msgid.encode())
    return raw.replace(b"To: support@acme.test", f"To: {to}".encode())


async def _contacts(store) -> dict[str, str]:
    """Subject → the ticket's contact address, for every ticket."""
    tickets = await store.page_tickets(TicketQuery(view="all"), 0, 50)
    return {t.contact_email: t.subject for t in tickets}


async def test_forwarding_listener_credits_an_agents_forward_to_the_customer(db_path):
    listen = free_port()
    config = Config(engine=EngineConfig(http_port=0, lease_seconds=3))
    async with Engine(config, db_path) as engine:
        store = engine.store
        await ensure_first_admin(store, "ada@acme.test", "Ada")
        await store.add_agent(Agent(email="agent@acme.test", name="Agent Smith"))
        await store.add_channel(Channel(kind="email", name="Support", settings={
            "address": "support@acme.test", "mode": "forwarding",
            "forward_listen_port": listen}))
        assert await engine.wait_leader(5)

        async def listening():
            return (await store.channel("Support")).health.get("listening")

        await wait_for(listening)
        for sender, msgid in (("agent@acme.test", "<fwd-1@acme.test>"),
                              ("eve@stranger.test", "<fwd-2@stranger.test>")):
            await aiosmtplib.send(forwarded_by(sender, msgid), sender=sender,
                                  recipients=["support@acme.test"], hostname="127.0.0.1",
                                  port=listen)

        async def both():
            return await store.count_tickets(TicketQuery(view="all")) >= 2

        await wait_for(both)
        contacts = await _contacts(store)
    # the agent's forward is Ana's ticket, under her original subject
    assert contacts["ana@customer.test"] == "Broken order"
    # a stranger cannot make a mail look like it came from someone else
    assert contacts["eve@stranger.test"] == "Fwd: Broken order"
    assert set(contacts) == {"ana@customer.test", "eve@stranger.test"}


async def test_imap_credits_an_agents_forward_to_the_customer(db_path, mail_user):
    from engine.channels import build_adapter
    from engine.store import Store

    mail_user.append_many([
        forwarded_by("agent@acme.test", "<fwd-3@acme.test>", mail_user.address),
        forwarded_by("eve@stranger.test", "<fwd-4@stranger.test>", mail_user.address),
    ])
    async with Store(db_path) as store:
        await ensure_first_admin(store, "ada@acme.test", "Ada")
        await store.add_agent(Agent(email="agent@acme.test", name="Agent Smith"))
        ch = await store.add_channel(Channel(kind="email", name="Inbox",
                                             settings=mail_user.settings()))
        adapter = build_adapter(ch, store)
        result = await adapter.sync_once()
        assert result["fetched"] == 2 and result["tickets_created"] == 2
        contacts = await _contacts(store)
    assert contacts == {"ana@customer.test": "Broken order",
                        "eve@stranger.test": "Fwd: Broken order"}
