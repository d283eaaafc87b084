"""Persistence: SQLite (WAL), migrations, FTS5 search, the event log, blobs, quarantine.

SQL lives only in this package. ``Store`` is the flat public surface: typed async methods,
one mixin per room (``tickets``, ``desk``, ``ingest``, ``outbox``, ``leases`` …); the rest of
the program never gets a connection, a transaction or a row. What only SQLite has is in
:mod:`engine.store.sqlite`; other processes' changes arrive through :mod:`engine.store.follow`.
"""

from __future__ import annotations

from engine.store.agent_keys import AgentKeysMixin
from engine.store.api_reads import ApiReadsMixin
from engine.store.calls import CallsMixin
from engine.store.chat import ChatMixin
from engine.store.collision import CollisionMixin
from engine.store.db import StoreBase, StoreError, Tx
from engine.store.demo import DemoMixin
from engine.store.desk import DeskMixin
from engine.store.directory import DirectoryMixin
from engine.store.forms import FormsMixin
from engine.store.identity import IdentityMixin
from engine.store.ingest import IngestMixin
from engine.store.leases import LeasesMixin
from engine.store.messaging import MessagingMixin
from engine.store.outbox import OutboxMixin
from engine.store.presence import PresenceMixin
from engine.store.quarantine import QuarantineMixin
from engine.store.queries import TicketQuery
from engine.store.replies import RepliesMixin
from engine.store.sealing import SealingMixin
from engine.store.sqlite.connection import DatabaseError
from engine.store.tickets import TicketsMixin
from engine.store.tokens import TokensMixin
from engine.store.workflow import WorkflowMixin


class Store(SealingMixin, IdentityMixin, QuarantineMixin, DirectoryMixin, WorkflowMixin,
            TicketsMixin, TokensMixin, ApiReadsMixin, DeskMixin, IngestMixin, OutboxMixin,
            LeasesMixin, RepliesMixin, DemoMixin, FormsMixin, ChatMixin, PresenceMixin,
            CollisionMixin, AgentKeysMixin, MessagingMixin, CallsMixin, StoreBase):
    """The store. ``async with Store(path) as store: ...``"""


__all__ = ["DatabaseError", "Store", "StoreError", "TicketQuery", "Tx"]
