"""The calling channel's webhooks: what Twilio (or a compatible provider) posts, and answers.

Every route first checks ``X-Twilio-Signature`` (:mod:`engine.channels.calls_signature`) over
the URL as the provider requested it — rebuilt from the engine's ``public_url`` behind a proxy,
else as this server saw it — and the form parameters; anything unsigned or wrongly signed is
answered 403, counted in the channel's health and logged, before the body means anything.

Routes, under ``/calls/<channel id>``:

- ``POST /voice`` — a call comes in: record it (deduplicated by ``CallSid``), answer TwiML —
  ring the available agents with a phone, else voicemail;
- ``POST /dial?turn=N`` — ``<Dial action>``: answered → hang up; missed → the next agent (in
  turn) or voicemail;
- ``POST /leg`` — an agent's leg answered: who took the call;
- ``POST /status`` — call status callbacks, applied in ``SequenceNumber`` order, once each;
- ``POST /recorded`` — ``<Record action>``: a voicemail was left → ``<Hangup/>`` (no loop);
- ``POST /recording`` — ``recordingStatusCallback``: the recording is downloaded (size-limited,
  with the account's credentials) and attached to the call's message;
- ``POST /transcription`` — ``transcribeCallback``: the transcript goes into the thread;
- ``POST /bridge?call=ID`` and ``POST /bridged?call=ID`` — a call-back: the agent answered,
  dial the customer; how that ended.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from engine.channels import calls_twiml as twiml
from engine.channels.calls_book import CallRecord, ring_targets
from engine.channels.calls_signature import valid
from engine.models import InboundMessage, IngestResult
from engine.phones import PhoneError, normalize_phone

if TYPE_CHECKING:
    from fastapi import Request, Response

    from engine.channels.calls import CallsAdapter

MAX_FORM = 64 * 1024
Form = dict[str, str]


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except ValueError:
        return None


class CallsWebhooks:
    """The handlers of one calling channel (its adapter lends settings, host and book)."""

    def __init__(self, adapter: CallsAdapter) -> None:
        self.adapter = adapter
        self.rejected = 0

    # ------------------------------------------------------------------ plumbing
    def candidate_urls(self, request: Request) -> list[str]:
        """The URLs the provider may have signed: under ``public_url`` (behind a proxy), and
        the URL as this server saw it."""
        seen = str(request.url)
        urls = []
        base = self.adapter.host.public_url
        if base:
            tail = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            urls.append(base.rstrip("/") + tail)
        urls.append(seen)
        return urls

    async def verified(self, request: Request) -> list[tuple[str, str]] | None:
        """The form parameters when the signature is right; None (counted, logged) when not."""
        body = await request.body()
        params = parse_qsl(body[:MAX_FORM].decode("utf-8", "replace"), keep_blank_values=True) \
            if request.method == "POST" else []
        token = self.adapter.settings.auth_token.get_secret_value()
        if valid(token, self.candidate_urls(request), params,
                 request.headers.get("x-twilio-signature")):
            return params
        self.rejected += 1
        self.adapter.host.log.debug("calls: signed URLs tried: %s", self.candidate_urls(request))
        client = request.client.host if request.client else "?"
        self.adapter.host.log.warning(
            "calls %s: refused %s %s from %s: %s X-Twilio-Signature (%d refused so far)",
            self.adapter.channel.name, request.method, request.url.path, client,
            "missing" if "x-twilio-signature" not in request.headers else "wrong", self.rejected)
        try:
            await self.adapter.host.health(rejected_signatures=self.rejected,
                                           last_rejected_at=time.time())
        except Exception as exc:  # the 403 matters more than the count
            self.adapter.host.log.warning("calls: could not count the refusal: %s", exc)
        return None

    def handler(self, step: Callable[[Form, Request], Awaitable[str | None]]
                ) -> Callable[[Request], Awaitable[Response]]:
        """A route: signature first (403), then ``step``; TwiML it returns is ``text/xml``,
        None is ``204``."""
        from fastapi import Request, Response

        async def route(request: Request) -> Response:
            params = await self.verified(request)
            if params is None:
                return Response("invalid signature\n", status_code=403, media_type="text/plain")
            form = dict(params)
            answer = await step(form, request)
            if answer is None:
                return Response(status_code=204)
            return Response(answer, media_type="text/xml")

        route.__annotations__ = {"request": Request, "return": Response}  # resolved now
        return route

    def router(self) -> Any:
        from fastapi import APIRouter

        router = APIRouter()
        for path, step in (("/voice", self.voice), ("/dial", self.dial), ("/leg", self.leg),
                           ("/status", self.status), ("/recorded", self.recorded),
                           ("/recording", self.recording),
                           ("/transcription", self.transcription),
                           ("/bridge", self.bridge), ("/bridged", self.bridged)):
            router.add_api_route(path, self.handler(step), methods=["POST"])
        return router

    def url(self, path: str) -> str:
        return self.adapter.url(path)

    # ------------------------------------------------------------------ inbound
    async def _targets(self) -> list[str]:
        """The numbers to ring now: within office hours, the available routed agents' phones."""
        now = datetime.fromtimestamp(self.adapter.host.clock(), UTC)
        if not self.adapter.settings.hours().is_open(now):
            return []
        rule, agents, members = await self.adapter.book.ring_candidates()
        return [a.phone for a in ring_targets(rule, agents, members, now) if a.phone]

    def _ring(self, numbers: list[str], turn: int, greet: bool) -> str:
        s = self.adapter.settings
        if s.ring_strategy == "in_turn":
            numbers = numbers[turn:turn + 1]
        plan = twiml.DialPlan(numbers=numbers, action=self.url(f"/dial?turn={turn + 1}"),
                              leg_callback=self.url("/leg"), timeout=s.ring_timeout,
                              record=s.recording, recording_callback=self.url("/recording"))
        return twiml.ring(plan, s.greeting if greet else "", notice=greet and s.recording)

    def _voicemail(self) -> str:
        s = self.adapter.settings
        return twiml.voicemail(twiml.VoicemailPlan(
            greeting=s.voicemail_greeting, action=self.url("/recorded"),
            transcribe_callback=self.url("/transcription"),
            recording_callback=self.url("/recording"), max_length=s.voicemail_max_length))

    async def receive(self, form: Form, raw: bytes, numbers: list[str] | None = None
                      ) -> IngestResult | None:
        """Record a call the voice webhook announced (once per ``CallSid``: again, it is a
        duplicate); a webhook without a ``CallSid`` is quarantined as it arrived (None)."""
        sid = form.get("CallSid", "")
        if not sid:
            await self.adapter.host.quarantine("calls", "a voice webhook without a CallSid", raw)
            return None
        if numbers is None:
            numbers = await self._targets()
        _, result = await self.adapter.book.start_call(*self._new_call(form, sid, bool(numbers)))
        return result

    async def voice(self, form: Form, request: Request) -> str | None:
        numbers = await self._targets()
        if await self.receive(form, await request.body(), numbers) is None:
            return twiml.hangup()
        if not numbers:
            return self._voicemail()
        return self._ring(numbers, 0, greet=True)

    def _new_call(self, form: Form, sid: str, ring: bool) -> tuple[InboundMessage, CallRecord]:
        raw_from = form.get("From", "")
        try:
            customer, kind = normalize_phone(raw_from), "phone"
        except PhoneError:  # caller id withheld ("anonymous", "+266696687" …)
            customer, kind = f"anonymous:{sid}", "other"
        call = CallRecord(id=0, channel_id=self.adapter.channel.id or 0, direction="inbound",
                          from_number=customer if kind == "phone" else (raw_from or "unknown"),
                          to_number=form.get("To", self.adapter.settings.phone_number),
                          customer=customer, call_sid=sid,
                          status=form.get("CallStatus") or "ringing",
                          decision="ring" if ring else "voicemail", voicemail=not ring)
        msg = InboundMessage(channel_id=self.adapter.channel.id, key=sid, sender_kind=kind,
                             sender=customer, sender_name=form.get("CallerName", ""),
                             received_at=datetime.fromtimestamp(self.adapter.host.clock(), UTC),
                             extra={"call_sid": sid})
        return msg, call

    async def dial(self, form: Form, request: Request) -> str | None:
        sid = form.get("CallSid", "")
        call = await self.adapter.book.call(sid)
        outcome = form.get("DialCallStatus", "")
        turn = _int(request.query_params.get("turn")) or 1
        if outcome == "completed" or outcome == "answered":
            if call is not None:
                await self.adapter.book.update_call(
                    call.id, f"dial:{sid}:{turn}", duration=_int(form.get("DialCallDuration")))
            return twiml.hangup()
        if outcome == "canceled":  # the caller hung up while it rang
            return twiml.empty()
        numbers = await self._targets()
        if self.adapter.settings.ring_strategy == "in_turn" and turn < len(numbers):
            return self._ring(numbers, turn, greet=False)
        if call is not None:
            await self.adapter.book.update_call(call.id, f"dial:{sid}:{turn}",
                                                decision="voicemail", voicemail=True)
        return self._voicemail()

    async def leg(self, form: Form, request: Request) -> str | None:
        parent = form.get("ParentCallSid", "")
        call = await self.adapter.book.call(parent)
        if call is None or form.get("CallStatus") not in ("in-progress", "answered"):
            return None
        try:
            phone = normalize_phone(form.get("To", ""))
        except PhoneError:
            return None
        agent = await self.adapter.book.agent_by_phone(phone)
        await self.adapter.book.update_call(
            call.id, f"leg:{form.get('CallSid', '')}:answered",
            answered_by=agent.name if agent else phone, agent_id=agent.id if agent else None)
        return None

    async def status(self, form: Form, request: Request) -> str | None:
        sid = form.get("CallSid", "")
        call = await self.adapter.book.call(sid)
        if call is None:
            self.adapter.host.log.info("calls: status for unknown call %s ignored", sid)
            return None
        seq = _int(form.get("SequenceNumber"))
        status = form.get("CallStatus", "")
        await self.adapter.book.update_call(
            call.id, f"status:{sid}:{seq if seq is not None else status}", status=status,
            seq=seq, duration=_int(form.get("CallDuration")))
        return None

    async def recorded(self, form: Form, request: Request) -> str | None:
        call = await self.adapter.book.call(form.get("CallSid", ""))
        if call is not None and form.get("RecordingSid"):
            await self.adapter.book.update_call(
                call.id, f"recorded:{form['RecordingSid']}", voicemail=True,
                recording_sid=form["RecordingSid"],
                recording_duration=_int(form.get("RecordingDuration")))
        return twiml.hangup("Thank you. Goodbye.")

    async def recording(self, form: Form, request: Request) -> str | None:
        call = await self.adapter.book.call(form.get("CallSid", ""))
        rec_sid = form.get("RecordingSid", "")
        if call is None or not rec_sid:
            return None
        state = form.get("RecordingStatus", "completed")
        if state != "completed":
            await self.adapter.book.update_call(
                call.id, f"rec:{rec_sid}:{state}", recording_error=f"recording {state}")
            return None
        if call.recording_file:
            return None  # already downloaded (a redelivery)
        try:
            data, ctype = await self.adapter.download(form.get("RecordingUrl", ""))
        except Exception as exc:  # said on the call; a redelivery tries again
            await self.adapter.book.update_call(
                call.id, f"rec:{rec_sid}:error:{int(time.time())}",
                recording_error=f"the recording could not be downloaded ({exc})")
            return None
        ext = "mp3" if "mpeg" in ctype else "wav"
        await self.adapter.book.attach_recording(
            call.id, f"rec:{rec_sid}", f"voicemail-{rec_sid}.{ext}", ctype, data,
            _int(form.get("RecordingDuration")))
        return None

    async def transcription(self, form: Form, request: Request) -> str | None:
        call = await self.adapter.book.call(form.get("CallSid", ""))
        key = form.get("TranscriptionSid", "") or form.get("RecordingSid", "")
        if call is None or not key:
            return None
        status = form.get("TranscriptionStatus", "completed")
        await self.adapter.book.add_transcript(
            call.id, f"tr:{key}", "completed" if status == "completed" else "failed",
            form.get("TranscriptionText", "") if status == "completed" else "")
        return None

    # ------------------------------------------------------------------ call-backs
    async def _callback(self, request: Request) -> CallRecord | None:
        call_id = _int(request.query_params.get("call"))
        return await self.adapter.book.call_by_id(call_id) if call_id else None

    async def bridge(self, form: Form, request: Request) -> str | None:
        call = await self._callback(request)
        if call is None:
            return twiml.hangup("This call-back is no longer known. Goodbye.")
        return twiml.bridge(call.customer, self.adapter.settings.phone_number,
                            self.url(f"/bridged?call={call.id}"),
                            say="Connecting you to the customer.")

    async def bridged(self, form: Form, request: Request) -> str | None:
        call = await self._callback(request)
        outcome = form.get("DialCallStatus", "")
        if call is not None and outcome:
            answered = outcome == "completed"
            await self.adapter.book.update_call(
                call.id, f"bridged:{call.id}:{form.get('CallSid', '')}",
                answered_by=call.customer if answered else None,
                duration=_int(form.get("DialCallDuration")),
                **({} if answered else {"status": outcome, "seq": 1 << 30}))
        return twiml.hangup()
