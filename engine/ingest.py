"""The one pipeline every inbound message goes through.

``InboundMessage`` → idempotency → contact → thread → ticket (channel defaults) → routing →
persist → event, all in one transaction: a crash anywhere leaves either nothing or everything,
and the ``(channel, key)`` row makes a second delivery of the same message a no-op.

Idempotency compares content too: each key row keeps a digest of what arrived under it
(email: the raw From line and body bytes, computed by the parser). The same key with the same
digest is a re-delivery and changes nothing; the same key with *another* digest is a
different mail under a reused Message-ID — it is ingested under a derived key and the
collision is logged (warning + ``inbound.collision`` event), never silently dropped.

The contact is the sender, or the Reply-To address when the channel's ``customer_address``
setting is ``reply_to``; answers go to Reply-To either way (kept on the message). A contact
first seen through an address recovered from a malformed header is marked unverified.

Where it lives: the decisions are pure functions in :mod:`engine.ingest_rules` (and
:mod:`engine.routing`); the transaction that applies them is the store's
(:mod:`engine.store.ingest`, ``Store.ingest`` / ``ingest_many`` / ``assign_pending``). These
functions are the entry points every channel, importer and command calls.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from engine.models import InboundMessage, IngestResult

if TYPE_CHECKING:
    from engine.store import Store


async def ingest(store: Store, msg: InboundMessage) -> IngestResult:
    """Ingest one message (one transaction)."""
    return await store.ingest(msg)


async def ingest_many(store: Store, msgs: Sequence[InboundMessage]) -> list[IngestResult]:
    """Ingest a batch in one transaction (imports, IMAP batches). Same key twice → one ticket."""
    return await store.ingest_many(msgs)


async def assign_pending(store: Store) -> list[int]:
    """Route tickets that found no eligible agent earlier; returns the ticket ids assigned."""
    return await store.assign_pending()
