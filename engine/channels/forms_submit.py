"""A form submission: checking what was posted against the form, and the message it becomes.

Pure functions (no I/O): :func:`check` turns the posted values and files into answers or
field errors (each in words, shown next to its input); :func:`build_message` turns checked
answers into the one :class:`~engine.models.InboundMessage` the ingest pipeline takes — the
visible answers on the thread as ``Label: value`` lines, the description under them, files
as attachments, and *every* answer (hidden ones too) in ``extra["form_submission"]``, which
the ingest transaction keeps for the contact's timeline (:mod:`engine.store.forms`).
"""

from __future__ import annotations

import mimetypes
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from engine.form_defs import FormDef, FormField
from engine.models import InboundAttachment, InboundMessage, Priority, normalize_email
from engine.phones import PhoneError, normalize_phone

#: longest answer kept, by type (characters)
MAX_CHARS = {"textarea": 20_000}
DEFAULT_MAX_CHARS = 1_000

Answer = str | list[str]


@dataclass(frozen=True)
class Upload:
    """One file as it was posted."""

    filename: str
    content_type: str
    data: bytes


@dataclass
class Checked:
    """What :func:`check` made of a submission: the answers (as typed, for showing the form
    again), the field errors by key, and the files by key."""

    values: dict[str, Answer] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    uploads: dict[str, list[Upload]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors


def _one(f: FormField, raw: str, form: FormDef) -> tuple[str, str | None]:
    """An answer as kept, and the error in words (None: fine)."""
    value = raw.strip()
    limit = MAX_CHARS.get(f.type, DEFAULT_MAX_CHARS)
    if len(value) > limit:
        return value[:limit], f"Keep this under {limit:,} characters."
    if not value:
        return "", "Please fill this in." if f.required else None
    if f.type == "email":
        try:
            return normalize_email(value), None
        except ValueError:
            return value, "Enter an email address like name@example.com."
    if f.type == "phone":
        try:
            return normalize_phone(value), None
        except PhoneError:
            return value, "Enter a phone number with its country code, like +44 20 7946 0000."
    if f.type == "number":
        try:
            float(value)
        except ValueError:
            return value, "Enter a number."
        return value, None
    if f.type == "date":
        try:
            date.fromisoformat(value)
        except ValueError:
            return value, "Enter a date like 2026-01-31."
        return value, None
    if f.type in ("select", "radio") and value not in f.options:
        return value, "Choose one of the options."
    return value, None


def _file(f: FormField, uploads: Sequence[Upload], form: FormDef
          ) -> tuple[list[Upload], str | None]:
    files = [u for u in uploads if u.filename or u.data]
    if not files:
        return [], "Please choose a file." if f.required else None
    limit = int(form.max_file_mb * 1024 * 1024)
    for u in files:
        kind = u.content_type
        if not kind or kind == "application/octet-stream":
            kind = mimetypes.guess_type(u.filename)[0] or "application/octet-stream"
        if kind not in form.file_types:
            return [], f"{u.filename or 'This file'}: choose a file of type " \
                       f"{', '.join(form.file_types)}."
        if len(u.data) > limit:
            return [], f"{u.filename or 'This file'} is larger than {form.max_file_mb:g} MB."
    return files, None


def check(form: FormDef, posted: Mapping[str, Sequence[str]],
          files: Mapping[str, Sequence[Upload]]) -> Checked:
    """Check a submission against ``form`` (see the module docstring)."""
    out = Checked()
    for f in form.all_fields():
        got = list(posted.get(f.key, ()))
        error: str | None = None
        if f.type == "hidden":
            value = f.value if f.value is not None else (got[0] if got else "")
            out.values[f.key] = value[:DEFAULT_MAX_CHARS]
            continue
        if f.type == "file":
            kept, error = _file(f, files.get(f.key, ()), form)
            if kept:
                out.uploads[f.key] = kept
            out.values[f.key] = ", ".join(u.filename for u in kept)
        elif f.type == "checkboxes":
            chosen = [v for v in got if v]
            out.values[f.key] = chosen
            if any(v not in f.options for v in chosen):
                error = "Choose among the options."
            elif f.required and not chosen:
                error = "Please choose at least one."
        else:
            out.values[f.key], error = _one(f, got[0] if got else "", form)
        if error:
            out.errors[f.key] = error
    return out


def _shown(value: Answer) -> str:
    return ", ".join(value) if isinstance(value, list) else value


def thread_text(form: FormDef, values: Mapping[str, Answer]) -> str:
    """The visible answers as ``Label: value`` lines, then the description."""
    lines = []
    for f in form.all_fields():
        if f.hidden or f.key in ("subject", "description"):
            continue
        value = _shown(values.get(f.key, ""))
        if value:
            lines.append(f"{f.label}: {value}")
    description = _shown(values.get("description", ""))
    return "\n".join(lines) + (f"\n\n{description}" if description else "")


def _sender_name(values: Mapping[str, Answer]) -> str:
    name = _shown(values.get("name", ""))
    if name:
        return name
    return " ".join(_shown(values.get(k, "")) for k in ("first_name", "last_name")).strip()


def build_message(form: FormDef, checked: Checked, *, channel_id: int | None, key: str,
                  page_url: str | None, received_at: datetime) -> InboundMessage:
    """The message a checked submission becomes (see the module docstring)."""
    values = checked.values
    email = _shown(values[form.email_field().key])
    every = [{"key": f.key, "label": f.label, "type": f.type, "value": values.get(f.key, ""),
              "hidden": f.hidden} for f in form.all_fields()]
    extra: dict[str, Any] = {"form_submission": {"form": form.slug, "fields": every,
                                                 "page_url": page_url}}
    priority = _shown(values.get("priority", ""))
    if priority in Priority.__members__:
        extra["priority"] = priority
    for key in ("pipeline", "status"):
        if _shown(values.get(key, "")):
            extra[key] = _shown(values[key])
    subject = _shown(values.get("subject", "")) or form.name
    attachments = [InboundAttachment(filename=u.filename or "upload", data=u.data,
                                     content_type=u.content_type or "application/octet-stream")
                   for f in form.all_fields() for u in checked.uploads.get(f.key, ())]
    return InboundMessage(
        channel_id=channel_id, key=key, sender_kind="email", sender=email,
        sender_name=_sender_name(values), subject=subject, text=thread_text(form, values),
        attachments=attachments, received_at=received_at, extra=extra)
