"""Bulk imports: CSV of tickets (and mail archives, see :mod:`engine.mail_import`).

A CSV file is validated completely before anything is written, so a malformed file writes
nothing. Rows are then ingested in chunks, one transaction each, keyed by ``external_id``
(or by file line): a rerun — also after a kill -9 halfway — creates nothing twice.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from engine.ingest import ingest_many
from engine.models import PRIORITY_RANK, InboundMessage, IngestResult, Source, normalize_email
from engine.store import Store

CSV_COLUMNS = ["subject", "from_email", "from_name", "body", "status", "priority",
               "created_at", "external_id"]
CSV_REQUIRED = ["subject", "from_email"]
CHUNK = 2000


class ImportError_(ValueError):
    """A file that cannot be imported; the message says where and why."""


@dataclass
class ImportReport:
    """Where every input went: ``read == created + threaded + duplicates + quarantined +
    bounces + skipped``, always (nothing read goes uncounted).

    ``created``: became a new ticket; ``threaded``: joined an existing ticket (a reply, a
    delivery notice, one of our own answers in a mail archive); ``duplicates``: already there;
    ``quarantined``: kept raw for an admin (unparseable, or a bounce for nothing we sent);
    ``bounces``: marked one of our sent messages failed; ``skipped``: left out on purpose
    (older than ``--since``, or mail between our own addresses).
    """

    read: int = 0
    created: int = 0
    threaded: int = 0
    duplicates: int = 0
    quarantined: int = 0
    bounces: int = 0
    skipped: int = 0

    @property
    def rows(self) -> int:  # the CSV importer's word for ``read``
        return self.read

    def count(self, results: list[IngestResult]) -> None:
        """Account for ingest results (each counted in exactly one bucket)."""
        for r in results:
            self.read += 1
            if r.duplicate:
                self.duplicates += 1
            elif r.quarantined:
                self.quarantined += 1
            elif r.bounce_marked:
                self.bounces += 1
            elif r.created_ticket:
                self.created += 1
            else:
                self.threaded += 1

    def add(self, other: ImportReport) -> None:
        for name in ("read", "created", "threaded", "duplicates", "quarantined", "bounces",
                     "skipped"):
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def as_dict(self) -> dict[str, int]:
        return {"read": self.read, "rows": self.read, "created": self.created,
                "threaded": self.threaded, "duplicates": self.duplicates,
                "quarantined": self.quarantined, "bounces": self.bounces,
                "skipped": self.skipped}

    def summary(self) -> str:
        """One line for people: every bucket, so the sum visibly equals what was read."""
        return (f"read {self.read}: {self.created} new tickets, {self.threaded} added to"
                f" existing tickets, {self.duplicates} already there, {self.quarantined}"
                f" quarantined, {self.bounces} bounces, {self.skipped} skipped")


def _parse_time(value: str, where: str) -> datetime:
    try:
        when = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ImportError_(f"{where}: created_at {value!r} is not an ISO 8601 time") from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def read_text(path: Path) -> str:
    """An import file's text (UTF-8, a BOM allowed), or :class:`ImportError_` saying why not."""
    try:
        return path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ImportError_(f"{path}: no such file") from None
    except UnicodeDecodeError as exc:
        raise ImportError_(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None


def read_csv(path: Path, statuses: set[str]) -> list[InboundMessage]:
    """Parse and validate the whole file (nothing is written here)."""
    text = read_text(path)
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = reader.fieldnames
    if not header:
        raise ImportError_(f"{path}: empty file (a header row is required)")
    header = [h.strip() for h in header]
    unknown = [h for h in header if h not in CSV_COLUMNS]
    if unknown:
        raise ImportError_(f"{path}: unknown column(s): {', '.join(unknown)} "
                           f"(known: {', '.join(CSV_COLUMNS)})")
    missing = [c for c in CSV_REQUIRED if c not in header]
    if missing:
        raise ImportError_(f"{path}: missing required column(s): {', '.join(missing)}")
    reader.fieldnames = header
    file_id = hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:12]
    out: list[InboundMessage] = []
    now = datetime.now(UTC)
    for row in reader:
        line = reader.line_num
        where = f"{path}:{line}"
        if None in row:
            raise ImportError_(f"{where}: more fields than columns")
        subject = (row.get("subject") or "").strip()
        if not subject:
            raise ImportError_(f"{where}: subject is empty")
        try:
            email = normalize_email(row.get("from_email") or "")
        except ValueError as exc:
            raise ImportError_(f"{where}: from_email: {exc}") from None
        status = (row.get("status") or "").strip() or None
        if status and status not in statuses:
            raise ImportError_(f"{where}: status {status!r} is not a known status "
                               f"({', '.join(sorted(statuses))})")
        priority = (row.get("priority") or "").strip().lower() or None
        if priority and priority not in PRIORITY_RANK:
            raise ImportError_(f"{where}: priority {priority!r} must be one of "
                               f"{', '.join(PRIORITY_RANK)}")
        created = _parse_time(row["created_at"], where) if (row.get("created_at") or "").strip() else now
        ext = (row.get("external_id") or "").strip()
        key = f"csv:{ext}" if ext else f"csv:{file_id}:{line}"
        out.append(InboundMessage(
            channel_id=None, key=key, sender=email, sender_name=(row.get("from_name") or "").strip(),
            subject=subject, text=row.get("body") or "", received_at=created,
            import_status=status or "new", source=Source.import_,
            extra={"priority": priority} if priority else {},
        ))
    return out


async def import_messages(store: Store, messages: list[InboundMessage],
                          progress: Callable[[int, int], None] | None = None) -> ImportReport:
    return await import_batches(lambda batch: ingest_many(store, batch), messages, progress)


async def import_batches(ingest: Callable[[Sequence[InboundMessage]], Awaitable[list[IngestResult]]],
                         messages: list[InboundMessage],
                         progress: Callable[[int, int], None] | None = None) -> ImportReport:
    """Ingest ``messages`` in chunks of :data:`CHUNK`, one transaction each (``ingest`` takes
    a chunk: a store's ``ingest_many``, or a channel host's), and account for every one."""
    report = ImportReport()
    for start in range(0, len(messages), CHUNK):
        report.count(await ingest(messages[start:start + CHUNK]))
        if progress:
            progress(min(start + CHUNK, len(messages)), len(messages))
    return report


async def import_csv(store: Store, path: Path,
                     progress: Callable[[int, int], None] | None = None) -> ImportReport:
    statuses = {s.name for p in await store.pipelines() for s in p.statuses}
    messages = read_csv(path, statuses)
    return await import_messages(store, messages, progress)
