"""Settings of one website chat channel.

One declaration drives ``ticketty channels add chat --set key=value``, the settings form and
the wizard. Every setting has a default, so a chat channel added with no settings is open at
all hours with the bot off and works on any site. Lists (allowed origins, quick replies) are
plain text so the CLI's ``--set`` and the forms edit them as one line.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from engine.office_hours import OfficeHours, parse_office_hours
from engine.vault import Secret

_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
_EMAIL = re.compile(r"^[^@\s<>\"]+@[^@\s<>\"]+\.[^@\s<>\"]+$")


@dataclass(frozen=True)
class QuickReply:
    """A bot button: the visitor taps ``label`` and the bot answers ``answer``."""

    label: str
    answer: str


def valid_email(text: str) -> bool:
    """Whether ``text`` looks like an address a transcript or a reply can go to."""
    return bool(_EMAIL.match(text.strip())) and len(text) <= 254


def parse_quick_replies(text: str) -> list[QuickReply]:
    """``"Prices = See example.com/prices | Hours = 9 to 5"`` → the buttons, in order."""
    out = []
    for part in text.split("|"):
        if not part.strip():
            continue
        label, sep, answer = part.partition("=")
        if not sep or not label.strip() or not answer.strip():
            raise ValueError(f"quick reply {part.strip()!r}: write it as 'Label = answer'")
        out.append(QuickReply(label.strip(), answer.strip()))
    return out


def parse_origins(text: str) -> list[str]:
    """``"https://a.example, https://b.example"`` → the origins (no trailing slash)."""
    out = []
    for item in re.split(r"[\s,]+", text.strip()):
        if not item:
            continue
        if not re.match(r"^https?://[^/\s]+$", item.rstrip("/")):
            raise ValueError(f"allowed origin {item!r}: write it as https://www.example.com")
        out.append(item.rstrip("/").lower())
    return out


class ChatSettings(BaseModel):
    """Appearance, availability, bot, transcripts and limits of one chat widget."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    # ------------------------------------------------------------ appearance
    team_name: str = Field("Support", max_length=60,
                           description="The team name the widget's header shows.")
    accent_color: str = Field("#2563eb", description="The widget's accent colour, as #rrggbb.")
    position: Literal["bottom-right", "bottom-left"] = Field(
        "bottom-right", description="Where the launcher sits on the page.",
        json_schema_extra={"choices": {"bottom-right": "Bottom right",
                                       "bottom-left": "Bottom left"}})
    agent_avatar: str = Field("", max_length=300, description=(
        "An image URL (https://…) for the agents' avatar, or up to 3 initials; empty: the"
        " team name's first letter."))
    welcome_message: str = Field("Hi! How can we help you today?", max_length=500,
                                 description="The first line a visitor sees in the panel.")
    transcript_from: str = Field("", description=(
        "The address transcripts are sent from (empty: no transcripts); they go out through"
        " the email channel named in reply_email_channel."))
    # ---------------------------------------------------------- availability
    availability: Literal["always", "office_hours", "agents"] = Field(
        "always", description="When the chat is open: at all hours, during office_hours, or"
        " when any agent the routing rule names is available.",
        json_schema_extra={"choices": {"always": "At all hours",
                                       "office_hours": "During office hours",
                                       "agents": "When a routed agent is available"}})
    office_hours: str = Field("", description=(
        "Opening hours, e.g. 'mon-fri 09:00-17:00 Europe/Paris' (empty: always open)."))
    outside_hours: Literal["away", "hide"] = Field(
        "away", description="Outside hours: show an away message asking for an email, or hide"
        " the widget.", json_schema_extra={"choices": {"away": "Show an away message",
                                                       "hide": "Hide the widget"}})
    away_message: str = Field(
        "We're away right now. Leave your email and we'll answer by mail.", max_length=500,
        description="What the widget says outside hours.")
    reply_email_channel: str = Field("", description=(
        "The email channel that answers visitors who wrote while away, and sends transcripts."))
    # -------------------------------------------------------------------- bot
    bot_enabled: bool = Field(False, description="Let a bot greet visitors before a person"
                              " joins.")
    bot_collect: bool = Field(True, description="The bot asks for the visitor's name and email.")
    bot_quick_replies: str = Field("", max_length=4000, description=(
        "Buttons whose answers are canned texts: 'Label = answer | Label = answer'."))
    # ----------------------------------------------------------- transcripts
    idle_minutes: int = Field(10, ge=1, le=1440, description=(
        "A chat ends when the visitor has been gone this many minutes (then the transcript"
        " goes out)."))
    # -------------------------------------------------------------- security
    allowed_origins: str = Field("", description=(
        "Sites allowed to embed the widget, e.g. 'https://www.example.com' (empty: any site)."))
    max_message_chars: int = Field(4000, ge=1, le=100_000, description=(
        "The longest message a visitor may send or an agent reply the widget takes."))
    visitor_secret: Secret = Field(
        default_factory=lambda: SecretStr(secrets.token_urlsafe(32)),
        description="The key that signs visitor tokens (made for you; changing it forgets"
        " every visitor).")

    @field_validator("accent_color")
    @classmethod
    def _colour(cls, value: str) -> str:
        if not _COLOUR.match(value):
            raise ValueError("write the colour as #rrggbb, e.g. #2563eb")
        return value.lower()

    @field_validator("office_hours")
    @classmethod
    def _hours(cls, value: str) -> str:
        if value.strip():
            parse_office_hours(value)
        return value.strip()

    @field_validator("bot_quick_replies")
    @classmethod
    def _quick(cls, value: str) -> str:
        parse_quick_replies(value)
        return value.strip()

    @field_validator("allowed_origins")
    @classmethod
    def _origins(cls, value: str) -> str:
        return ", ".join(parse_origins(value))

    @field_validator("transcript_from")
    @classmethod
    def _from(cls, value: str) -> str:
        if value.strip() and not valid_email(value):
            raise ValueError(f"{value!r} is not an email address")
        return value.strip()

    # ---------------------------------------------------------------- reading
    def hours(self) -> OfficeHours:
        """The office hours (always open when empty)."""
        return parse_office_hours(self.office_hours) if self.office_hours else OfficeHours()

    def origins(self) -> list[str]:
        return parse_origins(self.allowed_origins)

    def quick_replies(self) -> list[QuickReply]:
        return parse_quick_replies(self.bot_quick_replies)

    def avatar(self) -> dict[str, str]:
        """``{"image": url}`` or ``{"initials": "AB"}`` for the widget."""
        value = self.agent_avatar.strip()
        if value.startswith("https://") or value.startswith("http://"):
            return {"image": value}
        return {"initials": (value or self.team_name[:1] or "?")[:3].upper()}
