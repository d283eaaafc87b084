"""Call-backs: queued from a ticket, placed through the outbox against the stand-in's ``Calls``
resource (the agent's phone first, then the customer from the channel's number), logged on the
ticket, paced by the account's calls-per-second limit."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from engine.desk import Desk
from engine.store import StoreError
from tests.calls.calls_helpers import ADA_PHONE, CUSTOMER, calls_desk, until


async def test_a_call_back_rings_the_agent_then_bridges_to_the_customer(db_path: Path) -> None:
    async with calls_desk(db_path) as calls:
        await calls.twilio.incoming_call(calls.url("/voice"), CUSTOMER, voicemail="call me")
        call = await Desk(calls.store, calls.ada).call_back(1)
        assert (call.direction, call.status, call.customer) == ("outbound", "queued", CUSTOMER)
        await until(lambda: calls.twilio.calls, what="the Calls request")
        (made,) = calls.twilio.calls
        form = dict(made["params"])
        assert (form["To"], form["From"]) == (ADA_PHONE, "+14155550100")
        assert form["Url"] == calls.url(f"/bridge?call={call.id}")
        assert form["StatusCallback"] == calls.url("/status")
        assert [v for k, v in made["params"] if k == "StatusCallbackEvent"] == [
            "initiated", "ringing", "answered", "completed"]
        await calls.twilio.settled()
        dial = ET.fromstring(made["twiml"]).find("Dial")
        assert dial is not None and dial.get("callerId") == "+14155550100"
        assert [n.text for n in dial.findall("Number")] == [CUSTOMER]

        async def logged() -> bool:
            rows = [c for c in await calls.store.ticket_calls(1) if c.direction == "outbound"]
            return bool(rows) and rows[0].status == "completed" and rows[0].call_sid == made["sid"]

        await until(logged, what="the call-back completed on the ticket")
        messages = [m for m in await calls.store.messages(1) if m.direction == "outbound"]
        assert messages[0].text.startswith(f"Call back from +14155550100 to {CUSTOMER}")
        assert messages[0].agent_id == calls.ada.id
        assert messages[0].delivery_state == "sent"


async def test_a_call_back_needs_the_agents_phone_and_the_customers(db_path: Path) -> None:
    async with calls_desk(db_path) as calls:
        await calls.twilio.incoming_call(calls.url("/voice"), CUSTOMER, voicemail="x")
        with pytest.raises(StoreError, match="has no phone number to ring first"):
            await Desk(calls.store, calls.desk.agent).call_back(1)
        email_ticket = await Desk(calls.store, calls.ada).create_ticket(
            subject="Hi", from_email="ann@customer.test")
        with pytest.raises(StoreError, match="contact has no phone number"):
            await Desk(calls.store, calls.ada).call_back(email_ticket.ticket_id)


async def test_a_refused_call_fails_on_the_ticket_and_calls_are_paced(db_path: Path) -> None:
    async with calls_desk(db_path, calls_per_second=2.0) as calls:
        callers = [CUSTOMER, "+14155550198", "+14155550197"]
        for caller in callers:
            await calls.twilio.incoming_call(calls.url("/voice"), caller, voicemail="x")
        calls.twilio.answer_outbound = False
        for ticket in (1, 2, 3):
            await Desk(calls.store, calls.ada).call_back(ticket)
        await until(lambda: len(calls.twilio.calls) == 3, what="three Calls requests")
        stamps = [t for m, p, _, t in calls.twilio.timed if p.endswith("/Calls.json")]
        # 2 per second: the three requests span at least a second (arrival times carry the
        # loopback's jitter, hence the margins); unpaced, they would come within milliseconds
        assert stamps[-1] - stamps[0] >= 0.85, stamps
        assert all(b - a >= 0.25 for a, b in zip(stamps, stamps[1:], strict=False)), stamps
        calls.twilio.calls_status = 400
        await calls.twilio.incoming_call(calls.url("/voice"), "+14155550196", voicemail="x")
        call = await Desk(calls.store, calls.ada).call_back(4)

        async def failed() -> bool:
            ms = [m for m in await calls.store.messages(4) if m.id == call.message_id]
            return ms[0].delivery_state == "failed"

        await until(failed, what="the refused call-back marked failed")
        (m,) = [m for m in await calls.store.messages(4) if m.id == call.message_id]
        assert "the API refused the call (400)" in (m.delivery_error or "")
        assert "Status: failed" in m.text


async def test_one_call_back_at_a_time_per_ticket(db_path: Path) -> None:
    """A second ``V`` (or a colleague's) while the first call-back is still queued or ringing
    is refused with who placed it: the customer is never rung twice at once. Once it ended, or
    the provider refused it, a new call-back goes."""
    async with calls_desk(db_path) as calls:
        await calls.twilio.incoming_call(calls.url("/voice"), CUSTOMER, voicemail="call me")
        calls.twilio.calls_status = 400
        refused = await Desk(calls.store, calls.ada).call_back(1)

        async def failed() -> bool:
            return any(c.id == refused.id and c.status == "failed"
                       for c in await calls.store.ticket_calls(1))

        await until(failed, what="the refused call-back")
        calls.twilio.calls_status = 201
        calls.twilio.answer_outbound = False  # it stays queued/ringing until the stand-in plays
        first = await Desk(calls.store, calls.ada).call_back(1)
        with pytest.raises(StoreError, match=r"ticket #1 already has a call-back .*by Ada"):
            await Desk(calls.store, calls.ada).call_back(1)
        assert [c.id for c in await calls.store.ticket_calls(1)
                if c.direction == "outbound"].count(first.id) == 1
        assert len([c for c in await calls.store.ticket_calls(1)
                    if c.direction == "outbound"]) == 2
