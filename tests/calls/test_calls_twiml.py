"""TwiML, the calling channel's answers to Twilio, read back as XML the way Twilio reads them:
which verbs, in which order, with which attributes (Twilio ignores what it does not know, so a
misspelt attribute silently changes the call) — and customer-supplied text kept as text."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from engine.channels import calls_twiml as twiml

DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>'
BASE = "https://desk.example/calls/3"


def parse(doc: str) -> ET.Element:
    """The document's root; Twilio wants the UTF-8 declaration and a ``<Response>`` root."""
    assert doc.startswith(DECLARATION)
    root = ET.fromstring(doc)
    assert root.tag == "Response"
    return root


def verbs(root: ET.Element) -> list[str]:
    return [child.tag for child in root]


def plan(**changes: object) -> twiml.DialPlan:
    fields: dict[str, object] = {
        "numbers": ["+14155550101", "+14155550102"], "action": f"{BASE}/dial?turn=1",
        "leg_callback": f"{BASE}/leg", "timeout": 20}
    fields.update(changes)
    return twiml.DialPlan(**fields)  # type: ignore[arg-type]


def test_ring_greets_then_dials_every_number_at_once() -> None:
    root = parse(twiml.ring(plan(), "  Welcome to Acme.  "))
    assert verbs(root) == ["Say", "Dial"]
    assert root[0].text == "Welcome to Acme."
    dial = root[1]
    assert dial.attrib == {"action": f"{BASE}/dial?turn=1", "method": "POST", "timeout": "20"}
    assert [n.text for n in dial] == ["+14155550101", "+14155550102"]
    for number in dial:
        assert number.tag == "Number"
        assert number.attrib == {"statusCallbackEvent": "answered completed",
                                 "statusCallback": f"{BASE}/leg",
                                 "statusCallbackMethod": "POST"}


def test_ring_adds_the_recording_notice_after_the_greeting_or_alone() -> None:
    said = parse(twiml.ring(plan(), "Welcome.", notice=True))[0]
    assert (said.tag, said.text) == ("Say", "Welcome. This call may be recorded.")
    alone = parse(twiml.ring(plan(), "   ", notice=True))[0]
    assert (alone.tag, alone.text) == ("Say", "This call may be recorded.")


def test_ring_without_greeting_or_notice_says_nothing() -> None:
    assert verbs(parse(twiml.ring(plan(), "", notice=False))) == ["Dial"]
    assert verbs(parse(twiml.ring(plan(), " \t "))) == ["Dial"]


def test_ring_with_caller_id_and_recording() -> None:
    dial = parse(twiml.ring(plan(caller_id="+14155550100", record=True,
                                 recording_callback=f"{BASE}/recording")))[0]
    assert dial.attrib == {"action": f"{BASE}/dial?turn=1", "method": "POST", "timeout": "20",
                           "callerId": "+14155550100", "record": "record-from-answer",
                           "recordingStatusCallback": f"{BASE}/recording"}
    no_callback = parse(twiml.ring(plan(record=True)))[0]
    assert no_callback.attrib["record"] == "record-from-answer"
    assert "recordingStatusCallback" not in no_callback.attrib
    not_recorded = parse(twiml.ring(plan(recording_callback=f"{BASE}/recording")))[0]
    assert "record" not in not_recorded.attrib
    assert "recordingStatusCallback" not in not_recorded.attrib


def test_ring_with_no_numbers_is_an_empty_dial() -> None:
    dial = parse(twiml.ring(plan(numbers=[])))[0]
    assert dial.tag == "Dial" and list(dial) == []


def test_voicemail_records_then_says_goodbye_only_without_a_message() -> None:
    root = parse(twiml.voicemail(twiml.VoicemailPlan(
        greeting=" Leave a message after the tone. ", action=f"{BASE}/recorded",
        transcribe_callback=f"{BASE}/transcription", recording_callback=f"{BASE}/recording",
        max_length=90)))
    assert verbs(root) == ["Say", "Record", "Say", "Hangup"]
    assert root[0].text == "Leave a message after the tone."
    assert root[1].attrib == {
        "action": f"{BASE}/recorded", "method": "POST", "maxLength": "90", "timeout": "5",
        "finishOnKey": "#", "playBeep": "true", "transcribe": "true",
        "transcribeCallback": f"{BASE}/transcription",
        "recordingStatusCallback": f"{BASE}/recording",
        "recordingStatusCallbackMethod": "POST"}
    assert root[2].text == "We did not receive a message. Goodbye."
    assert list(root[1]) == [] and list(root[3]) == []


def test_voicemail_without_greeting_starts_recording() -> None:
    root = parse(twiml.voicemail(twiml.VoicemailPlan(
        greeting="", action="a", transcribe_callback="t", recording_callback="r", max_length=5)))
    assert verbs(root) == ["Record", "Say", "Hangup"]


def test_bridge_dials_the_customer_from_the_channels_number() -> None:
    root = parse(twiml.bridge("+33612345678", "+14155550100", f"{BASE}/bridged",
                              say="Connecting you to the customer."))
    assert verbs(root) == ["Say", "Dial"]
    assert root[0].text == "Connecting you to the customer."
    dial = root[1]
    assert dial.attrib == {"callerId": "+14155550100", "action": f"{BASE}/bridged",
                           "method": "POST"}
    assert [(n.tag, n.text, n.attrib) for n in dial] == [("Number", "+33612345678", {})]
    assert verbs(parse(twiml.bridge("+33612345678", "+14155550100", "a"))) == ["Dial"]


def test_hangup_and_empty() -> None:
    root = parse(twiml.hangup("Thank you. Goodbye."))
    assert verbs(root) == ["Say", "Hangup"] and root[0].text == "Thank you. Goodbye."
    assert verbs(parse(twiml.hangup())) == ["Hangup"]
    assert twiml.empty() == DECLARATION + "<Response />"


def test_text_with_markup_stays_text() -> None:
    greeting = 'Hi <Hangup/> & "welcome"'
    doc = twiml.ring(plan(numbers=["+1<2>"]), greeting)
    root = parse(doc)
    assert verbs(root) == ["Say", "Dial"]
    assert root[0].text == greeting and root[1][0].text == "+1<2>"
    assert "<Hangup/>" not in doc
