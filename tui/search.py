"""The ``/`` search language: free words (full-text) plus ``key:value`` filters.

``printer status:pending channel:support assignee:me priority:high`` — words search subjects and
message text; ``status:``, ``channel:`` (name or id), ``assignee:`` (email, ``me`` or ``none``)
and ``priority:`` narrow the current view. A ``status:`` filter looks across open and closed
tickets. Quote values with spaces: ``channel:"web form"``. An unknown status, channel, agent or
priority is an error that names the valid values — never a silently empty list.
"""

from __future__ import annotations

import dataclasses
import shlex
from collections.abc import Collection
from dataclasses import dataclass, field

from engine.models import PRIORITY_RANK, Agent, Channel
from engine.store import StoreError, TicketQuery

FILTER_KEYS = ("status", "channel", "assignee", "priority")


@dataclass(frozen=True)
class Search:
    words: str = ""
    filters: dict[str, str] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not self.words and not self.filters


def parse(text: str) -> Search:
    try:
        parts = shlex.split(text)
    except ValueError:
        parts = text.split()
    words: list[str] = []
    filters: dict[str, str] = {}
    for part in parts:
        key, sep, value = part.partition(":")
        if sep and key.lower() in FILTER_KEYS and value:
            filters[key.lower()] = value
        else:
            words.append(part)
    return Search(" ".join(words), filters)


def apply(base: TicketQuery, search: Search, *, channels: list[Channel], agents: list[Agent],
          me: Agent | None, statuses: Collection[str] = ()) -> TicketQuery:
    """``base`` narrowed by ``search``; unknown names raise :class:`StoreError`.

    ``statuses`` are the known status names (every pipeline's); when given, ``status:`` must
    be one of them.
    """
    q = dataclasses.replace(base, text=search.words or None)
    f = search.filters
    if "status" in f:
        if statuses and f["status"] not in statuses:
            raise StoreError(f"unknown status {f['status']!r} — statuses: {', '.join(statuses)}")
        q = dataclasses.replace(q, status=f["status"], view="all")
        if base.view == "unassigned":
            q = dataclasses.replace(q, unassigned=True)
        elif base.view == "mine":
            q = dataclasses.replace(
                q, assignee_id=base.agent_id if base.agent_id is not None else -1)
    if "priority" in f:
        if f["priority"] not in PRIORITY_RANK:
            raise StoreError(f"unknown priority {f['priority']!r} — priorities:"
                             f" {', '.join(PRIORITY_RANK)}")
        q = dataclasses.replace(q, priority=f["priority"])
    if "channel" in f:
        wanted = f["channel"].lower()
        match = next((c for c in channels if c.name.lower() == wanted or str(c.id) == wanted
                      or c.kind == wanted), None)
        if match is None:
            known = ", ".join(c.name for c in channels) or "there are no channels yet"
            raise StoreError(f"no channel named {f['channel']!r} — channels: {known}")
        q = dataclasses.replace(q, channel_id=match.id)
    if "assignee" in f:
        who = f["assignee"].lower()
        if who in ("none", "nobody", "-"):
            q = dataclasses.replace(q, unassigned=True)
        else:
            agent = me if who == "me" else next(
                (a for a in agents if a.email == who or a.name.lower() == who
                 or a.email.split("@")[0] == who), None)
            if agent is None:
                raise StoreError(f"no agent {f['assignee']!r}")
            q = dataclasses.replace(q, assignee_id=agent.id)
    return q
