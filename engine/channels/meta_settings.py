"""Settings of the Messenger and WhatsApp channels (one declaration each: CLI keys, forms,
wizards). The keys the issue names are contracts: Messenger ``page_id``,
``page_access_token``, ``app_secret``, ``verify_token``, ``graph_base_url``, ``greeting``,
``instant_reply``, ``gdpr``, ``consent_text``; WhatsApp ``phone_number_id``, ``waba_id``,
``access_token``, ``app_secret``, ``verify_token``, ``graph_base_url``, ``gdpr``.

``verify_token`` is generated when not given (the wizard shows it; you type it into Meta's
App Dashboard), so ``channels add`` needs no network and no invented token.
"""

from __future__ import annotations

import secrets
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from engine.vault import NO_SECRET, Secret

#: Meta's Graph API, versioned; tests and the demo point ``graph_base_url`` at engine/sandbox
DEFAULT_GRAPH_URL = "https://graph.facebook.com/v23.0"
DEFAULT_CONSENT = ("We store this conversation to answer you. Our privacy notice explains how "
                   "long and why. Tap \"I agree\" to continue.")

Gdpr = Literal["off", "explicit", "implicit"]
GDPR_WORDS = {"off": "Off (no consent asked)",
              "explicit": "Explicit: the person taps \"I agree\" before their messages count",
              "implicit": "Implicit: the consent text is shown; writing counts as consent"}


def _choices(**words: str) -> Any:
    """``json_schema_extra`` holding the words forms show for each value of a choice."""
    return {"choices": words}


def _verify_token() -> SecretStr:
    return SecretStr(secrets.token_urlsafe(24))


class _MetaCommon(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    app_secret: Secret = Field(
        NO_SECRET, description="The Meta app's App Secret: every webhook delivery is checked "
        "against its signature.")
    verify_token: Secret = Field(
        default_factory=_verify_token,
        description="The token Meta sends back when you set up the webhook (generated when "
        "left out; type the same one into the App Dashboard).")
    graph_base_url: str = Field(
        DEFAULT_GRAPH_URL, description="Where the Graph API is reached (Meta's versioned URL; "
        "a local stand-in for tests and the demo).")
    gdpr: Gdpr = Field("off", description="Ask for consent to process the conversation.",
                       json_schema_extra=_choices(**GDPR_WORDS))
    consent_text: str = Field(DEFAULT_CONSENT,
                              description="The consent text people are shown.")
    max_media_mb: int = Field(25, ge=1, le=100, description="Largest image, audio, video or "
                              "document taken in as an attachment, in MB.")


class MessengerSettings(_MetaCommon):
    """A Facebook Page's Messenger conversations."""

    page_id: str = Field(description="The Facebook Page's id.")
    page_access_token: Secret = Field(
        NO_SECRET, description="A Page access token with pages_messaging.")
    page_name: str = Field("", description="The Page's name, as the token check found it.")
    greeting: str = Field("", description="The greeting people see before their first message "
                          "(set on the Page when the channel starts).")
    instant_reply: str = Field("", description="Sent once after a person's first message.")


class WhatsAppSettings(_MetaCommon):
    """A WhatsApp Business phone number on the Cloud API."""

    phone_number_id: str = Field(description="The phone number's id (not the number itself).")
    waba_id: str = Field("", description="The WhatsApp Business Account id (templates are "
                         "synced from it).")
    access_token: Secret = Field(
        NO_SECRET, description="A system-user token with whatsapp_business_messaging.")
    display_phone: str = Field("", description="The number, as the token check found it.")
