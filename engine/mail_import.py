"""Importing mail history: ``.eml`` files, mbox and Maildir (and IMAP history, see the adapter).

Mail is parsed with the channel's parser, sorted by date so that threads rebuild (a reply
finds the ticket its parent opened), and ingested in chunks as tickets in a chosen status
with no routing and no notifications. The Message-ID is the idempotency key, so rerunning an
import — also after it was killed — creates nothing twice. Mail that cannot be parsed is
quarantined with its bytes and the reason, and the import goes on. The report accounts for
every mail read (:class:`~engine.importers.ImportReport`).
"""

from __future__ import annotations

import mailbox
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

from engine.channels.email_parse import EmailParseError, parse_email
from engine.channels.registry import mail_kinds
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
        maildir = mailbox.Maildir(str(path), factory=None, create=False)
        for key in maildir.iterkeys():
            yield f"{path}/{key}", maildir.get_bytes(key)
    else:
        raise ImportError_(f"unknown mail format {fmt!r}")


def prepare(raws: list[tuple[str, bytes]], *, channel_id: int | None, status: str,
            since: datetime | None, quarantine: list[tuple[str, str, bytes]],
            ours: set[str] | frozenset[str] = frozenset(),
            skipped: list[str] | None = None) -> list[InboundMessage]:
    """Parse and order mail for import. Mail *from* one of ``ours`` (the channel's address,
    our agents) is history of our own answers: it goes in as an outbound message, credited to
    the agent, on the recipient's ticket — never as a ticket from ourselves. Unparseable mail
    goes to ``quarantine``; mail left out on purpose (older than ``since``, or between our own
    addresses) is named in ``skipped``, so the caller can account for every input."""
    out: list[InboundMessage] = []
    skipped = skipped if skipped is not None else []
    for where, raw in raws:
        try:
            msg = parse_email(raw, channel_id=channel_id)
        except EmailParseError as exc:
            quarantine.append((where, str(exc), raw))
            continue
        if since is not None and msg.received_at < since:
            skipped.append(where)
            continue
        msg = msg.model_copy(update={"import_status": status, "source": Source.import_})
        author = str(msg.extra.get("from_address") or msg.sender).lower()
        if author in ours:
            ours_out = _as_outbound(msg, raw, author, ours)
            if ours_out is None:
                skipped.append(where)  # between ourselves only: not a customer conversation
                continue
            msg = ours_out
        out.append(msg)
    out.sort(key=lambda m: m.received_at)
    return out


def _as_outbound(msg: InboundMessage, raw: bytes, author: str, ours: set[str] | frozenset[str]
                 ) -> InboundMessage | None:
    from email.parser import BytesHeaderParser
    from email.policy import compat32
    from email.utils import getaddresses

    headers = BytesHeaderParser(policy=compat32).parsebytes(raw)
    recipients = [(n, a.lower()) for n, a in getaddresses(headers.get_all("To", []) +
                                                          headers.get_all("Cc", [])) if "@" in a]
    customer = next(((n, a) for n, a in recipients if a not in ours), None)
    if customer is None:
        return None
    extra = {**msg.extra, "history_outbound": {"author_email": author,
                                               "author_name": msg.extra.get("from_name") or ""}}
    return msg.model_copy(update={"sender": customer[1], "sender_name": customer[0],
                                  "reply_to": None, "extra": extra, "ticket_hint": None})


async def import_mail(store: Store, fmt: str, path: Path, *, status: str = "closed",
                      channel_name: str | None = None, since: str | datetime | None = None,
                      progress: Callable[[int, int], None] | None = None) -> ImportReport:
    statuses = {s.name for p in await store.pipelines() for s in p.statuses}
    if status not in statuses:
        raise ImportError_(f"status {status!r} is not a known status ({', '.join(sorted(statuses))})")
    channel_id = None
    if channel_name:
        channel = await store.channel(channel_name)
        if channel is None or channel.kind not in mail_kinds():
            raise ImportError_(f"no {' or '.join(mail_kinds()) or 'mail'} channel named"
                               f" {channel_name!r}")
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
    skipped: list[str] = []
    messages = prepare(list(iter_raw(fmt, Path(path))), channel_id=channel_id, status=status,
                       since=when, quarantine=quarantine, ours=await our_addresses(store, channel_id),
                       skipped=skipped)
    for where, reason, raw in quarantine:
        await store.add_quarantine(f"import:{fmt}", f"{where}: {reason}", raw, channel_id)
    report = await import_messages(store, messages, progress)
    report.read += len(quarantine) + len(skipped)
    report.quarantined += len(quarantine)
    report.skipped += len(skipped)
    return report


async def our_addresses(store: Store, channel_id: int | None) -> set[str]:
    """The channel's own address(es) and every agent's: who "we" are in a mail archive."""
    ours = {a.email for a in await store.agents()}
    for channel in await store.channels():
        if channel.kind in mail_kinds() and (channel_id is None or channel.id == channel_id):
            address = channel.settings.get("address")
            if address:
                ours.add(str(address).lower())
    return ours
