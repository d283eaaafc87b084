"""Importing mail history: ``.eml`` files, mbox and Maildir (and IMAP history, see the adapter).

Mail is parsed with the channel's parser, sorted by date so that threads rebuild (a reply
finds the ticket its parent opened), and ingested in chunks as tickets in a chosen status
with no routing and no notifications. The Message-ID is the idempotency key, so rerunning an
import — also after it was killed — creates nothing twice. Mail that cannot be parsed is
quarantined with its bytes and the reason, and the import goes on.
"""

from __future__ import annotations

import mailbox
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

from engine.channels.email_parse import EmailParseError, parse_email
from engine.importers import ImportError_, ImportReport, import_messages
from engine.models import InboundMessage, Source
from engine.store import Store


def iter_raw(fmt: str, path: Path) -> Iterator[tuple[str, bytes]]:
    """``(where, raw bytes)`` of every mail in an eml file/folder, an mbox or a Maildir."""
    if not path.exists():
        raise ImportError_(f"{path}: no such file or directory")
    if fmt == "eml":
        files = sorted(path.rglob("*.eml")) if path.is_dir() else [path]
        for f in files:
            yield str(f), f.read_bytes()
    elif fmt == "mbox":
        if not path.is_file():
            raise ImportError_(f"{path}: an mbox must be a file")
        box = mailbox.mbox(str(path), create=False)
        for key in box.iterkeys():
            yield f"{path}#{key}", box.get_bytes(key)
    elif fmt == "maildir":
        if not (path / "cur").is_dir() and not (path / "new").is_dir():
            raise ImportError_(f"{path}: not a Maildir (no cur/ or new/ folder)")
        box = mailbox.Maildir(str(path), factory=None, create=False)
        for key in box.iterkeys():
            yield f"{path}/{key}", box.get_bytes(key)
    else:
        raise ImportError_(f"unknown mail format {fmt!r}")


def prepare(raws: list[tuple[str, bytes]], *, channel_id: int | None, status: str,
            since: datetime | None, quarantine: list[tuple[str, str, bytes]]
            ) -> list[InboundMessage]:
    out: list[InboundMessage] = []
    for where, raw in raws:
        try:
            msg = parse_email(raw, channel_id=channel_id)
        except EmailParseError as exc:
            quarantine.append((where, str(exc), raw))
            continue
        if since is not None and msg.received_at < since:
            continue
        out.append(msg.model_copy(update={"import_status": status, "source": Source.import_}))
    out.sort(key=lambda m: m.received_at)
    return out


async def import_mail(store: Store, fmt: str, path: Path, *, status: str = "closed",
                      channel_name: str | None = None, since: str | datetime | None = None,
                      progress: Callable[[int, int], None] | None = None) -> ImportReport:
    statuses = {s.name for p in await store.pipelines() for s in p.statuses}
    if status not in statuses:
        raise ImportError_(f"status {status!r} is not a known status ({', '.join(sorted(statuses))})")
    channel_id = None
    if channel_name:
        channel = await store.channel(channel_name)
        if channel is None or channel.kind != "email":
            raise ImportError_(f"no email channel named {channel_name!r}")
        channel_id = channel.id
    when = None
    if isinstance(since, datetime):
        when = since
    elif since:
        try:
            when = datetime.fromisoformat(since)
        except ValueError:
            raise ImportError_(f"--since {since!r} is not a date (YYYY-MM-DD)") from None
    if when is not None and when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    quarantine: list[tuple[str, str, bytes]] = []
    messages = prepare(list(iter_raw(fmt, Path(path))), channel_id=channel_id, status=status,
                       since=when, quarantine=quarantine)
    for where, reason, raw in quarantine:
        await store.add_quarantine(f"import:{fmt}", f"{where}: {reason}", raw, channel_id)
    report = await import_messages(store, messages, progress)
    report.rows += len(quarantine)
    report.quarantined = len(quarantine)
    return report
