"""Property pickers shared by the queue and ticket screens.

Each ``choose_*`` runs in a worker: it reads what to offer from the store, waits for the
:class:`~tui.screens.picker.PickerScreen`, then calls the same ``op_*`` a ``:`` command would.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text

from engine.models import PRIORITY_RANK, Agent, Ticket
from tui.screens.picker import PickerScreen, PickItem
from tui.text import line

if TYPE_CHECKING:
    from tui.host import DeskApp


def agent_items(agents: list[Agent], *, nobody: str) -> list[PickItem]:
    items = [PickItem(None, Text(nobody, style="italic"), "none nobody")]
    for a in agents:
        if not a.seat:
            continue
        away = a.availability.value == "away"
        label = Text()
        label.append("○ " if away else "● ", "yellow" if away else "green")
        label.append(line(a.name))
        label.append(f" <{a.email}>", "dim")
        label.append(" away" if away else " available", "yellow" if away else "green")
        items.append(PickItem(a.email, label, f"{a.name} {a.email}"))
    return items


async def choose_assignee(app: DeskApp, ticket: Ticket) -> None:
    agents = await app.store.agents()
    item = await app.push_screen_wait(PickerScreen(
        f"Assign #{ticket.id} to…", agent_items(agents, nobody="nobody (unassign)"),
        current=ticket.assignee_email))
    if item is not None:  # only while the assignee is still the one shown (compare-and-set)
        app.op_assign(ticket.id, item.value, expected=ticket.assignee_id)


async def choose_status(app: DeskApp, ticket: Ticket) -> None:
    pipeline = next((p for p in await app.store.pipelines() if p.name == ticket.pipeline), None)
    statuses = pipeline.statuses if pipeline else []
    items = [PickItem(s.name, Text(s.name + ("  (closes)" if s.closed else ""))) for s in statuses]
    item = await app.push_screen_wait(PickerScreen(f"Status of #{ticket.id}", items,
                                                   current=ticket.status))
    if item is not None and item.value:
        app.op_status(ticket.id, item.value)


async def choose_priority(app: DeskApp, ticket: Ticket) -> None:
    items = [PickItem(p, Text(p)) for p in PRIORITY_RANK]
    item = await app.push_screen_wait(PickerScreen(f"Priority of #{ticket.id}", items,
                                                   current=ticket.priority.value))
    if item is not None and item.value:
        app.op_priority(ticket.id, item.value)


async def choose_pipeline(app: DeskApp, ticket: Ticket) -> None:
    items = [PickItem(p.name, Text(line(p.name))) for p in await app.store.pipelines()]
    item = await app.push_screen_wait(PickerScreen(f"Pipeline of #{ticket.id}", items,
                                                   current=ticket.pipeline))
    if item is not None and item.value:
        app.op_pipeline(ticket.id, item.value)


async def choose_team(app: DeskApp, ticket: Ticket) -> None:
    teams = await app.store.teams()
    if not teams:
        app.notify("No teams yet (ticketty teams add …).", markup=False)
        return
    items = [PickItem(t.name, Text(line(t.name))) for t in teams]
    item = await app.push_screen_wait(PickerScreen(f"Team of #{ticket.id}", items,
                                                   current=ticket.team_name))
    if item is not None and item.value:
        app.op_assign(ticket.id, None, item.value)


async def choose_owner(app: DeskApp, ticket: Ticket) -> None:
    if ticket.contact_id is None:
        app.notify("This ticket has no contact.", markup=False)
        return
    agents = await app.store.agents()
    contact = await app.store.contact(ticket.contact_id)
    owner = next((a.email for a in agents if contact and a.id == contact.owner_id), None)
    item = await app.push_screen_wait(PickerScreen(
        f"Owner of {line(ticket.contact_name or ticket.contact_email)}",
        agent_items(agents, nobody="nobody"), current=owner))
    if item is not None:
        app.op_contact_owner(ticket.contact_id, item.value)


async def choose_canned(app: DeskApp) -> int | None:
    """The id of the canned reply the agent picks (its text is filled in by the desk)."""
    replies = await app.store.canned_replies()
    if not replies:
        app.notify("No canned replies yet (ticketty canned add …, or :canned)", markup=False)
        return None
    items = [PickItem(str(r.id), Text(line(r.title)), f"{r.title} {r.body[:200]}") for r in replies]
    item = await app.push_screen_wait(PickerScreen("Insert canned reply", items))
    return int(item.value) if item is not None and item.value else None


async def choose_template(app: DeskApp, offers: list[tuple[str, str]]) -> str | None:
    """The text of the approved message (a WhatsApp template) the agent picks."""
    items = [PickItem(text, Text(line(label)), label) for label, text in offers]
    item = await app.push_screen_wait(PickerScreen("Send an approved template", items))
    return str(item.value) if item is not None and item.value else None
