"""Form definitions: what a hosted form asks, how its answers become a ticket.

One pydantic model (:class:`FormDef`) is the definition everywhere: the TOML a user writes
(``ticketty forms add --from form.toml``, :func:`load_toml`), the JSON the store keeps, the
TUI form builder and the forms channel that renders and validates ``/f/<slug>``. Errors name
the field (``fields[2].options: a select field needs options``), never a pydantic dump.

Every form carries the *ticket fields* (as HubSpot does): ``subject`` and ``description``
shown, ``pipeline``, ``status`` and ``priority`` hidden with editable defaults
(:class:`TicketFieldDefaults`). A field whose key is one of :data:`RESERVED` replaces the
default field of that name (a visible ``priority`` dropdown, a ``subject`` with its own label).
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from engine.models import Priority

FieldType = Literal["text", "textarea", "email", "phone", "number", "select", "radio",
                    "checkboxes", "date", "file", "hidden"]
FIELD_TYPES: tuple[str, ...] = FieldType.__args__  # type: ignore[attr-defined]
#: keys that replace a default ticket field
RESERVED = ("subject", "description", "pipeline", "status", "priority")
#: types whose answer is one of ``options`` (several for checkboxes)
CHOICE_TYPES = ("select", "radio", "checkboxes")
KEY_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")
COLOUR_RE = re.compile(r"^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")


class FormError(ValueError):
    """A definition that cannot be used; the message names the field (one line)."""


class FormField(BaseModel):
    """One question of a form."""

    model_config = ConfigDict(extra="forbid")

    key: str = Field(description="The answer's name (letters, digits, _), unique in the form.")
    label: str = Field("", description="What the visitor reads next to the input.")
    type: FieldType = Field("text", description="The kind of input.")
    required: bool = Field(False, description="The form is refused without an answer.")
    help: str = Field("", description="A line of help under the input.")
    options: list[str] = Field(default_factory=list,
                               description="The choices of a select, radio or checkboxes field.")
    value: str | None = Field(None, description="A hidden field's fixed value.")
    from_query: str | None = Field(
        None, description="A hidden field takes its value from this query-string parameter of"
        " the page the form is on.")

    @field_validator("key")
    @classmethod
    def _key(cls, v: str) -> str:
        if not KEY_RE.match(v):
            raise ValueError("a key is lower-case letters, digits and _, starting with a letter")
        return v

    @model_validator(mode="after")
    def _shape(self) -> FormField:
        if not self.label:
            self.label = self.key.replace("_", " ").capitalize()
        if self.type in CHOICE_TYPES and not self.options:
            raise ValueError(f"options: a {self.type} field needs options")
        if self.type not in CHOICE_TYPES and self.options and self.key not in RESERVED:
            raise ValueError(f"options: only select, radio and checkboxes take options, not"
                             f" {self.type}")
        if self.type == "hidden":
            if (self.value is None) == (self.from_query is None):
                raise ValueError("a hidden field takes either value or from_query")
        elif self.value is not None or self.from_query is not None:
            raise ValueError("value and from_query are for hidden fields only")
        return self

    @property
    def hidden(self) -> bool:
        return self.type == "hidden"


class TicketFieldDefaults(BaseModel):
    """The hidden ticket fields' values; None leaves the channel's default in force."""

    model_config = ConfigDict(extra="forbid")

    pipeline: str | None = None
    status: str | None = None
    priority: Priority | None = None


class FormDef(BaseModel):
    """A whole form (see the module docstring)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="The form's title, shown above it.")
    slug: str = Field(description="Its address: /f/<slug>.")
    fields: list[FormField] = Field(default_factory=list)
    ticket: TicketFieldDefaults = Field(default_factory=TicketFieldDefaults)
    thank_you: str = Field("Thanks, we will be in touch.",
                           description="Shown after a submission (unless redirect is set).")
    redirect: str | None = Field(None, description="Where the browser goes after a submission.")
    accent: str = Field("#2f6feb", description="The accent colour, #rgb or #rrggbb.")
    intro: str = Field("", description="A paragraph under the title.")
    submit_label: str = Field("Send", description="The button's words.")
    max_file_mb: float = Field(5.0, gt=0, le=50, description="Largest file a field takes.")
    file_types: list[str] = Field(
        default_factory=lambda: ["image/png", "image/jpeg", "image/gif", "application/pdf",
                                 "text/plain"],
        description="Content types a file field takes.")

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("a form needs a name")
        return v.strip()

    @field_validator("slug")
    @classmethod
    def _slug(cls, v: str) -> str:
        if not SLUG_RE.match(v):
            raise ValueError("a slug is lower-case letters, digits and -, like contact-us")
        return v

    @field_validator("accent")
    @classmethod
    def _accent(cls, v: str) -> str:
        if not COLOUR_RE.match(v):
            raise ValueError(f"{v!r} is not a colour like #2f6feb")
        return v.lower()

    @field_validator("redirect")
    @classmethod
    def _redirect(cls, v: str | None) -> str | None:
        if v is not None and not re.match(r"^https?://[^\s\"'<>]+$", v):
            raise ValueError("a redirect is an http:// or https:// address")
        return v

    @model_validator(mode="after")
    def _whole(self) -> FormDef:
        seen: set[str] = set()
        for i, f in enumerate(self.fields):
            if f.key in seen:
                raise ValueError(f"fields[{i}].key: {f.key!r} is used twice")
            seen.add(f.key)
        if not any(f.type == "email" for f in self.all_fields()):
            raise ValueError("fields: a form needs an email field (the contact)")
        self.email_field().required = True  # the contact: a submission without one has nobody
        return self

    # ---------------------------------------------------------------- the fields
    def all_fields(self) -> list[FormField]:
        """The fields as the page shows them: the declared ones, then the default ticket
        fields no declared field replaces (subject, description; pipeline, status and
        priority hidden, when the form sets a value for them)."""
        keys = {f.key for f in self.fields}
        out = list(self.fields)
        if "subject" not in keys:
            out.append(FormField(key="subject", label="Subject", required=True))
        if "description" not in keys:
            out.append(FormField(key="description", label="How can we help?", type="textarea",
                                 required=True))
        for key in ("pipeline", "status", "priority"):
            value = getattr(self.ticket, key)
            if key not in keys and value is not None:
                out.append(FormField(key=key, type="hidden", value=str(value)))
        return out

    def email_field(self) -> FormField:
        """The first email field: the contact (always required)."""
        return next(f for f in self.fields if f.type == "email")


def _where(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def error_line(exc: ValidationError) -> str:
    """The first problem of a validation error, naming its field: ``fields[1].options: …``."""
    err = exc.errors()[0]
    base = _where(tuple(err["loc"]))
    msg = err["msg"].removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        msg = "unknown key"
    elif err["type"] == "missing":
        msg = "required"
    head, sep, rest = msg.partition(": ")
    if sep and " " not in head:  # the validator named a field below ``base``
        return f"{base}.{head}: {rest}" if base else f"{head}: {rest}"
    return f"{base or 'form'}: {msg}"


def parse_form(data: dict[str, Any]) -> FormDef:
    """A definition from plain data (TOML, JSON); :class:`FormError` names the bad field."""
    try:
        return FormDef.model_validate(data)
    except ValidationError as exc:
        raise FormError(error_line(exc)) from None


def load_toml(path: str | Path) -> FormDef:
    """A definition from a TOML file (see ``docs/forms.md``)."""
    p = Path(path)
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FormError(f"{p}: no such file") from None
    except tomllib.TOMLDecodeError as exc:
        raise FormError(f"{p}: not valid TOML: {exc}") from None
    except UnicodeDecodeError:
        raise FormError(f"{p}: not UTF-8 text") from None
    try:
        return parse_form(data)
    except FormError as exc:
        raise FormError(f"{p}: {exc}") from None


def to_toml(form: FormDef) -> str:
    """The definition as TOML ``load_toml`` reads back (the TUI builder's export)."""
    def val(v: Any) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, int | float):
            return repr(v)
        if isinstance(v, list):
            return "[" + ", ".join(val(x) for x in v) + "]"
        import json

        return json.dumps(str(v), ensure_ascii=False)

    data = form.model_dump(mode="json", exclude_defaults=True)
    lines = [f"{k} = {val(v)}" for k, v in data.items() if k not in ("fields", "ticket")]
    if data.get("ticket"):
        lines += ["", "[ticket]", *(f"{k} = {val(v)}" for k, v in data["ticket"].items())]
    for f in form.fields:
        lines += ["", "[[fields]]"]
        lines += [f"{k} = {val(v)}" for k, v in f.model_dump(mode="json",
                                                             exclude_defaults=True).items()]
    return "\n".join(lines) + "\n"
