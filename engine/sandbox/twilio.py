"""A local stand-in for Twilio Programmable Voice (tests, the demo, trying the calls channel).

It speaks the documented REST contract over real HTTP, so the calling channel reaches it only
through its ``api_base_url`` setting:

- ``GET /2010-04-01/Accounts/{Sid}.json`` — the account (401 with wrong credentials);
- ``GET …/IncomingPhoneNumbers.json?PhoneNumber=…`` — the account's numbers;
- ``POST …/Calls.json`` — an outbound call (``201`` with ``sid``, ``status``); with
  ``answer_outbound`` it then plays the call: status events, the ``Url`` TwiML (a call-back's
  ``<Dial>`` the customer) and its ``action``;
- ``GET /recordings/{RecordingSid}.mp3`` — a fake recording (credentials required).

It also plays the phone network's side of inbound calls with correctly signed webhooks
(:meth:`TwilioStandIn.incoming_call`): the caller rings the number's voice URL, the stand-in
follows the TwiML — an agent answers (or nobody does), the caller leaves a voicemail with a
transcript — and posts each callback with ``X-Twilio-Signature`` and ``SequenceNumber`` as
Twilio does. Every request it receives is kept in ``requests``; every webhook it sent and the
answer in ``webhooks``.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import secrets
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode

from engine.channels.calls_signature import signature
from engine.httpclient import httpx
from engine.sandbox.stream_server import StreamStandIn, answer, read_request

#: the bytes of every fake recording (an MP3 frame header, then silence)
FAKE_MP3 = b"ID3\x03\x00\x00\x00\x00\x00\x00" + b"\xff\xfb\x90\x00" + bytes(400)


@dataclass
class Webhook:
    url: str
    params: list[tuple[str, str]]
    status: int
    body: str


@dataclass
class Outcome:
    """What happened to a simulated inbound call."""

    call_sid: str
    answered_by: str | None = None
    voicemail: bool = False
    recording_sid: str | None = None
    twiml: list[str] = field(default_factory=list)


@dataclass
class TwilioStandIn(StreamStandIn):
    """One account with one number. ``start()`` binds; ``api_base_url`` is then known."""

    account_sid: str = "AC" + "0" * 31 + "1"
    auth_token: str = "stand-in-auth-token"
    numbers: tuple[str, ...] = ("+14155550100",)
    host: str = "127.0.0.1"
    port: int = 0
    answer_outbound: bool = True
    #: HTTP status the ``Calls`` resource answers with (201; 400/429 to test refusals)
    calls_status: int = 201
    #: what every recording's URL serves
    recording: bytes = FAKE_MP3
    requests: list[tuple[str, str, list[tuple[str, str]]]] = field(default_factory=list)
    webhooks: list[Webhook] = field(default_factory=list)
    calls: list[dict[str, Any]] = field(default_factory=list)
    #: (method, path, params, monotonic time) of every request, for pacing checks
    timed: list[tuple[str, str, list[tuple[str, str]], float]] = field(default_factory=list)
    _server: asyncio.base_events.Server | None = None
    _tasks: set[asyncio.Task[Any]] = field(default_factory=set)
    _seq: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def api_base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def settings(self, phone_number: str | None = None) -> dict[str, str]:
        """The calls channel's settings that point it at this stand-in."""
        return {"account_sid": self.account_sid, "auth_token": self.auth_token,
                "phone_number": phone_number or self.numbers[0],
                "api_base_url": self.api_base_url}

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> str:
        await super().start()
        return self.api_base_url

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await super().stop()

    async def settled(self, timeout: float = 20) -> None:  # noqa: ASYNC109
        """Wait until the outbound calls it is playing have finished."""
        async with asyncio.timeout(timeout):
            while self._tasks:
                await asyncio.gather(*list(self._tasks), return_exceptions=True)

    # ------------------------------------------------------------------ webhooks
    async def post(self, url: str, params: list[tuple[str, str]], *, sign: bool = True,
                   token: str | None = None, signed_url: str | None = None) -> Webhook:
        """POST a form webhook to ``url`` signed as Twilio signs it (``signed_url``: the URL
        Twilio requested when a proxy in front of the engine forwards it to ``url``)."""
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        if sign:
            headers["X-Twilio-Signature"] = signature(token or self.auth_token,
                                                      signed_url or url, params)
            headers["I-Twilio-Idempotency-Token"] = secrets.token_hex(16)
        async with httpx.AsyncClient(timeout=20) as client:
            answer = await client.post(url, content=urlencode(params), headers=headers)
        hook = Webhook(url, params, answer.status_code, answer.text)
        self.webhooks.append(hook)
        return hook

    def _base(self, sid: str, from_: str, to: str, status: str,
              direction: str = "inbound") -> list[tuple[str, str]]:
        return [("AccountSid", self.account_sid), ("ApiVersion", "2010-04-01"),
                ("CallSid", sid), ("CallStatus", status), ("Direction", direction),
                ("From", from_), ("To", to)]

    async def _status(self, url: str, base: list[tuple[str, str]], status: str,
                      duration: int | None = None) -> None:
        params = [(k, v) for k, v in base if k != "CallStatus"] + [
            ("CallStatus", status), ("CallbackSource", "call-progress-events"),
            ("SequenceNumber", str(next(self._seq)))]
        if duration is not None:
            params.append(("CallDuration", str(duration)))
        await self.post(url, params)

    async def incoming_call(self, voice_url: str, from_: str, *, to: str | None = None,
                            answer: str | None = None, voicemail: str | None = None,
                            transcription_fails: bool = False, status_url: str | None = None,
                            duration: int = 42, caller_name: str = "") -> Outcome:
        """A caller rings the number. ``answer``: the agent number that picks up (``"first"``:
        the first one rung; None: nobody); ``voicemail``: what the caller says to voicemail (None: hangs up without
        one). ``status_url``: the number's status callback URL."""
        sid = "CA" + secrets.token_hex(16)
        to = to or self.numbers[0]
        base = self._base(sid, from_, to, "ringing")
        if caller_name:
            base.append(("CallerName", caller_name))
        outcome = Outcome(sid)
        hook = await self.post(voice_url, base)
        if hook.status != 200:
            return outcome
        doc = hook.body
        while doc:
            outcome.twiml.append(doc)
            root = ET.fromstring(doc)
            dial, record = root.find("Dial"), root.find("Record")
            if dial is not None:
                numbers = [n.text or "" for n in dial.findall("Number")]
                doc = await self._dial(dial, base, numbers, answer, outcome, duration)
            elif record is not None:
                doc = await self._record(record, base, voicemail, transcription_fails, outcome)
            else:
                doc = ""
        if status_url:
            await self._status(status_url, base, "completed", duration)
        return outcome

    async def _dial(self, dial: ET.Element, base: list[tuple[str, str]], numbers: list[str],
                    answer: str | None, outcome: Outcome, duration: int) -> str:
        taker = numbers[0] if answer == "first" and numbers else (
            answer if answer in numbers else None)
        if taker is not None:
            leg = "CA" + secrets.token_hex(16)
            callback = next((n.get("statusCallback") for n in dial.findall("Number")
                             if n.text == taker), None)
            if callback:
                await self.post(callback, [("ParentCallSid", base[2][1]), ("CallSid", leg),
                                           ("CallStatus", "in-progress"), ("To", taker),
                                           ("From", base[5][1]), ("Direction", "outbound-dial"),
                                           ("AccountSid", self.account_sid)])
            outcome.answered_by = taker
        action = dial.get("action")
        if not action:
            return ""
        params = [*base, ("DialCallStatus", "completed" if taker else "no-answer")]
        if taker:
            params.append(("DialCallDuration", str(duration)))
        hook = await self.post(action, params)
        return hook.body if hook.status == 200 else ""

    async def _record(self, record: ET.Element, base: list[tuple[str, str]], said: str | None,
                      fails: bool, outcome: Outcome) -> str:
        if said is None:
            return ""  # hung up: the verbs after <Record> would run, nobody listens
        outcome.voicemail = True
        rec = "RE" + secrets.token_hex(16)
        outcome.recording_sid = rec
        url = f"{self.api_base_url}/recordings/{rec}"
        length = str(max(3, len(said.split())))
        rec_params = [("RecordingSid", rec), ("RecordingUrl", url),
                      ("RecordingDuration", length)]
        answer = ""
        action = record.get("action")
        if action:
            hook = await self.post(action, [*base, *rec_params, ("Digits", "hangup")])
            answer = hook.body if hook.status == 200 else ""
        status_cb = record.get("recordingStatusCallback")
        if status_cb:
            await self.post(status_cb, [("AccountSid", self.account_sid), ("CallSid", base[2][1]),
                                        *rec_params, ("RecordingStatus", "completed"),
                                        ("RecordingChannels", "1"),
                                        ("RecordingSource", "RecordVerb")])
        transcribe_cb = record.get("transcribeCallback")
        if transcribe_cb and record.get("transcribe") == "true":
            await self.post(transcribe_cb, [
                *base, *rec_params, ("TranscriptionSid", "TR" + secrets.token_hex(16)),
                ("TranscriptionStatus", "failed" if fails else "completed"),
                ("TranscriptionText", "" if fails else said),
                ("TranscriptionUrl", f"{self.api_base_url}/transcriptions/x")])
        return "" if "<Hangup" in answer else answer

    # ------------------------------------------------------------------ outbound
    async def _play_outbound(self, call: dict[str, Any]) -> None:
        """A call the API created: the agent answers, the ``Url`` TwiML dials the customer."""
        form = call["form"]
        status_url = form.get("StatusCallback")
        base = self._base(call["sid"], form.get("From", ""), form.get("To", ""), "queued",
                          "outbound-api")
        for status in ("initiated", "ringing", "in-progress"):
            if status_url:
                await self._status(status_url, base, status)
        hook = await self.post(form["Url"], [*base[:3], ("CallStatus", "in-progress"),
                                             *base[4:]])
        call["twiml"] = hook.body
        if hook.status == 200 and "<Dial" in hook.body:
            dial = ET.fromstring(hook.body).find("Dial")
            if dial is not None and dial.get("action"):
                await self.post(dial.get("action") or "", [
                    *base, ("DialCallStatus", "completed"), ("DialCallDuration", "30")])
        if status_url:
            await self._status(status_url, base, "completed", 35)

    # ------------------------------------------------------------------ HTTP
    def _authorized(self, headers: dict[str, str]) -> bool:
        expected = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        return headers.get("authorization", "") == f"Basic {expected}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            method, url, headers, body = await read_request(reader)
            params = parse_qsl(url.query, keep_blank_values=True)
            if method == "POST":
                params += parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
            self.requests.append((method, url.path, params))
            self.timed.append((method, url.path, params, time.monotonic()))
            status, ctype, payload = self._route(method, url.path, params, headers)
        except (asyncio.IncompleteReadError, TimeoutError, ValueError):
            status, ctype, payload = 400, "application/json", b'{"message": "bad request"}'
        await answer(writer, f"HTTP/1.1 {status} X\r\nContent-Type: {ctype}\r\nContent-Length: "
                     f"{len(payload)}\r\nConnection: close\r\n\r\n".encode() + payload)

    def _route(self, method: str, path: str, params: list[tuple[str, str]],
               headers: dict[str, str]) -> tuple[int, str, bytes]:
        def js(status: int, body: Any) -> tuple[int, str, bytes]:
            return status, "application/json", json.dumps(body).encode()

        if not self._authorized(headers):
            return js(401, {"code": 20003, "message": "Authenticate", "status": 401})
        account = f"/2010-04-01/Accounts/{self.account_sid}"
        if method == "GET" and path == f"{account}.json":
            return js(200, {"sid": self.account_sid, "status": "active"})
        if method == "GET" and path == f"{account}/IncomingPhoneNumbers.json":
            wanted = dict(params).get("PhoneNumber")
            found = [n for n in self.numbers if wanted in (None, n)]
            return js(200, {"incoming_phone_numbers": [{"phone_number": n} for n in found]})
        if method == "POST" and path == f"{account}/Calls.json":
            return js(*self._create_call(params))
        if method == "GET" and path.startswith("/recordings/"):
            return 200, "audio/mpeg", self.recording
        return js(404, {"code": 20404, "message": "not found", "status": 404})

    def _create_call(self, params: list[tuple[str, str]]) -> tuple[int, Any]:
        form = dict(params)
        if self.calls_status != 201:
            return self.calls_status, {"code": 21201, "status": self.calls_status,
                                       "message": "the stand-in refuses this call"}
        missing = [k for k in ("To", "From", "Url") if not form.get(k)]
        if missing:
            return 400, {"code": 21201, "status": 400,
                         "message": f"missing {', '.join(missing)}"}
        sid = "CA" + secrets.token_hex(16)
        call = {"sid": sid, "form": form, "params": params, "status": "queued"}
        self.calls.append(call)
        if self.answer_outbound:
            task = asyncio.ensure_future(self._play_outbound(call))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return 201, {"sid": sid, "status": "queued", "to": form["To"], "from": form["From"],
                     "direction": "outbound-api"}
