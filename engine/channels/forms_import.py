"""``ticketty import forms FILE --form SLUG``: past submissions of a form, as closed tickets.

The CSV's header names the form's field keys (any subset; ``email``'s key is required), plus
optionally ``submitted_at`` (ISO 8601) and ``page_url``. The whole file is read and checked
first — an unknown column, a row without an email, an answer its field refuses — and refused
with ``file:line: key: why`` before anything is written. Each row is then one submission
through the ingest pipeline (:func:`engine.channels.forms_submit.build_message`): a ticket in
the pipeline's closed status, its visible answers on the thread, every answer on the
contact's timeline. A row's key is a digest of the file and the row, so importing the same
file again changes nothing.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from engine.channels.forms_submit import build_message, check
from engine.form_defs import FormDef
from engine.importers import ImportError_, ImportReport, import_messages
from engine.models import InboundMessage, Source

if TYPE_CHECKING:
    from engine.store import Store

EXTRA_COLUMNS = ("submitted_at", "page_url")


def read_submissions(path: Path, form: FormDef, *, channel_id: int | None,
                     status: str) -> list[InboundMessage]:
    """Every row as a message (nothing written); :class:`ImportError_` names the bad cell."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ImportError_(f"{path}: no such file") from None
    except UnicodeDecodeError as exc:
        raise ImportError_(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    if not reader.fieldnames:
        raise ImportError_(f"{path}: empty file (a header row naming the form's field keys"
                           " is required)")
    header = [h.strip() for h in reader.fieldnames]
    keys = [f.key for f in form.all_fields()]
    unknown = [h for h in header if h not in keys and h not in EXTRA_COLUMNS]
    if unknown:
        raise ImportError_(f"{path}: unknown column(s): {', '.join(unknown)} (form"
                           f" {form.slug!r} has: {', '.join([*keys, *EXTRA_COLUMNS])})")
    email = form.email_field().key
    if email not in header:
        raise ImportError_(f"{path}: missing the email column {email!r}")
    reader.fieldnames = header
    file_id = hashlib.sha256(text.encode()).hexdigest()[:12]
    out: list[InboundMessage] = []
    # a past submission's answers are checked as typed, but not for being required: the form
    # may have gained required fields since; only the email must be there
    lenient = form.model_copy(update={"fields": [
        f.model_copy(update={"required": f.key == email}) for f in form.all_fields()
        if f.type != "file"]})
    for row in reader:
        where = f"{path}:{reader.line_num}"
        if None in row:
            raise ImportError_(f"{where}: more fields than columns")
        posted = {k: [v] for k, v in row.items() if k in keys and v is not None}
        checked = check(lenient, posted, {})
        if checked.errors:
            key, why = next(iter(checked.errors.items()))
            raise ImportError_(f"{where}: {key}: {why}")
        when = datetime.now(UTC)
        if (row.get("submitted_at") or "").strip():
            try:
                when = datetime.fromisoformat(row["submitted_at"].strip().replace("Z", "+00:00"))
            except ValueError:
                raise ImportError_(f"{where}: submitted_at {row['submitted_at']!r} is not an"
                                   " ISO 8601 time") from None
            when = when if when.tzinfo else when.replace(tzinfo=UTC)
        digest = hashlib.sha256(repr(sorted(row.items())).encode()).hexdigest()[:16]
        msg = build_message(lenient, checked, channel_id=channel_id,
                            key=f"form-import:{file_id}:{digest}",
                            page_url=(row.get("page_url") or "").strip() or None,
                            received_at=when)
        out.append(msg.model_copy(update={"import_status": status, "source": Source.import_}))
    return out


async def import_forms(store: Store, path: Path, slug: str, *, channel_name: str | None = None,
                       status: str = "closed",
                       progress: Callable[[int, int], None] | None = None) -> ImportReport:
    """Import ``path`` as submissions of form ``slug``, tickets in ``status`` (see the module
    docstring)."""
    form = await store.form(slug)
    if form is None:
        raise ImportError_(f"--form: no form with slug {slug!r} (see `ticketty forms list`)")
    channels = [c for c in await store.channels() if c.kind == "forms"]
    if channel_name:
        channel = next((c for c in channels if c.name == channel_name), None)
        if channel is None:
            raise ImportError_(f"--channel: no forms channel named {channel_name!r}")
    else:
        channel = next((c for c in channels if c.settings.get("form") == slug), None)
    pipeline = channel.defaults.pipeline if channel else "Support"
    found = next((p for p in await store.pipelines() if p.name == pipeline), None)
    if found is not None and found.status(status) is None:
        raise ImportError_(f"--status: {status!r} is not a status of pipeline {found.name!r}"
                           f" ({', '.join(s.name for s in found.statuses)})")
    messages = read_submissions(path, form, channel_id=channel.id if channel else None,
                                status=status)
    return await import_messages(store, messages, progress)
