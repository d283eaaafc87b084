"""A contact and their timeline: tickets, form submissions (hidden fields too), consent records.

Opened from the ticket screen (``t``, ``ticket.contact``) on the ticket's contact; the same
data as ``ticketty contacts show EMAIL --json`` (:meth:`engine.store.Store.contact_timeline`).
Everything shown came from customers or their browsers: it is :class:`rich.text.Text` after
:func:`tui.text.clean`, never markup.

| key | action (binding id) |
|---|---|
| ``j`` / ``k`` | scroll down / up (``contact.down`` / ``contact.up``) |
| ``escape`` / ``q`` | back to the ticket (``contact.back``) |
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Static

from tui.screens.base import TickettyScreen
from tui.text import clean, line
from tui.timefmt import stamp
from tui.widgets.key_footer import KeyFooter


def _when(value: str | None, tz: tzinfo | None) -> str:
    return stamp(datetime.fromisoformat(value), tz) if value else "-"


def _value(value: Any) -> str:
    return ", ".join(str(v) for v in value) if isinstance(value, list) else str(value)


def timeline_text(data: dict[str, Any], tz: tzinfo | None = None) -> Text:
    """The whole contact as text: who, then tickets, form submissions, consent records
    (times in ``tz``, the agent's zone)."""
    text = Text()
    text.append(line(data["name"]) or "(no name)", "bold")
    if data.get("unverified"):
        text.append("  ⚠ unverified sender (address recovered from a malformed From line)",
                    "bold yellow")
    text.append("\n" + ", ".join(line(e) for e in data["emails"]), "dim")
    text.append(f"\nowner: {line(data['owner'] or 'nobody')}\n")
    items = data["timeline"]
    sections = (("Tickets", "ticket"), ("Form submissions", "form_submission"),
                ("Consent records", "consent"))
    for title, kind in sections:
        mine = [i for i in items if i["type"] == kind]
        text.append(f"\n{title} ({len(mine)})\n", "bold underline")
        if not mine:
            text.append("  none\n", "dim")
        for item in mine:
            text.append(f"  {_when(item['at'], tz)}  ", "dim")
            if kind == "ticket":
                text.append(f"#{item['ticket_id']} ", "bold")
                text.append(f"[{item['status']}] {line(item['subject'])}")
                text.append(f"  {line(item['channel'] or item['source'])}\n", "dim")
            elif kind == "form_submission":
                text.append(f"form {line(item['form'])}", "bold")
                text.append(f" → ticket #{item['ticket_id']}\n")
                if item["page_url"]:
                    text.append(f"      page: {line(item['page_url'])}\n", "dim")
                for f in item["fields"]:
                    text.append(f"      {line(f['label'])}")
                    if f["hidden"]:
                        text.append(" (hidden)", "italic yellow")
                    text.append(": ")
                    text.append(clean(_value(f["value"])).replace("\n", "\n        ") + "\n")
            else:
                text.append(f"{line(item['kind'])}: ")
                text.append("granted" if item["granted"] else "withdrawn",
                            "green" if item["granted"] else "red")
                text.append(f"  {line(item['channel'] or '')}\n", "dim")
    return text


class ContactScreen(TickettyScreen):
    """One contact's timeline (see the module docstring)."""

    HELP_TITLE = "contact"
    DEFAULT_CSS = """
    ContactScreen #contact-title { height: 1; background: $panel; text-style: bold;
        padding: 0 1; }
    ContactScreen #contact-body { height: 1fr; padding: 0 2; }
    """
    BINDINGS = [
        Binding("escape,q", "back", "Back", id="contact.back"),
        Binding("j,down", "scroll(1)", "Scroll down", show=False, id="contact.down"),
        Binding("k,up", "scroll(-1)", "Scroll up", show=False, id="contact.up"),
    ]

    def __init__(self, email: str) -> None:
        super().__init__()
        self.email = email
        self.data: dict[str, Any] | None = None

    def compose(self) -> ComposeResult:
        yield Static(Text(f"Contact {line(self.email)}"), id="contact-title")
        with VerticalScroll(id="contact-body"):
            yield Static(Text("loading…"), id="contact-timeline")
        yield KeyFooter()

    def engine_ready(self) -> None:
        self.load()

    def engine_event(self, event: Any) -> None:
        if event.kind.startswith(("ticket.", "form.", "contact.")):
            self.load()

    @work(exclusive=True, group="contact-load", exit_on_error=False)
    async def load(self) -> None:
        self.data = await self.tapp.store.contact_timeline(self.email)
        body = self.query_one("#contact-timeline", Static)
        body.update(timeline_text(self.data, self.tapp.tz) if self.data is not None
                    else Text(f"No contact with email {line(self.email)}."))

    def action_back(self) -> None:
        self.dismiss()

    def action_scroll(self, step: int) -> None:
        body = self.query_one("#contact-body", VerticalScroll)
        body.scroll_relative(y=step * 3)
