"""Persistence: aiosqlite (WAL), migrations, FTS5 search, the event log, blobs, quarantine.

SQL lives only in this package. ``Store`` is the flat public surface.
"""

from __future__ import annotations

from engine.store.api_reads import ApiReadsMixin
from engine.store.db import StoreBase, StoreError, Tx
from engine.store.directory import DirectoryMixin
from engine.store.identity import IdentityMixin
from engine.store.quarantine import QuarantineMixin
from engine.store.queries import TicketQuery
from engine.store.sealing import SealingMixin
from engine.store.tickets import TicketsMixin
from engine.store.tokens import TokensMixin
from engine.store.workflow import WorkflowMixin


class Store(SealingMixin, IdentityMixin, QuarantineMixin, DirectoryMixin, WorkflowMixin,
            TicketsMixin, TokensMixin, ApiReadsMixin, StoreBase):
    """The store. ``async with Store(path) as store: ...``"""


__all__ = ["Store", "StoreError", "TicketQuery", "Tx"]
