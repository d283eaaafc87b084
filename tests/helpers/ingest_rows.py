"""Reading and writing the rows of a real store in the ingest tests
(tests/core/test_ingest_branches.py, tests/core/test_ingest_routing.py)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from engine.models import Channel, InboundMessage, RoutingRule, TicketDefaults

T0 = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)  # a fixed received time, days before "now"


async def channel(store, name="Support", settings=None, defaults=None, **routing) -> Channel:
    return await store.add_channel(Channel(
        kind="email", name=name, settings=settings or {"address": "help@acme.test"},
        defaults=defaults or TicketDefaults(status="open", priority="high"),
        routing=RoutingRule(**routing) if routing else RoutingRule(),
    ))


def msg(channel_id, key, sender="bob@example.com", **kw) -> InboundMessage:
    kw.setdefault("subject", "Printer on fire")
    kw.setdefault("text", "It is burning")
    return InboundMessage(channel_id=channel_id, key=key, sender=sender, **kw)


async def rows(store, sql: str, *params: Any) -> list[dict[str, Any]]:
    return await store.read(lambda c: [dict(r) for r in c.execute(sql, params).fetchall()])


async def row(store, sql: str, *params: Any) -> dict[str, Any]:
    found = await rows(store, sql, *params)
    assert len(found) == 1, found
    return found[0]


async def events(store, kind: str) -> list[tuple[int | None, dict[str, Any]]]:
    return [(r["ticket_id"], json.loads(r["data"])) for r in
            await rows(store, "SELECT ticket_id, data FROM events WHERE kind=? ORDER BY id", kind)]


async def event_at(store, kind: str, ticket_id: int) -> float:
    return (await rows(store, "SELECT at FROM events WHERE kind=? AND ticket_id=? ORDER BY id"
                       " DESC LIMIT 1", kind, ticket_id))[0]["at"]


async def sql(store, statement: str, *params: Any) -> None:
    await store.write(lambda tx: tx.execute(statement, params))
