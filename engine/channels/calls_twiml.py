"""TwiML: what the calling channel answers Twilio with — built as XML, never concatenated.

Every document is an :mod:`xml.etree.ElementTree` tree serialised with escaping, so a greeting
or a number containing ``<`` or ``&`` stays text. The shapes (Twilio Programmable Voice):

- ring agents: an optional ``<Say>`` greeting (with the recording notice when calls are
  recorded), then ``<Dial action=… timeout=…>`` with one ``<Number>`` per agent (simultaneous)
  or the next agent only (in turn: the ``action`` asks for the one after);
- voicemail: the voicemail greeting, ``<Record>`` (``maxLength`` under 120 s, ``transcribe``,
  ``transcribeCallback``, ``recordingStatusCallback``, an ``action`` answered with
  ``<Hangup/>`` so nothing loops), and a goodbye said only when nothing was recorded;
- a call-back: the agent answered, ``<Dial callerId=…>`` the customer.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass

RECORDING_NOTICE = "This call may be recorded."
NO_MESSAGE = "We did not receive a message. Goodbye."


def _doc(root: ET.Element) -> str:
    return '<?xml version="1.0" encoding="UTF-8"?>' + ET.tostring(root, encoding="unicode")


def _say(parent: ET.Element, text: str) -> None:
    if text.strip():
        ET.SubElement(parent, "Say").text = text.strip()


@dataclass(frozen=True)
class DialPlan:
    """Ringing agents: their numbers (in ring order), where the dial ends, how long it rings.

    ``leg_callback``: where each agent's leg reports ``answered`` (who took the call)."""

    numbers: Sequence[str]
    action: str
    leg_callback: str
    timeout: int
    caller_id: str | None = None
    record: bool = False
    recording_callback: str | None = None


def ring(plan: DialPlan, greeting: str = "", notice: bool = False) -> str:
    """Greeting (+ recording notice), then ``<Dial>`` the plan's numbers at once."""
    root = ET.Element("Response")
    _say(root, " ".join(t for t in (greeting.strip(), RECORDING_NOTICE if notice else "") if t))
    attrs = {"action": plan.action, "method": "POST", "timeout": str(plan.timeout)}
    if plan.caller_id:
        attrs["callerId"] = plan.caller_id
    if plan.record:
        attrs["record"] = "record-from-answer"
        if plan.recording_callback:
            attrs["recordingStatusCallback"] = plan.recording_callback
    dial = ET.SubElement(root, "Dial", attrs)
    for number in plan.numbers:
        ET.SubElement(dial, "Number", {"statusCallbackEvent": "answered completed",
                                       "statusCallback": plan.leg_callback,
                                       "statusCallbackMethod": "POST"}).text = number
    return _doc(root)


@dataclass(frozen=True)
class VoicemailPlan:
    greeting: str
    action: str
    transcribe_callback: str
    recording_callback: str
    max_length: int


def voicemail(plan: VoicemailPlan) -> str:
    """The voicemail greeting and ``<Record>``; the goodbye runs only without a recording."""
    root = ET.Element("Response")
    _say(root, plan.greeting)
    ET.SubElement(root, "Record", {
        "action": plan.action, "method": "POST", "maxLength": str(plan.max_length),
        "timeout": "5", "finishOnKey": "#", "playBeep": "true", "transcribe": "true",
        "transcribeCallback": plan.transcribe_callback,
        "recordingStatusCallback": plan.recording_callback,
        "recordingStatusCallbackMethod": "POST",
    })
    _say(root, NO_MESSAGE)
    ET.SubElement(root, "Hangup")
    return _doc(root)


def bridge(customer: str, caller_id: str, action: str, say: str = "") -> str:
    """A call-back the agent answered: connect them to the customer from the channel's number."""
    root = ET.Element("Response")
    _say(root, say)
    ET.SubElement(root, "Dial", {"callerId": caller_id, "action": action,
                                 "method": "POST"}).append(_number(customer))
    return _doc(root)


def _number(value: str) -> ET.Element:
    element = ET.Element("Number")
    element.text = value
    return element


def hangup(say: str = "") -> str:
    root = ET.Element("Response")
    _say(root, say)
    ET.SubElement(root, "Hangup")
    return _doc(root)


def empty() -> str:
    """A response that does nothing more (status callbacks, a finished dial)."""
    return _doc(ET.Element("Response"))
