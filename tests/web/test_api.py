"""The tickets API through the real server: every route, every refusal (401, 403, 404, 413,
422, 429), the idempotent POST, cursor pages, and the OpenAPI document."""

from __future__ import annotations

import asyncio

import pytest

from engine.models import Channel
from engine.shapes import ticket_json
from engine.store import TicketQuery
from tests.helpers.servers import free_port
from tests.web.web_helpers import web_desk

NEW = {"subject": "Where is my order?", "from_email": "Cleo@Example.com", "from_name": "Cleo",
       "body": "Ordered last week.", "priority": "high"}


async def _create(client, **fields) -> dict:
    r = await client.post("/api/v1/tickets", json={**NEW, **fields})
    assert r.status_code == 201, r.text
    return r.json()


# ------------------------------------------------------------------------- who may call
async def test_no_token_unknown_token_and_revoked_token_are_401(desk):
    async with desk.client() as anon:
        r = await anon.get("/api/v1/tickets")
        assert r.status_code == 401
        assert r.headers["www-authenticate"].startswith("Bearer")
        assert r.json()["field"] == "Authorization"
        basic = await anon.get("/api/v1/tickets", headers={"Authorization": "Basic eDp5"})
        assert basic.status_code == 401
    async with desk.client("tkty_not-a-token") as wrong:
        r = await wrong.get("/api/v1/tickets")
        assert r.status_code == 401 and "not valid" in r.json()["error"]
    async with desk.client(desk.agent_token) as bob:
        assert (await bob.get("/api/v1/tickets")).status_code == 200
        await desk.engine.store.revoke_api_token("agent-ci")
        assert (await bob.get("/api/v1/tickets")).status_code == 401


async def test_admin_routes_refuse_an_agents_token_with_403(desk):
    async with desk.client(desk.agent_token) as bob:
        r = await bob.get("/api/v1/tokens")
        assert r.status_code == 403
        assert "for admins" in r.json()["error"]
    async with desk.client(desk.admin_token) as ada:
        r = await ada.get("/api/v1/tokens")
    assert r.status_code == 200
    assert [t["name"] for t in r.json()] == ["admin-ci", "agent-ci"]
    assert desk.admin_token not in r.text and desk.agent_token not in r.text


# ------------------------------------------------------------------------------ tickets
async def test_create_show_and_list_a_ticket_with_source_api(desk):
    async with desk.client(desk.agent_token) as bob:
        created = await _create(bob)
        assert created["source"] == "api" and created["priority"] == "high"
        assert created["contact"] == {"email": "cleo@example.com", "name": "Cleo",
                                      "id": created["contact"]["id"]}
        # the same shape as the CLI's --json (one serialiser)
        stored = await desk.engine.store.ticket(created["id"])
        assert created == ticket_json(stored)
        shown = (await bob.get(f"/api/v1/tickets/{created['id']}")).json()
        assert [m["text"] for m in shown["messages"]] == ["Ordered last week."]
        assert shown["messages"][0]["direction"] == "inbound"
        page = (await bob.get("/api/v1/tickets")).json()
        assert [t["id"] for t in page["items"]] == [created["id"]]
        assert page["next_cursor"] is None
        missing = await bob.get("/api/v1/tickets/999")
        assert missing.status_code == 404 and missing.json()["field"] == "id"
        contact = (await bob.get("/api/v1/contacts", params={"email": "CLEO@example.com"})).json()
        assert contact == {"id": created["contact"]["id"], "name": "Cleo",
                           "emails": ["cleo@example.com"], "owner": None, "tickets": 1,
                           "unverified": False}


async def test_bad_requests_are_422_naming_the_field(desk):
    async with desk.client(desk.agent_token) as bob:
        cases = [
            ({"from_email": "a@b.co"}, "subject"),
            ({**NEW, "subject": "   "}, "subject"),
            ({**NEW, "from_email": "not an address"}, "from_email"),
            ({**NEW, "priority": "whenever"}, "priority"),
            ({**NEW, "colour": "red"}, "colour"),
        ]
        for body, field in cases:
            r = await bob.post("/api/v1/tickets", json=body)
            assert r.status_code == 422, (body, r.text)
            assert r.json()["field"] == field, r.json()
            assert r.json()["error"].startswith(f"{field}: ")
        bad_json = await bob.post("/api/v1/tickets", content=b"{nope",
                                  headers={"Content-Type": "application/json"})
        assert bad_json.status_code == 422 and bad_json.json()["field"] == "body"
        for params, field in (({"status": "sleeping"}, "status"), ({"limit": "0"}, "limit"),
                              ({"assignee": "ghost@example.com"}, "assignee"),
                              ({"channel": "Nope"}, "channel"), ({"cursor": "garbage"}, "cursor"),
                              ({"view": "everything"}, "view")):
            r = await bob.get("/api/v1/tickets", params=params)
            assert r.status_code == 422 and r.json()["field"] == field, r.text
        for params in ({}, {"email": "nope"}):
            r = await bob.get("/api/v1/contacts", params=params)
            assert r.status_code == 422 and r.json()["field"] == "email", r.text
        r = await bob.get("/api/v1/contacts", params={"email": "nobody@example.com"})
        assert r.status_code == 404 and r.json()["field"] == "email"


async def test_an_idempotency_key_makes_retries_safe(desk):
    async with desk.client(desk.agent_token) as bob:
        key = {"Idempotency-Key": "order-4711"}
        first = await bob.post("/api/v1/tickets", json=NEW, headers=key)
        again = await bob.post("/api/v1/tickets", json=NEW, headers=key)
        assert first.status_code == again.status_code == 201
        assert first.json()["id"] == again.json()["id"]
        assert "idempotent-replayed" not in first.headers
        assert again.headers["idempotent-replayed"] == "true"
        other = await bob.post("/api/v1/tickets", json={**NEW, "body": "another"}, headers=key)
        assert other.status_code == 422 and other.json()["field"] == "Idempotency-Key"
        # retries racing each other: still one ticket
        racing = await asyncio.gather(*(
            bob.post("/api/v1/tickets", json=NEW, headers={"Idempotency-Key": "race"})
            for _ in range(6)))
        assert {r.status_code for r in racing} == {201}
        assert len({r.json()["id"] for r in racing}) == 1
        # keys are per agent: the admin's same key is another ticket
        async with desk.client(desk.admin_token) as ada:
            theirs = await ada.post("/api/v1/tickets", json=NEW, headers=key)
        assert theirs.json()["id"] != first.json()["id"]
        # without a key, each POST is a new ticket
        a, b = (await _create(bob)), (await _create(bob))
        assert a["id"] != b["id"]
    assert await desk.engine.store.count_tickets(TicketQuery(view="all")) == 5


async def test_cursor_pages_cover_every_ticket_once_even_while_tickets_arrive(desk):
    async with desk.client(desk.agent_token) as bob:
        ids = [(await _create(bob, subject=f"Ticket {i}"))["id"] for i in range(7)]
        seen, cursor, pages = [], None, 0
        while True:
            params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
            r = await bob.get("/api/v1/tickets", params=params)
            assert r.status_code == 200, r.text
            page = r.json()
            seen += [t["id"] for t in page["items"]]
            pages += 1
            if pages == 1:  # a ticket arriving meanwhile does not shift the pages after
                await _create(bob, subject="Newcomer")
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert pages == 3 and seen == ids[::-1]  # newest activity first, no gap, no repeat
        # the same listing as `tickets list --sort created` (filters and sort shared)
        by_created = (await bob.get("/api/v1/tickets", params={"sort": "created",
                                                                "limit": 200})).json()
        assert [t["subject"] for t in by_created["items"]][:2] == ["Newcomer", "Ticket 6"]
        # a cursor is bound to its filters
        first = (await bob.get("/api/v1/tickets", params={"limit": 2})).json()
        r = await bob.get("/api/v1/tickets", params={"limit": 2, "priority": "high",
                                                       "cursor": first["next_cursor"]})
        assert r.status_code == 422 and r.json()["field"] == "cursor"


async def test_reply_note_assign_and_status(desk, smtp_sink):
    sink, sink_port = smtp_sink
    await desk.engine.store.add_channel(Channel(kind="email", name="Support", settings={
        "address": "help@acme.test", "mode": "forwarding", "forward_listen_port": free_port(),
        "smtp_host": "127.0.0.1", "smtp_port": sink_port, "smtp_security": "none"}))
    await desk.engine.store.add_team("Billing", ["bob@example.com"])
    async with desk.client(desk.agent_token) as bob:
        t = (await _create(bob))["id"]
        reply = await bob.post(f"/api/v1/tickets/{t}/reply", json={"body": "On its way!"})
        assert reply.status_code == 202, reply.text
        assert reply.json()["state"] == "queued" and reply.json()["outbox_id"]
        # the engine's outbox sends it (woken at once, not at its next pass)
        async with asyncio.timeout(20):
            while not sink.messages:  # noqa: ASYNC110 - the sink runs on its own thread
                await asyncio.sleep(0.02)
        assert sink.messages[0][1] == ["cleo@example.com"]
        assert b"On its way!" in sink.messages[0][2]

        note = await bob.post(f"/api/v1/tickets/{t}/note", json={"body": "VIP"})
        assert note.status_code == 201 and note.json()["ticket"] == t
        shown = (await bob.get(f"/api/v1/tickets/{t}")).json()
        assert [m["direction"] for m in shown["messages"] if m["direction"] != "system"] == [
            "inbound", "outbound", "note"]
        assert shown["status"] == "pending"  # the pipeline's status after a reply

        mine = await bob.post(f"/api/v1/tickets/{t}/assign", json={"assignee": "me"})
        assert mine.status_code == 200 and mine.json()["assignee"] == "bob@example.com"
        team = await bob.post(f"/api/v1/tickets/{t}/assign", json={"team": "Billing"})
        assert (team.json()["team"], team.json()["assignee"]) == ("Billing", "bob@example.com")
        nobody = await bob.post(f"/api/v1/tickets/{t}/assign", json={"assignee": None})
        assert nobody.json()["assignee"] is None
        for body, field in (({}, "assignee"), ({"assignee": "ghost@example.com"}, "assignee"),
                            ({"team": "Nope"}, "team"), ({"assignee": "not-an-email"},
                                                         "assignee")):
            r = await bob.post(f"/api/v1/tickets/{t}/assign", json=body)
            assert r.status_code == 422 and r.json()["field"] == field, (body, r.text)

        closed = await bob.post(f"/api/v1/tickets/{t}/status", json={"status": "closed"})
        assert closed.status_code == 200 and closed.json()["is_open"] is False
        r = await bob.post(f"/api/v1/tickets/{t}/status", json={"status": "sleeping"})
        assert r.status_code == 422 and r.json()["field"] == "status"
        for verb, body in (("reply", {"body": " "}), ("note", {"body": ""}),
                           ("reply", {"body": "x", "status": "sleeping"})):
            r = await bob.post(f"/api/v1/tickets/{t}/{verb}", json=body)
            assert r.status_code == 422, r.text
        for verb, body in (("reply", {"body": "x"}), ("note", {"body": "x"}),
                           ("assign", {"assignee": "me"}), ("status", {"status": "new"})):
            r = await bob.post(f"/api/v1/tickets/999/{verb}", json=body)
            assert r.status_code == 404 and r.json()["field"] == "id"
        # every action was the token's agent's, through the desk
        shown = (await bob.get(f"/api/v1/tickets/{t}")).json()
        ours = [m for m in shown["messages"] if m["direction"] in ("outbound", "note")]
        assert {(m["author"], m["author_email"]) for m in ours} == {
            ("Bob Builder", "bob@example.com")}


async def test_body_limit_and_token_rate_limit_on_the_api(db_path):
    async with web_desk(db_path, http_ip_rate=0, http_visitor_rate=60, http_visitor_burst=2,
                        http_max_body=2048) as desk, desk.client(desk.agent_token) as bob:
        big = await bob.post("/api/v1/tickets", json={**NEW, "body": "x" * 5000})
        assert big.status_code == 413 and "2,048 bytes" in big.json()["error"]
        codes = [(await bob.get("/api/v1/tickets")).status_code for _ in range(2)]
        refused = await bob.get("/api/v1/tickets")
        assert codes == [200, 200] and refused.status_code == 429  # (the 413 came first)
        assert int(refused.headers["retry-after"]) >= 1
        assert "agent-ci" in refused.json()["error"]
        async with desk.client(desk.admin_token) as ada:  # another token, another bucket
            assert (await ada.get("/api/v1/tickets")).status_code == 200


async def test_the_openapi_document_and_docs_page(desk):
    async with desk.client() as anon:
        doc = (await anon.get("/api/v1/openapi.json")).json()
        docs = await anon.get("/api/v1/docs")
    assert docs.status_code == 200 and "/api/v1/openapi.json" in docs.text
    assert set(doc["paths"]) == {"/tickets", "/tickets/{id}", "/tickets/{id}/reply",
                                 "/tickets/{id}/note", "/tickets/{id}/assign",
                                 "/tickets/{id}/status", "/contacts", "/tokens"}
    assert doc["servers"] == [{"url": "/api/v1"}]
    assert doc["components"]["securitySchemes"]["token"]["scheme"] == "bearer"
    create = doc["paths"]["/tickets"]["post"]
    assert "Idempotency-Key" in [p["name"] for p in create["parameters"]]
    schema = doc["components"]["schemas"]
    assert set(schema["NewTicket"]["properties"]) == {"subject", "from_email", "from_name",
                                                       "body", "priority"}
    assert "TicketOut" in str(create["responses"]["201"])


@pytest.mark.parametrize("shape", ["ticket", "message", "contact", "token"])
def test_the_documented_shapes_name_exactly_the_fields_given(shape):
    """The OpenAPI models describe the CLI's --json shapes; they must not drift apart."""
    from datetime import UTC, datetime

    from engine.models import Message, Ticket
    from engine.shapes import message_json
    from engine.store.directory import contact_row_json
    from engine.store.tokens import token_row_json
    from engine.web.api import schemas

    now = datetime.now(UTC)
    row = {"id": 1, "name": "n", "unverified": 0, "owner": None, "emails": "a@b.co",
           "tickets": 0, "agent": "a@b.co", "created_at": 1.0, "created_by": None,
           "last_used_at": None, "revoked_at": None}
    given, model = {
        "ticket": lambda: (ticket_json(Ticket(
            id=1, subject="s", pipeline="p", status="new", is_open=True, priority="normal",
            created_at=now, updated_at=now, last_activity_at=now)), schemas.TicketOut),
        "message": lambda: (message_json(Message(
            id=1, ticket_id=1, direction="inbound", author_name="a", text="t",
            created_at=now)), schemas.MessageOut),
        "contact": lambda: (contact_row_json(row), schemas.ContactOut),
        "token": lambda: (token_row_json(row), schemas.TokenOut),
    }[shape]()
    assert set(given) == set(model.model_fields)
    model.model_validate(given)
