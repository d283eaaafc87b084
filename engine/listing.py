"""Ticket listings: the filters of ``tickets list`` turned into a :class:`TicketQuery`.

Shared by the CLI (``--status``, ``--assignee`` …) and the tickets API (``?status=``,
``?assignee=`` …): the same names resolve the same way, and an unknown status, channel or
agent is a :class:`FilterError` naming the field as the caller spells it.
"""

from __future__ import annotations

from collections.abc import Callable

from engine.models import Agent, normalize_email
from engine.store import Store, TicketQuery

VIEWS = ("open", "closed", "all", "unassigned", "mine")
SORTS = ("activity", "created", "priority")
PRIORITIES = ("low", "normal", "high", "urgent")
NOBODY = ("none", "nobody")


class FilterError(ValueError):
    """A filter value that names nothing: ``<field>: <reason>``."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


def resolve_me(actor: Agent, value: str) -> str:
    """``me`` (any case) names the acting agent everywhere an agent email is expected."""
    return actor.email if value.strip().lower() == "me" else value


async def ticket_query(store: Store, actor: Agent, *, view: str | None = None,
                       status: str | None = None, assignee: str | None = None,
                       channel: str | None = None, priority: str | None = None,
                       search: str | None = None, sort: str = "activity",
                       name: Callable[[str], str] = str) -> TicketQuery:
    """The query a listing asks for. ``name(field)`` spells a field for errors (the CLI:
    ``--status``; the API: ``status``). Without a view it is ``open`` — or ``all`` when a
    status is given (a status names open or closed tickets itself)."""
    channel_id = assignee_id = None
    if channel:
        ch = await store.channel(channel)
        if ch is None:
            names = [c.name for c in await store.channels()]
            known = f"channels: {', '.join(names)}" if names else "there are no channels yet"
            raise FilterError(name("channel"), f"no channel named {channel!r} ({known})")
        channel_id = ch.id
    if status:
        statuses = list(dict.fromkeys(s.name for p in await store.pipelines()
                                      for s in p.statuses))
        if status not in statuses:
            raise FilterError(name("status"), f"unknown status {status!r}"
                                              f" (statuses: {', '.join(statuses)})")
    unassigned = False
    if assignee:
        if assignee.lower() in NOBODY:
            unassigned = True
        else:
            try:
                email = normalize_email(resolve_me(actor, assignee))
            except ValueError as exc:
                raise FilterError(name("assignee"), str(exc)) from None
            who = await store.agent(email)
            if who is None:
                raise FilterError(name("assignee"), f"no agent with email {assignee!r}"
                                                    " (see `ticketty agents list`)")
            assignee_id = who.id
    if view is not None and view not in VIEWS:
        raise FilterError(name("view"), f"unknown view {view!r} (views: {', '.join(VIEWS)})")
    if sort not in SORTS:
        raise FilterError(name("sort"), f"unknown sort {sort!r} (sorts: {', '.join(SORTS)})")
    if priority is not None and priority not in PRIORITIES:
        raise FilterError(name("priority"), f"unknown priority {priority!r}"
                                            f" (priorities: {', '.join(PRIORITIES)})")
    return TicketQuery(view=view or ("all" if status else "open"), agent_id=actor.id,
                       channel_id=channel_id, status=status, assignee_id=assignee_id,
                       unassigned=unassigned, priority=priority, text=search, sort=sort)
