"""Settings of one calling channel (a phone number on Twilio or a Twilio-compatible provider).

One declaration drives ``ticketty channels add calls --set key=value``, the settings form and
the connect wizard. ``auth_token`` is a :data:`engine.vault.Secret` (sealed, masked, scrubbed).
``api_base_url`` points the channel at Twilio, at a compatible provider (SignalWire's
compatibility API …) or at the local stand-in (:mod:`engine.sandbox.twilio`).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from engine.office_hours import OfficeHours, OfficeHoursError, parse_office_hours
from engine.phones import PhoneError, normalize_phone
from engine.vault import NO_SECRET, Secret

TWILIO_API = "https://api.twilio.com"
#: Twilio transcribes recordings only when they are shorter than 120 s (warning 13617)
MAX_VOICEMAIL_SECONDS = 119


class CallsSettings(BaseModel):
    """Everything a calling channel needs: the account, the number, and how calls are answered."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    account_sid: str = Field(description="The account SID (AC…), shown on the provider's console.")
    auth_token: Secret = Field(
        NO_SECRET, description="The account's auth token: signs the webhooks and the API calls.")
    phone_number: str = Field(
        description="The channel's phone number in E.164 (+14155550100): the caller id of "
        "call-backs.")
    api_base_url: str = Field(
        TWILIO_API, description="The REST API's base URL (Twilio, or a Twilio-compatible "
        "provider).")
    office_hours: str = Field(
        "", description="When calls ring agents, e.g. 'mon-fri 09:00-17:00 Europe/Paris' "
        "(empty: always); outside them callers reach voicemail.")
    greeting: str = Field(
        "Thank you for calling. Connecting you to an agent.",
        description="Said to the caller before agents are rung (empty: none).")
    voicemail_greeting: str = Field(
        "Nobody can take your call right now. Please leave a message after the tone.",
        description="Said to the caller before the voicemail recording.")
    recording: bool = Field(
        False, description="Record answered calls (the caller hears that the call may be "
        "recorded).")
    ring_strategy: Literal["simultaneous", "in_turn"] = Field(
        "simultaneous", description="Ring every available agent at once, or one after another.",
        json_schema_extra={"choices": {"simultaneous": "All available agents at once",
                                       "in_turn": "One agent after another"}})
    ring_timeout: int = Field(
        20, ge=5, le=120, description="Seconds an agent's phone rings before the call moves on.")
    voicemail_max_length: int = Field(
        110, ge=5, le=MAX_VOICEMAIL_SECONDS,
        description="Longest voicemail in seconds (under 120, so it can be transcribed).")
    calls_per_second: float = Field(
        1.0, gt=0, le=100, description="The account's outbound calls-per-second limit; "
        "call-backs beyond it wait their turn.")
    recording_max_bytes: int = Field(
        20_000_000, ge=1000, description="Largest voicemail recording downloaded, in bytes.")

    @field_validator("phone_number")
    @classmethod
    def _e164(cls, value: str) -> str:
        try:
            return normalize_phone(value)
        except PhoneError as exc:
            raise ValueError(str(exc)) from None

    @field_validator("account_sid")
    @classmethod
    def _sid(cls, value: str) -> str:
        value = value.strip()
        if not value or any(c.isspace() or c == "/" for c in value):
            raise ValueError("an account SID like AC0123… (no spaces or slashes)")
        return value

    @field_validator("api_base_url")
    @classmethod
    def _base(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if not value.startswith(("http://", "https://")):
            raise ValueError("a URL starting with https:// (or http:// for a local stand-in)")
        return value

    @field_validator("office_hours")
    @classmethod
    def _hours(cls, value: str) -> str:
        try:
            return parse_office_hours(value).spec()
        except OfficeHoursError as exc:
            raise ValueError(str(exc)) from None

    def hours(self) -> OfficeHours:
        return parse_office_hours(self.office_hours)
