"""Inbound calls through the real front door: signatures, TwiML per state, the call's message."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import urlencode

import httpx

from engine.channels.calls_signature import signature
from tests.calls.calls_helpers import ADA_PHONE, CUSTOMER, CY_PHONE, calls_desk, until


def parse(doc: str) -> ET.Element:
    assert doc.startswith('<?xml version="1.0" encoding="UTF-8"?>')
    return ET.fromstring(doc)


async def test_unsigned_and_wrongly_signed_webhooks_are_refused_and_counted(db_path: Path) -> None:
    async with calls_desk(db_path) as calls:
        base = [("CallSid", "CA1"), ("From", CUSTOMER), ("To", "+14155550100")]
        unsigned = await calls.twilio.post(calls.url("/voice"), base, sign=False)
        wrong = await calls.twilio.post(calls.url("/voice"), base, token="not-the-token")
        tampered = await calls.twilio.post(calls.url("/voice"), base)
        assert (unsigned.status, wrong.status, tampered.status) == (403, 403, 200)

        async def counted() -> bool:
            ch = await calls.store.channel(calls.channel.id)
            return ch.health.get("rejected_signatures") == 2

        await until(counted, what="two refusals in the channel's health")
        # a signature for other parameters is wrong too
        hook = await calls.twilio.post(calls.url("/voice"), base)
        forged = hook.params + [("From", "+19999999999")]
        async with httpx.AsyncClient() as client:
            answer = await client.post(calls.url("/voice"), content=urlencode(forged), headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Twilio-Signature": signature(calls.twilio.auth_token, calls.url("/voice"),
                                                base)})
        assert answer.status_code == 403
        tickets = await calls.store.count_channel_tickets(calls.channel.id)
        assert tickets == 1  # only the signed call


async def test_open_with_agents_rings_those_with_a_phone_and_logs_who_answered(
        db_path: Path) -> None:
    async with calls_desk(db_path, greeting="Hello & welcome <to> support",
                          recording=True) as calls:
        outcome = await calls.twilio.incoming_call(
            calls.url("/voice"), CUSTOMER, answer=CY_PHONE, status_url=calls.url("/status"),
            duration=75, caller_name="Carla Customer")
        root = parse(outcome.twiml[0])
        say, dial = root.find("Say"), root.find("Dial")
        assert say is not None and say.text == \
            "Hello & welcome <to> support This call may be recorded."
        assert dial is not None and dial.get("timeout") == "20"
        assert dial.get("action", "").startswith(calls.url("/dial"))
        assert dial.get("record") == "record-from-answer"
        assert dial.get("recordingStatusCallback") == calls.url("/recording")
        # Bob has no phone: never rung; Ada and Cy at once
        assert [n.text for n in dial.findall("Number")] == [ADA_PHONE, CY_PHONE]
        calls_rows = await calls.store.ticket_calls(1)
        assert len(calls_rows) == 1
        call = calls_rows[0]
        assert (call.status, call.answered_by, call.duration) == ("completed", "Cy Caller", 75)
        messages = await calls.store.messages(call.ticket_id)
        assert messages[0].text.splitlines()[:2] == [
            f"Inbound call from {CUSTOMER} to +14155550100",
            "Status: completed · answered by Cy Caller · duration 1:15"]
        t = await calls.store.ticket(call.ticket_id)
        assert t.subject == f"Call from {CUSTOMER}" and t.contact_name == "Carla Customer"


async def test_closed_goes_to_voicemail_with_recording_and_transcript(db_path: Path) -> None:
    async with calls_desk(db_path, office_hours="mon 00:00-00:01 Pacific/Kiritimati",
                          voicemail_max_length=90) as calls:
        outcome = await calls.twilio.incoming_call(
            calls.url("/voice"), CUSTOMER, voicemail="my printer is on fire please call back",
            status_url=calls.url("/status"))
        root = parse(outcome.twiml[0])
        assert root.find("Dial") is None
        record = root.find("Record")
        assert record is not None
        assert int(record.get("maxLength", "999")) == 90 < 120
        assert record.get("transcribe") == "true"
        assert record.get("transcribeCallback") == calls.url("/transcription")
        assert record.get("recordingStatusCallback") == calls.url("/recording")
        assert record.get("action") == calls.url("/recorded")
        # the action ends the call: no loop back to the voice URL
        recorded = [h for h in calls.twilio.webhooks if h.url == calls.url("/recorded")]
        assert "<Hangup" in recorded[0].body
        assert sum(h.url == calls.url("/voice") for h in calls.twilio.webhooks) == 1
        (call,) = await calls.store.ticket_calls(1)
        assert call.voicemail and call.recording_file and call.transcript
        messages = [m for m in await calls.store.messages(1) if m.direction != "system"]
        assert len(messages) == 2
        assert "Needs a call back." in messages[0].text
        assert f"Recording (0:08): voicemail-{outcome.recording_sid}.mp3 (attached)" \
            in messages[0].text
        assert messages[0].attachments[0].size > 100
        assert messages[1].text == \
            "Voicemail transcript:\nmy printer is on fire please call back"
        assert (await calls.store.ticket(1)).subject == f"Missed call from {CUSTOMER}"
        # the recording was fetched with the account's credentials
        gets = [r for r in calls.twilio.requests if r[1].startswith("/recordings/")]
        assert len(gets) == 1


async def test_nobody_available_goes_straight_to_voicemail(db_path: Path) -> None:
    async with calls_desk(db_path) as calls:
        for agent in (calls.ada, calls.cy):
            await calls.store.update_agent(agent.email, availability="away")
        outcome = await calls.twilio.incoming_call(calls.url("/voice"), CUSTOMER,
                                                   voicemail=None)
        root = parse(outcome.twiml[0])
        assert root.find("Dial") is None and root.find("Record") is not None


async def test_in_turn_rings_one_agent_after_another_then_voicemail(db_path: Path) -> None:
    async with calls_desk(db_path, ring_strategy="in_turn", ring_timeout=9) as calls:
        outcome = await calls.twilio.incoming_call(calls.url("/voice"), CUSTOMER,
                                                   voicemail="hello")
        rung = [[n.text for n in parse(doc).iter("Number")] for doc in outcome.twiml]
        assert rung[:2] == [[ADA_PHONE], [CY_PHONE]]
        assert parse(outcome.twiml[0]).find("Say") is not None  # greeting once
        assert parse(outcome.twiml[1]).find("Say") is None
        assert parse(outcome.twiml[2]).find("Record") is not None
        assert parse(outcome.twiml[0]).find("Dial").get("timeout") == "9"


async def test_redelivered_webhooks_change_nothing_and_statuses_apply_in_order(
        db_path: Path) -> None:
    async with calls_desk(db_path) as calls:
        base = [("CallSid", "CAdup"), ("From", CUSTOMER), ("To", "+14155550100"),
                ("CallStatus", "ringing")]
        first = await calls.twilio.post(calls.url("/voice"), base)
        again = await calls.twilio.post(calls.url("/voice"), base)
        assert first.status == again.status == 200 and first.body == again.body
        assert len([m for m in await calls.store.messages(1) if m.direction != "system"]) == 1

        async def status(value: str, seq: int, duration: str = "") -> int:
            params = [("CallSid", "CAdup"), ("CallStatus", value), ("SequenceNumber", str(seq))]
            if duration:
                params.append(("CallDuration", duration))
            return (await calls.twilio.post(calls.url("/status"), params)).status

        assert await status("completed", 3, "12") == 204
        assert await status("in-progress", 1) == 204  # late: older than what is shown
        assert await status("completed", 3, "99") == 204  # redelivered: ignored
        (call,) = await calls.store.ticket_calls(1)
        assert (call.status, call.seq, call.duration) == ("completed", 3, 12)


async def test_a_second_call_joins_the_open_ticket_and_the_same_contact(db_path: Path) -> None:
    async with calls_desk(db_path) as calls:
        await calls.twilio.incoming_call(calls.url("/voice"), "+1 (415) 555-0199", answer=ADA_PHONE)
        await calls.twilio.incoming_call(calls.url("/voice"), CUSTOMER, answer=ADA_PHONE)
        rows = await calls.store.ticket_calls(1)
        assert len(rows) == 2 and {r.customer for r in rows} == {CUSTOMER}
        assert await calls.store.count_channel_tickets(calls.channel.id) == 1


async def test_a_failed_transcription_says_so(db_path: Path) -> None:
    async with calls_desk(db_path, office_hours="mon 00:00-00:01 Pacific/Kiritimati") as calls:
        await calls.twilio.incoming_call(calls.url("/voice"), CUSTOMER, voicemail="mumble",
                                         transcription_fails=True)
        messages = [m for m in await calls.store.messages(1) if m.direction != "system"]
        assert len(messages) == 1
        assert "Transcript: transcription failed" in messages[0].text



async def test_behind_a_proxy_the_url_is_rebuilt_from_public_url(db_path: Path) -> None:
    public = "https://desk.example.com"
    async with calls_desk(db_path, engine={"public_url": public}) as calls:
        public_voice = f"{public}/calls/{calls.channel.id}/voice"
        base = [("CallSid", "CAproxy"), ("From", CUSTOMER), ("To", "+14155550100")]
        # the proxy forwards https://desk.example.com/… to the engine's own address
        hook = await calls.twilio.post(calls.url("/voice"), base, signed_url=public_voice)
        assert hook.status == 200
        dial = parse(hook.body).find("Dial")
        assert dial is not None and dial.get("action", "").startswith(f"{public}/calls/")
        with_port = await calls.twilio.post(calls.url("/voice"), base,
                                            signed_url=public_voice.replace(".com/", ".com:443/"))
        assert with_port.status == 200
        elsewhere = await calls.twilio.post(calls.url("/voice"), base,
                                            signed_url="https://evil.example/calls/1/voice")
        assert elsewhere.status == 403


async def test_a_recording_over_the_size_limit_is_not_kept_and_says_so(db_path: Path) -> None:
    async with calls_desk(db_path, office_hours="mon 00:00-00:01 Pacific/Kiritimati",
                          recording_max_bytes=1000) as calls:
        calls.twilio.recording = b"\xff\xfb" * 4000
        await calls.twilio.incoming_call(calls.url("/voice"), CUSTOMER, voicemail="hello there")
        (call,) = await calls.store.ticket_calls(1)
        assert call.recording_file is None and "larger than 1000 bytes" in call.recording_error
        first = (await calls.store.messages(1))[0]
        assert first.attachments == []
        assert "Recording: the recording could not be downloaded (larger than 1000 bytes)" \
            in first.text
        assert "Transcript: hello there" in first.text  # the transcript still arrives


async def test_the_caller_is_the_same_contact_as_their_whatsapp(db_path: Path) -> None:
    from engine.models import InboundMessage

    async with calls_desk(db_path) as calls:
        # what the WhatsApp kind hands to ingest: the sender's number as a phone identity
        chat = await calls.store.ingest(InboundMessage(
            channel_id=None, key="wamid.1", sender_kind="phone", sender=CUSTOMER,
            sender_name="Carla", text="hi on WhatsApp"))
        await calls.twilio.incoming_call(calls.url("/voice"), "+1 415-555-0199",
                                         answer=ADA_PHONE)
        (call,) = await calls.store.ticket_calls(2)
        assert call.ticket_id != chat.ticket_id  # a new ticket on the calls channel …
        ours = await calls.store.ticket(call.ticket_id)
        theirs = await calls.store.ticket(chat.ticket_id)
        assert ours.contact_id == theirs.contact_id  # … for the same contact


async def test_redelivered_recording_and_transcription_callbacks_change_nothing(
        db_path: Path) -> None:
    async with calls_desk(db_path, office_hours="mon 00:00-00:01 Pacific/Kiritimati") as calls:
        await calls.twilio.incoming_call(calls.url("/voice"), CUSTOMER, voicemail="call me back")
        again = [h for h in calls.twilio.webhooks
                 if h.url in (calls.url("/recording"), calls.url("/transcription"))]
        assert len(again) == 2
        for hook in again:  # Twilio retries: the same callbacks once more
            assert (await calls.twilio.post(hook.url, hook.params)).status == 204
        messages = [m for m in await calls.store.messages(1) if m.direction != "system"]
        assert len(messages) == 2 and len(messages[0].attachments) == 1
        gets = [r for r in calls.twilio.requests if r[1].startswith("/recordings/")]
        assert len(gets) == 1  # not downloaded twice
