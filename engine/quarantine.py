"""Quarantine you can act on: look at an item, retry its ingest, delete it.

An item is raw input that could not become a message (a mail that did not parse, a bounce for
nothing we sent …), kept with its bytes and the reason. After an upgrade fixed the cause,
:func:`retry` runs it through the parser and the ingest pipeline again, in one transaction
with marking it resolved — so a retry that still fails changes nothing but the item's reason,
and a retry cannot leave a second copy of it in the quarantine.
"""

from __future__ import annotations

from dataclasses import dataclass
from email.parser import BytesHeaderParser
from email.policy import compat32
from typing import Any

from engine.channels.registry import adapter_class, mail_kinds
from engine.models import InboundMessage, IngestResult, Source
from engine.store import Store, StoreError
from engine.store.ingest import NotPlaced

#: where mail-shaped items come from (``source`` as written by the channel and the importers)
MAIL_SOURCES = ("email:", "import:eml", "import:mbox", "import:maildir", "bounce")
MAX_HEADERS = 100

__all__ = ["MAIL_SOURCES", "NotPlaced", "Retried", "headers", "require", "retry"]


@dataclass(frozen=True)
class Retried:
    item_id: int
    result: IngestResult

    def as_dict(self) -> dict[str, Any]:
        r = self.result
        return {"id": self.item_id, "ticket_id": r.ticket_id, "message_id": r.message_id,
                "created": r.created_ticket, "duplicate": r.duplicate}

    def describe(self) -> str:
        r = self.result
        how = ("a new ticket" if r.created_ticket else "already there" if r.duplicate
               else "added to it")
        return f"quarantined item {self.item_id} ingested: ticket #{r.ticket_id} ({how})"


def headers(raw: bytes) -> list[tuple[str, str]]:
    """The header fields of a raw mail, as written (at most :data:`MAX_HEADERS`)."""
    try:
        parsed = BytesHeaderParser(policy=compat32).parsebytes(raw)
    except Exception:  # anything goes in the quarantine; show what we can
        return []
    out = []
    for name, value in parsed.raw_items():
        out.append((str(name), " ".join(str(value).split())))
        if len(out) >= MAX_HEADERS:
            break
    return out


async def require(store: Store, item_id: int) -> dict[str, Any]:
    item = await store.quarantined(item_id)
    if item is None:
        raise StoreError(f"no quarantined item {item_id}")
    return item


async def _message(store: Store, item: dict[str, Any]) -> InboundMessage:
    from engine.channels.email_parse import EmailParseError, parse_email

    source = str(item["source"])
    if not source.startswith(MAIL_SOURCES):
        raise StoreError(f"quarantined item {item['id']} came from {source!r}:"
                         " only mail can be retried")
    channel = await store.channel(item["channel_id"]) if item["channel_id"] else None
    if channel is not None and channel.kind not in mail_kinds():
        channel = None  # mail cannot have come from it: parsed as mail of no channel
    try:
        msg = parse_email(item["raw"], channel_id=channel.id if channel else None)
    except EmailParseError as exc:
        await store.set_quarantine_reason(item["id"], str(exc))
        raise StoreError(f"quarantined item {item['id']} still cannot be ingested: {exc}"
                         ) from None
    if source.startswith(("import:", "email:history")):  # history goes back in as history
        msg = msg.model_copy(update={"import_status": "closed", "source": Source.import_})
    elif channel is not None:  # live mail: credited as its channel credits what it receives
        agents = {a.email for a in await store.agents()}
        msg = adapter_class(channel.kind).attribute(msg, channel, agents)
    return msg


async def retry(store: Store, item_id: int) -> Retried:
    """Ingest a quarantined item again; it is resolved only if it became (part of) a ticket."""
    item = await require(store, item_id)
    if item["resolved"]:
        raise StoreError(f"quarantined item {item_id} was already ingested")
    msg = await _message(store, item)
    # raises NotPlaced (and changes nothing) when it still becomes no part of a ticket
    return Retried(item_id, await store.ingest_quarantined(item_id, msg, item["reason"]))
