"""The ticket's side panel: each property with the key that edits it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import tzinfo

from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from engine.models import Agent, Channel, Contact, Ticket
from tui.text import line
from tui.timefmt import stamp


@dataclass
class TicketContext:
    """Everything the ticket screen shows besides the thread."""

    ticket: Ticket
    contact: Contact | None
    agents: list[Agent]
    channel: Channel | None
    reply_channel: Channel | None

    def agent(self, agent_id: int | None) -> Agent | None:
        return next((a for a in self.agents if a.id == agent_id), None) if agent_id else None


def _agent_text(agent: Agent | None, fallback: str = "-") -> Text:
    if agent is None:
        return Text(fallback)
    text = Text(line(agent.name))
    away = agent.availability.value == "away"
    text.append(" (away)" if away else " (available)", "yellow" if away else "green")
    return text


class PropertiesPanel(Static):
    DEFAULT_CSS = """
    PropertiesPanel { width: 42; max-width: 40%; height: 1fr; border-left: vkey $panel; padding: 0 1;
        background: $surface; }
    """

    def __init__(self, keys: dict[str, str] | None = None, *, tz: tzinfo | None = None,
                 id: str | None = None) -> None:
        super().__init__(Text("loading…"), id=id)
        self.keys = keys or {}
        self.tz = tz

    def show(self, ctx: TicketContext) -> None:
        t = ctx.ticket
        k = self.keys
        table = Table.grid(padding=(0, 1))
        table.add_column(style="bold", no_wrap=True, width=2)
        table.add_column(style="dim", no_wrap=True)
        table.add_column(overflow="fold")
        state = Text(t.status, "bold green" if t.is_open else "bold")
        table.add_row(Text(k.get("ticket.status", "")), Text("Status"), state)
        table.add_row(Text(k.get("ticket.pipeline", "")), Text("Pipeline"), Text(line(t.pipeline)))
        prio = Text(t.priority.value, {"urgent": "bold red", "high": "yellow"}.get(t.priority.value, ""))
        table.add_row(Text(k.get("ticket.priority", "")), Text("Priority"), prio)
        table.add_row(Text(k.get("ticket.assign", "")), Text("Assignee"),
                      _agent_text(ctx.agent(t.assignee_id), line(t.assignee_name) or "nobody"))
        table.add_row(Text(k.get("ticket.team", "")), Text("Team"), Text(line(t.team_name) or "-"))
        contact = Text(line(t.contact_name) or "-")
        if t.contact_email:
            contact.append(f"\n{line(t.contact_email)}", "dim")
        if ctx.contact is not None and ctx.contact.unverified:
            # the address was recovered from a malformed From line: anyone could have sent it
            contact.append("\n⚠ unverified sender", "bold yellow")
        owner = ctx.agent(ctx.contact.owner_id) if ctx.contact else None
        contact.append("\nowner: ")
        contact.append_text(_agent_text(owner, "nobody"))
        table.add_row(Text(k.get("ticket.contact_owner", "")), Text("Contact"), contact)
        channel = Text(line(t.channel_name) or t.source.value)
        if t.channel_kind:
            channel.append(f" ({t.channel_kind})", "dim")
        elif t.source.value == "api":
            channel.append(" (tickets API)", "dim")  # made by a script with an API token
        table.add_row(Text(""), Text("Channel"), channel)
        table.add_row(Text(""), Text("Created"), Text(stamp(t.created_at, self.tz)))
        if t.closed_at:
            table.add_row(Text(""), Text("Closed"), Text(stamp(t.closed_at, self.tz)))
        hints = Text("\n")
        for key_id, words in (("ticket.close", "close"), ("ticket.reopen", "reopen"),
                              ("ticket.take", "take it"), ("ticket.reply", "reply"),
                              ("ticket.note", "note")):
            if k.get(key_id):
                hints.append(k[key_id], "bold")
                hints.append(f" {words}  ")
        self.update(_stack(table, hints))


def _stack(table: Table, hints: Text) -> Table:
    outer = Table.grid()
    outer.add_row(table)
    outer.add_row(hints)
    return outer
