"""Settings of one forms channel: which form it serves, how replies reach the submitter, and
its guards against spam. One declaration drives ``channels add forms --set``, the settings
form and the wizard (see :mod:`engine.channels.setup`)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from engine.form_defs import SLUG_RE


class FormsSettings(BaseModel):
    """A forms channel serves one form (``ticketty forms …``) at ``/f/<slug>``."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    form: str = Field(description="The slug of the form this channel serves (see `ticketty"
                      " forms list`).")
    reply_channel: str = Field(
        "", description="The email channel an agent's reply to a form ticket goes out"
        " through, to the submitter's email address (empty: the first email channel).")
    min_fill_seconds: int = Field(
        3, ge=0, le=3600, description="A submission sent sooner than this after the page was"
        " opened is taken for a bot and refused.")
    rate_per_minute: int = Field(
        10, ge=0, le=10_000, description="Submissions one address may send per minute"
        " (0: no limit beyond the front door's own).")
    rate_burst: int = Field(5, ge=1, le=10_000,
                            description="Submissions one address may send in a burst.")
    max_body_kb: int = Field(
        10_240, ge=16, le=102_400, description="Largest submission, files included, in KB.")

    @field_validator("form")
    @classmethod
    def _slug(cls, v: str) -> str:
        v = v.strip()
        if not SLUG_RE.match(v):
            raise ValueError("the slug of a form, like contact (see `ticketty forms list`)")
        return v
