"""Fixtures of the admin TUI tests: a small seeded directory (fixed times), copied per test."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.helpers.admin import BASE, NOW
from tests.helpers.seeding import copy_db


async def seed(path: Path, *, channels: bool = True) -> None:
    from engine.desk import ensure_first_admin
    from engine.ingest import ingest
    from engine.models import Agent, Channel, InboundMessage
    from engine.store import Store

    async with Store(path) as store:
        await ensure_first_admin(store, "ada@example.com", "Ada Admin")
        await store.add_agent(Agent(email="bob@example.com", name="Bob Builder"))
        await store.add_agent(Agent(email="carl@example.com", name="Carl Seatless", seat=False))
        await store.add_team("Billing", ["bob@example.com"])
        await store.add_canned("Refund policy", "Refunds take 5 to 7 business days.")
        if not channels:
            return
        ok = await store.add_channel(Channel(kind="email", name="support", settings={
            "address": "support@example.com", "mode": "forwarding", "forward_listen_port": 2525,
            "company_name": "Example"}))
        await store.set_channel_health(ok.id, connected=True, listening="127.0.0.1:2525",
                                       last_sync_at=(NOW.timestamp() - 300))
        bad = await store.add_channel(Channel(kind="email", name="sales", settings={
            "address": "sales@example.com", "imap_host": "imap.example.com"}))
        await store.set_channel_health(bad.id, connected=False,
                                       last_sync_at=NOW.timestamp() - 7200,
                                       last_error="IMAP: login failed: [AUTHENTICATIONFAILED]",
                                       last_error_at=NOW.timestamp() - 60)
        off = await store.add_channel(Channel(kind="email", name="old", enabled=False, settings={
            "address": "old@example.com", "imap_host": "imap.example.com"}))
        del off
        for i in range(3):
            await ingest(store, InboundMessage(
                channel_id=ok.id, key=f"seed-{i}", sender="jane@example.org", sender_name="Jane",
                subject=f"Question {i}", text="Hello", received_at=BASE))


@pytest.fixture(scope="session")
def admin_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("tui-admin") / "admin.db"
    asyncio.run(seed(path))
    return path


@pytest.fixture(scope="session")
def bare_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("tui-admin-bare") / "bare.db"
    asyncio.run(seed(path, channels=False))
    return path


@pytest.fixture
def admin_db(admin_template: Path, tmp_path: Path) -> Path:
    """Admin Ada, agents Bob (team Billing) and seatless Carl; channels support (healthy
    forwarding), sales (failing IMAP) and old (disabled)."""
    return copy_db(admin_template, tmp_path)


@pytest.fixture
def bare_db(bare_template: Path, tmp_path: Path) -> Path:
    """The same directory without channels."""
    return copy_db(bare_template, tmp_path)
