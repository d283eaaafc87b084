"""Settings of one email channel.

One declaration drives the setup wizard, the settings form and the CLI's
``ticketty channels add email --set key=value``: every field carries a description (shown as
help text) and a type pydantic validates. Unknown keys are rejected (``extra="forbid"``) so a
typo in ``--set`` names the bad key instead of being silently dropped.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from engine.models import normalize_email

Security = Literal["ssl", "starttls", "none"]

#: Token endpoints used when ``oauth_token_url`` is left empty.
OAUTH_TOKEN_URLS: dict[str, str] = {
    "gmail": "https://oauth2.googleapis.com/token",
    "office365": "https://login.microsoftonline.com/common/oauth2/v2.0/token",
}


class EmailSettings(BaseModel):
    """Everything an email channel needs to receive (IMAP or forwarding) and send (SMTP)."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    address: str = Field(description="The channel's email address; replies are sent from it.")
    mode: Literal["imap", "forwarding"] = Field(
        "imap",
        description="How mail arrives: 'imap' reads a mailbox; 'forwarding' runs an SMTP "
        "listener that your mail provider forwards to.",
    )

    # -- IMAP ------------------------------------------------------------------------------
    imap_host: str = Field("", description="IMAP server host name, e.g. imap.example.com.")
    imap_port: int = Field(
        993, ge=1, le=65535, description="IMAP server port (993 SSL, 143 STARTTLS/plain)."
    )
    imap_user: str = Field("", description="IMAP login name (often the full address).")
    imap_password: str = Field(
        "", description="IMAP password or app password (not used with OAuth)."
    )
    imap_security: Security = Field(
        "ssl", description="IMAP connection security: ssl (implicit TLS), starttls, or none."
    )
    imap_folder: str = Field("INBOX", description="Mailbox folder to read new mail from.")
    after_fetch: Literal["none", "seen", "move"] = Field(
        "none",
        description="What to do with a mail after its ticket is saved: leave it, mark it "
        "seen, or move it to move_folder.",
    )
    move_folder: str = Field(
        "Processed", description="Folder mails are moved to when after_fetch is 'move'."
    )

    # -- SMTP ------------------------------------------------------------------------------
    smtp_host: str = Field("", description="SMTP submission server host name.")
    smtp_port: int = Field(
        587, ge=1, le=65535, description="SMTP port (465 SSL, 587 STARTTLS, 25 plain)."
    )
    smtp_user: str = Field("", description="SMTP login name; empty for no authentication.")
    smtp_password: str = Field("", description="SMTP password (not used with OAuth).")
    smtp_security: Security = Field(
        "starttls", description="SMTP connection security: ssl (implicit TLS), starttls, or none."
    )

    # -- Outgoing presentation ---------------------------------------------------------------
    from_name_mode: Literal["agent_and_company", "company"] = Field(
        "agent_and_company",
        description="Sender name on replies: '<agent> at <company>' or the company name only.",
    )
    company_name: str = Field("", description="Company name shown in the sender name of replies.")
    signature: str = Field(
        "",
        description="Signature appended to replies; {full_name}, {first_name} and {last_name} "
        "are replaced by the sending agent's name.",
    )
    signature_html: str = Field(
        "",
        description="Optional HTML signature for the HTML part of replies (same name tokens); "
        "empty = the plain signature, escaped.",
    )

    # -- Automatic acknowledgement -----------------------------------------------------------
    auto_reply: bool = Field(
        False,
        description="Acknowledge each new ticket by email automatically (never in answer to an "
        "automatic mail, and at most auto_reply_limit per sender per day).",
    )
    auto_reply_text: str = Field(
        "Thanks for writing to us. We received your message and will answer soon. "
        "Your ticket number is {ticket}.",
        description="Text of the automatic acknowledgement; {ticket} is the ticket number.",
    )
    auto_reply_limit: int = Field(
        3, ge=1, le=100, description="Most automatic acknowledgements one sender gets per day."
    )

    # -- Understanding ---------------------------------------------------------------------
    customer_address: Literal["from", "reply_to"] = Field(
        "from",
        description="Who the customer is when a mail has a Reply-To: 'from' (the sender; "
        "mailing lists and people with a second address set Reply-To too) or 'reply_to' (for "
        "web-form relays that send from their own address). Replies go to Reply-To either way.",
    )
    use_original_sender: bool = Field(
        True,
        description="Credit mail forwarded in by an agent (or via this address) to the original "
        "sender found in the forwarded block.",
    )

    # -- OAuth2 (XOAUTH2) ------------------------------------------------------------------
    oauth_provider: Literal["", "gmail", "office365"] = Field(
        "", description="Use OAuth2 (XOAUTH2) with this provider instead of passwords; empty = off."
    )
    oauth_client_id: str = Field("", description="OAuth2 client id of the registered app.")
    oauth_client_secret: str = Field(
        "", description="OAuth2 client secret (may be empty for public clients)."
    )
    oauth_refresh_token: str = Field(
        "", description="OAuth2 refresh token granted for the mailbox."
    )
    oauth_token_url: str = Field(
        "", description="OAuth2 token endpoint; empty = the provider's default."
    )

    # -- Forwarding listener ---------------------------------------------------------------
    forward_listen_host: str = Field(
        "127.0.0.1", description="Address the forwarding SMTP listener binds to."
    )
    forward_listen_port: int = Field(
        2525,
        ge=0,
        le=65535,
        description="Port of the forwarding SMTP listener (0 = any free port).",
    )
    max_message_bytes: int = Field(
        25 * 1024 * 1024,
        ge=1024,
        description="Largest mail accepted, in bytes (bigger ones are refused).",
    )

    @field_validator("address")
    @classmethod
    def _address(cls, v: str) -> str:
        return normalize_email(v)

    @model_validator(mode="after")
    def _consistent(self) -> EmailSettings:
        if self.mode == "imap" and not self.imap_host:
            raise ValueError("imap_host is required when mode is 'imap'")
        if self.oauth_provider and not (self.oauth_client_id and self.oauth_refresh_token):
            raise ValueError(
                "oauth_client_id and oauth_refresh_token are required with oauth_provider"
            )
        return self

    @property
    def token_url(self) -> str:
        """The OAuth2 token endpoint to use (explicit setting, else the provider default)."""
        return self.oauth_token_url or OAUTH_TOKEN_URLS.get(self.oauth_provider, "")

    @property
    def domain(self) -> str:
        """Domain part of the channel address (used for our Message-IDs)."""
        return self.address.rpartition("@")[2]


def describe_fields() -> list[tuple[str, str, str]]:
    """``(key, type name, description)`` per setting — for ``--help`` and the settings form."""
    out: list[tuple[str, str, str]] = []
    for name, f in EmailSettings.model_fields.items():
        ann = f.annotation
        tname = getattr(ann, "__name__", None) or str(ann).replace("typing.", "")
        out.append((name, tname, f.description or ""))
    return out
