"""A call as the calling channel keeps it, how its message reads, and who it rings.

Every call is a row (:class:`CallRecord`) tied to one message in a ticket; status, recording and
transcription callbacks update the row, and the message's text is re-rendered from it
(:func:`call_text`), so the thread shows direction, from, to, status, who answered, duration and,
later, the voicemail and its transcript. :class:`CallBook` is what the adapter asks of the
engine about calls (the store's rows: :mod:`engine.store.calls`; in memory for unit tests:
:class:`MemoryCallBook`). The decisions — who is rung, what the text says, whether a status
event is newer — are pure functions here.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from engine.models import Agent, IngestResult, RoutingMode, RoutingRule
from engine.routing import RoutingContext, candidates, eligible

if TYPE_CHECKING:
    from engine.models import InboundMessage

#: call statuses that end a call nobody took (it needs a call back)
MISSED = frozenset({"busy", "no-answer", "failed", "canceled"})
FINAL = MISSED | {"completed"}
WORDS = {"queued": "queued", "initiated": "dialling", "ringing": "ringing",
         "in-progress": "in progress", "answered": "in progress", "completed": "completed",
         "busy": "missed (busy)", "no-answer": "missed (no answer)",
         "failed": "failed", "canceled": "missed (caller hung up)"}


@dataclass(frozen=True)
class CallRecord:
    """One call. ``direction``: ``inbound`` or ``outbound`` (a call-back); ``customer``: the
    customer's number; ``decision``: what the call was answered with (``ring``, ``voicemail``,
    ``callback``); ``seq``: the newest status ``SequenceNumber`` applied."""

    id: int
    channel_id: int
    direction: str
    from_number: str
    to_number: str
    customer: str
    status: str = "ringing"
    call_sid: str | None = None
    seq: int = -1
    decision: str = "ring"
    answered_by: str | None = None
    duration: int | None = None
    ticket_id: int | None = None
    message_id: int | None = None
    agent_id: int | None = None
    voicemail: bool = False
    recording_sid: str | None = None
    recording_duration: int | None = None
    recording_file: str | None = None
    recording_error: str | None = None
    transcript_status: str | None = None
    transcript: str | None = None

    @property
    def missed(self) -> bool:
        """Nobody took it (busy, no answer, hung up while ringing, or a voicemail)."""
        return self.status in MISSED or (self.voicemail and self.answered_by is None) or (
            self.direction == "inbound" and self.status == "completed"
            and self.answered_by is None)

    def changed(self, **fields: Any) -> CallRecord:
        return dataclasses.replace(self, **fields)


def _duration(seconds: int) -> str:
    return f"{seconds // 60}:{seconds % 60:02d}"


def call_text(call: CallRecord) -> str:
    """The call's message text: the facts in lines a person reads and a search finds."""
    who = "Inbound call" if call.direction == "inbound" else "Call back"
    lines = [f"{who} from {call.from_number} to {call.to_number}"]
    status = WORDS.get(call.status, call.status)
    if call.missed and call.status not in MISSED:
        status = "missed" + (" — voicemail" if call.voicemail else "")
    parts = [f"Status: {status}"]
    if call.answered_by:
        parts.append(f"answered by {call.answered_by}")
    if call.duration is not None and call.status == "completed":
        parts.append(f"duration {_duration(call.duration)}")
    lines.append(" · ".join(parts))
    if call.missed and call.direction == "inbound":
        lines.append("Needs a call back.")
    if call.recording_file:
        length = f" ({_duration(call.recording_duration)})" if call.recording_duration else ""
        lines.append(f"Recording{length}: {call.recording_file} (attached)")
    elif call.recording_error:
        lines.append(f"Recording: {call.recording_error}")
    if call.transcript_status == "failed":
        lines.append("Transcript: transcription failed")
    elif call.transcript:
        lines.append(f"Transcript: {call.transcript}")
    return "\n".join(lines)


def newer(call: CallRecord, seq: int | None) -> bool:
    """Whether a status event with ``SequenceNumber`` ``seq`` is newer than what the call shows
    (events arrive out of order; one without a number counts as newest unless the call ended)."""
    if seq is None:
        return call.status not in FINAL
    return seq > call.seq


def ring_targets(rule: RoutingRule, agents: Sequence[Agent],
                 team_members: Mapping[int, list[int]], now: datetime) -> list[Agent]:
    """The agents a call rings, in ring order: the channel's routed agents (its users and
    teams; everyone for other routing modes) who are eligible now (seat, availability and
    working hours, skills) and have a ``phone``. Agents without a phone are never rung."""
    ctx = RoutingContext(agents=list(agents), team_members=team_members, now=now)
    if rule.mode == RoutingMode.users_teams:
        pool = [a for a, _ in candidates(rule, ctx)]
    else:
        pool = list(agents)
    open_rule = rule.model_copy(update={"cap": None})
    return [a for a in pool if a.phone and eligible(a, open_rule, ctx)]


class CallBook(Protocol):
    """What the calling channel keeps in the engine about its calls (its own channel only)."""

    async def ring_candidates(self) -> tuple[RoutingRule, list[Agent], dict[int, list[int]]]:
        """The channel's routing rule, the agents and the team members (for :func:`ring_targets`)."""
        ...

    async def start_call(self, msg: InboundMessage, call: CallRecord
                         ) -> tuple[CallRecord, IngestResult]:
        """Record a new inbound call (``call.id`` is ignored) and ingest its message, in one
        transaction; a call whose ``call_sid`` is known returns the stored one unchanged (and
        a duplicate's result)."""
        ...

    async def call(self, call_sid: str) -> CallRecord | None:
        ...

    async def call_by_id(self, call_id: int) -> CallRecord | None:
        ...

    async def update_call(self, call_id: int, event_key: str, **fields: Any) -> CallRecord | None:
        """Apply ``fields`` once per ``event_key`` and re-render the call's message; None when
        the key was seen (a redelivered callback)."""
        ...

    async def attach_recording(self, call_id: int, event_key: str, filename: str,
                               content_type: str, data: bytes, duration: int | None
                               ) -> CallRecord | None:
        ...

    async def add_transcript(self, call_id: int, event_key: str, status: str,
                             text: str) -> CallRecord | None:
        """Keep the transcript (or that it failed) on the call and put its text in the thread."""
        ...

    async def agent_by_phone(self, phone: str) -> Agent | None:
        ...

    async def link_call(self, call_id: int, sid: str, status: str) -> CallRecord | None:
        """A call-back the provider accepted: its ``CallSid``."""
        ...


class MemoryCallBook:
    """A :class:`CallBook` in memory, ingesting through an in-memory host (unit tests)."""

    def __init__(self, host: Any, agents: Sequence[Agent] = (),
                 rule: RoutingRule | None = None) -> None:
        self.host = host
        self.agents = list(agents)
        self.rule = rule or RoutingRule()
        self.calls: dict[int, CallRecord] = {}
        self.keys: set[str] = set()
        self.attachments: list[tuple[int, str, bytes]] = []
        self.transcripts: list[tuple[int, str]] = []

    async def ring_candidates(self) -> tuple[RoutingRule, list[Agent], dict[int, list[int]]]:
        return self.rule, self.agents, {}

    async def start_call(self, msg: InboundMessage, call: CallRecord
                         ) -> tuple[CallRecord, IngestResult]:
        known = await self.call(call.call_sid or "")
        if known is not None:
            return known, await self.host.ingest(msg)  # the host answers a duplicate
        result: IngestResult = await self.host.ingest(msg)
        stored = call.changed(id=len(self.calls) + 1, ticket_id=result.ticket_id,
                              message_id=result.message_id)
        self.calls[stored.id] = stored
        return stored, result

    async def call(self, call_sid: str) -> CallRecord | None:
        return next((c for c in self.calls.values() if c.call_sid == call_sid), None)

    async def call_by_id(self, call_id: int) -> CallRecord | None:
        return self.calls.get(call_id)

    async def update_call(self, call_id: int, event_key: str, **fields: Any) -> CallRecord | None:
        if event_key in self.keys or call_id not in self.calls:
            return None
        self.keys.add(event_key)
        self.calls[call_id] = self.calls[call_id].changed(**fields)
        return self.calls[call_id]

    async def attach_recording(self, call_id: int, event_key: str, filename: str,
                               content_type: str, data: bytes, duration: int | None
                               ) -> CallRecord | None:
        done = await self.update_call(call_id, event_key, recording_file=filename,
                                      recording_duration=duration)
        if done is not None:
            self.attachments.append((call_id, filename, data))
        return done

    async def add_transcript(self, call_id: int, event_key: str, status: str,
                             text: str) -> CallRecord | None:
        done = await self.update_call(call_id, event_key, transcript_status=status,
                                      transcript=text or None)
        if done is not None:
            self.transcripts.append((call_id, text))
        return done

    async def agent_by_phone(self, phone: str) -> Agent | None:
        return next((a for a in self.agents if a.phone == phone), None)

    async def link_call(self, call_id: int, sid: str, status: str) -> CallRecord | None:
        if call_id not in self.calls:
            return None
        self.calls[call_id] = self.calls[call_id].changed(call_sid=sid, status=status)
        return self.calls[call_id]


class StoreCallBook:
    """A :class:`CallBook` on the store, for one channel (what :class:`StoreChannelHost` lends)."""

    def __init__(self, store: Any, channel_id: int) -> None:
        self._store = store
        self._channel_id = channel_id

    async def ring_candidates(self) -> tuple[RoutingRule, list[Agent], dict[int, list[int]]]:
        result: tuple[RoutingRule, list[Agent], dict[int, list[int]]] = \
            await self._store.ring_candidates(self._channel_id)
        return result

    async def start_call(self, msg: InboundMessage, call: CallRecord
                         ) -> tuple[CallRecord, IngestResult]:
        stored: tuple[CallRecord, IngestResult] = await self._store.start_call(
            self._channel_id, msg, call)
        return stored

    async def call(self, call_sid: str) -> CallRecord | None:
        found: CallRecord | None = await self._store.call_by_sid(self._channel_id, call_sid)
        return found

    async def call_by_id(self, call_id: int) -> CallRecord | None:
        found: CallRecord | None = await self._store.call_record(call_id)
        return found if found is not None and found.channel_id == self._channel_id else None

    async def update_call(self, call_id: int, event_key: str, **fields: Any) -> CallRecord | None:
        done: CallRecord | None = await self._store.update_call(call_id, event_key, **fields)
        return done

    async def attach_recording(self, call_id: int, event_key: str, filename: str,
                               content_type: str, data: bytes, duration: int | None
                               ) -> CallRecord | None:
        done: CallRecord | None = await self._store.attach_call_recording(
            call_id, event_key, filename, content_type, data, duration)
        return done

    async def add_transcript(self, call_id: int, event_key: str, status: str,
                             text: str) -> CallRecord | None:
        done: CallRecord | None = await self._store.add_call_transcript(
            call_id, event_key, status, text)
        return done

    async def agent_by_phone(self, phone: str) -> Agent | None:
        found: Agent | None = await self._store.agent_by_phone(phone)
        return found

    async def link_call(self, call_id: int, sid: str, status: str) -> CallRecord | None:
        done: CallRecord | None = await self._store.link_call(call_id, sid, status)
        return done
