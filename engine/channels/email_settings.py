"""Settings of one email channel.

One declaration drives the setup wizard, the settings form and the CLI's
``ticketty channels add email --set key=value``: every field carries a description (shown as
help text) and a type pydantic validates. Secrets are typed :data:`engine.vault.Secret`
(sealed in the database, masked everywhere, password fields in forms). Unknown keys are rejected (``extra="forbid"``) so a
typo in ``--set`` names the bad key instead of being silently dropped.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic.json_schema import JsonDict

from engine.models import normalize_email
from engine.vault import NO_SECRET, Secret

Security = Literal["ssl", "starttls", "none"]
#: the words forms show for each connection security
SECURITY_WORDS = {"ssl": "SSL/TLS from the start", "starttls": "STARTTLS (encrypt after "
                  "connecting)", "none": "Not encrypted (only for a server on this machine)"}

#: Endpoints used when the ``oauth_*_url`` settings are left empty.
OAUTH_TOKEN_URLS: dict[str, str] = {
    "gmail": "https://oauth2.googleapis.com/token",
    "office365": "https://login.microsoftonline.com/common/oauth2/v2.0/token",
}
OAUTH_AUTHORIZE_URLS: dict[str, str] = {
    "gmail": "https://accounts.google.com/o/oauth2/v2/auth",
    "office365": "https://login.microsoftonline.com/common/oauth2/v2.0/authorize",
}
OAUTH_DEVICE_URLS: dict[str, str] = {
    "office365": "https://login.microsoftonline.com/common/oauth2/v2.0/devicecode",
}


def _choices(**words: str) -> JsonDict:
    """``json_schema_extra`` holding the words forms show for each value of a choice."""
    choices: JsonDict = dict(words)
    return {"choices": choices}


class EmailSettings(BaseModel):
    """Everything an email channel needs to receive (IMAP or forwarding) and send (SMTP).

    Descriptions are plain words: the CLI adds the values to type and the default, forms show
    the choices' words (``json_schema_extra["choices"]``), see :mod:`engine.channels.setup`.
    """

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    address: str = Field(description="The channel's email address; replies are sent from it.")
    mode: Literal["imap", "forwarding"] = Field(
        "imap",
        description="How mail arrives: ticketty reads a mailbox, or your mail provider forwards "
        "mail to ticketty's own SMTP listener.",
        json_schema_extra=_choices(imap="Read a mailbox (IMAP)",
                                   forwarding="Forwarded to ticketty's listener"),
    )

    # -- IMAP ------------------------------------------------------------------------------
    imap_host: str = Field("", description="IMAP server host name, e.g. imap.example.com.")
    imap_port: int = Field(
        993, ge=1, le=65535,
        description="IMAP server port: usually 993 with SSL/TLS, 143 with STARTTLS.",
    )
    imap_user: str = Field("", description="IMAP login name (often the full address).")
    imap_password: Secret = Field(
        NO_SECRET, description="IMAP password or app password (not needed when you sign in with "
        "Google or Microsoft).",
    )
    imap_security: Security = Field(
        "ssl", description="How the IMAP connection is encrypted.",
        json_schema_extra=_choices(**SECURITY_WORDS),
    )
    imap_folder: str = Field("INBOX", description="Mailbox folder to read new mail from.")
    after_fetch: Literal["none", "seen", "move"] = Field(
        "none",
        description="What happens to a mail in the mailbox once its ticket is saved.",
        json_schema_extra=_choices(none="Leave it as it is", seen="Mark it as read",
                                   move="Move it to another folder"),
    )
    move_folder: str = Field(
        "Processed", description="Folder mails are moved to once their ticket is saved, when "
        "they are moved."
    )

    # -- SMTP ------------------------------------------------------------------------------
    smtp_host: str = Field("", description="SMTP server for sending replies, e.g. "
                           "smtp.example.com.")
    smtp_port: int = Field(
        587, ge=1, le=65535,
        description="SMTP port: usually 587 with STARTTLS, 465 with SSL/TLS, 25 without.",
    )
    smtp_user: str = Field("", description="SMTP login name; leave it empty if the server "
                           "needs no login.")
    smtp_password: Secret = Field(NO_SECRET, description="SMTP password (not needed when you "
                                  "sign in with Google or Microsoft).")
    smtp_security: Security = Field(
        "starttls", description="How the SMTP connection is encrypted.",
        json_schema_extra=_choices(**SECURITY_WORDS),
    )

    # -- Outgoing presentation ---------------------------------------------------------------
    from_name_mode: Literal["agent_and_company", "company"] = Field(
        "agent_and_company",
        description="Sender name on replies: the agent's name with the company's, or the "
        "company's alone.",
        json_schema_extra=_choices(agent_and_company="Agent at Company", company="Company only"),
    )
    company_name: str = Field("", description="Company name shown in the sender name of replies.")
    signature: str = Field(
        "",
        description="Signature added to replies; {full_name}, {first_name} and {last_name} "
        "become the sending agent's name.",
    )
    signature_html: str = Field(
        "",
        description="Optional HTML signature for the HTML part of replies (same name tokens); "
        "left empty, the plain signature is used.",
    )

    # -- Automatic acknowledgement -----------------------------------------------------------
    auto_reply: bool = Field(
        False,
        description="Acknowledge each new ticket by email automatically (never in answer to an "
        "automatic mail, and only a few times a day per sender).",
    )
    auto_reply_text: str = Field(
        "Thanks for writing to us. We received your message and will answer soon. "
        "Your ticket number is {ticket}.",
        description="Text of the automatic acknowledgement; {ticket} becomes the ticket number.",
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
        "", description="Sign in with Google or Microsoft instead of using passwords.",
        json_schema_extra=_choices(**{"": "No, use passwords", "gmail": "Google",
                                      "office365": "Microsoft 365"}),
    )
    oauth_client_id: str = Field("", description="Client ID of the app you registered with "
                                 "Google or Microsoft for signing in.")
    oauth_client_secret: Secret = Field(
        NO_SECRET, description="Client secret of that app (Google gives one to desktop apps too; "
        "Microsoft apps that allow public client flows have none).",
    )
    oauth_refresh_token: Secret = Field(
        NO_SECRET, description="What signing in grants: ticketty stores it as a secret and uses it "
        "to get short-lived access tokens. Sign in again to replace it.",
    )
    oauth_token_url: str = Field(
        "", description="Token endpoint for signing in; leave it empty for Google's or "
        "Microsoft's."
    )
    oauth_authorize_url: str = Field(
        "", description="Page where the browser signs in (Google); leave it empty for "
        "the provider's."
    )
    oauth_device_url: str = Field(
        "", description="Where a sign-in code is requested (Microsoft); leave it empty for "
        "the provider's."
    )

    # -- Forwarding listener ---------------------------------------------------------------
    forward_listen_host: str = Field(
        "127.0.0.1", description="Network address the forwarding listener accepts mail on: "
        "0.0.0.0 for every address of this machine, 127.0.0.1 for this machine only."
    )
    forward_listen_port: int = Field(
        2525,
        ge=0,
        le=65535,
        description="Port the forwarding listener accepts mail on; 0 picks any free port "
        "(tests and the demo).",
    )
    max_message_bytes: int = Field(
        25 * 1024 * 1024,
        ge=1024,
        description="Largest mail accepted, in bytes; bigger ones are refused.",
    )
    forward_max_connections: int = Field(
        50,
        ge=1,
        le=10000,
        description="Most SMTP connections the forwarding listener serves at once; one more "
        "is told 421 (try again later).",
    )
    forward_idle_timeout: float = Field(
        60.0,
        gt=0,
        le=3600,
        description="Seconds the forwarding listener waits for the next command or the next "
        "bytes of a mail before it closes the connection.",
    )
    forward_data_timeout: float = Field(
        600.0,
        gt=0,
        le=7200,
        description="Seconds one mail's DATA transfer may take in all on the forwarding "
        "listener.",
    )

    @field_validator("address")
    @classmethod
    def _address(cls, v: str) -> str:
        return normalize_email(v)

    @model_validator(mode="after")
    def _consistent(self) -> EmailSettings:
        if self.mode == "imap" and not self.imap_host:
            raise ValueError("imap_host is required when mode is 'imap'")
        if self.oauth_provider and not self.oauth_client_id:
            # without a refresh token yet the channel is saved but reads "needs sign-in"
            raise ValueError("oauth_client_id is required to sign in with oauth_provider")
        return self

    @property
    def token_url(self) -> str:
        """The OAuth2 token endpoint to use (explicit setting, else the provider default)."""
        return self.oauth_token_url or OAUTH_TOKEN_URLS.get(self.oauth_provider, "")

    @property
    def authorize_url(self) -> str:
        """Where the browser signs in (authorization-code flow)."""
        return self.oauth_authorize_url or OAUTH_AUTHORIZE_URLS.get(self.oauth_provider, "")

    @property
    def device_url(self) -> str:
        """Where a device code is requested (device-code flow)."""
        return self.oauth_device_url or OAUTH_DEVICE_URLS.get(self.oauth_provider, "")

    @property
    def domain(self) -> str:
        """Domain part of the channel address (used for our Message-IDs)."""
        return self.address.rpartition("@")[2]

