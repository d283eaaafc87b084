"""What the queue and the ticket screen share: the keys and actions on "the ticket".

On the queue it is the ticket under the cursor, on the ticket screen the open one
(:meth:`TicketActions.current_ticket_id` / :meth:`TicketActions.acted_ticket`). The bindings
are defined once here, and each screen places them in its own ``BINDINGS`` (the order of a
screen's list is the order of its footer and of ``?``).

| key | action (binding id) |
|---|---|
| ``a`` | assign, with a picker that shows who is away (``ticket.assign``) |
| ``A`` | take it: assign to yourself (``ticket.take``) |
| ``c`` | close at once; ``u`` (``app.undo``) takes it back for 10 s (``ticket.close``) |
"""

from __future__ import annotations

from textual.binding import Binding

from engine.models import Ticket
from tui import pickers
from tui.screens.base import TickettyScreen

ASSIGN = Binding("a", "assign", "Assign", id="ticket.assign",
                 tooltip="Assign the ticket (the picker shows who is away)")
TAKE = Binding("A", "take", "Take it", show=False, id="ticket.take",
               tooltip="Take it: assign to yourself")
CLOSE = Binding("c", "close_ticket", "Close", id="ticket.close",
                tooltip="Close the ticket (undo for 10 seconds)")


class TicketActions(TickettyScreen):
    """A screen about one ticket at a time (the queue's cursor, or the open ticket)."""

    def acted_ticket(self) -> Ticket | None:
        """The ticket the shared keys act on, when it is loaded (None: nothing to act on)."""
        return None

    def action_assign(self) -> None:
        ticket = self.acted_ticket()
        if ticket is not None:
            self.run_worker(pickers.choose_assignee(self.tapp, ticket), group="pick",
                            exit_on_error=False)

    def action_take(self) -> None:
        """Take it — only while its assignee is still who this screen shows (compare-and-set:
        of two agents taking it at once, one gets it and the other is told who has it)."""
        ticket = self.acted_ticket()
        agent = self.tapp.agent
        if ticket is not None and ticket.id is not None and agent is not None:
            self.tapp.op_assign(ticket.id, agent.email, expected=ticket.assignee_id)

    def action_close_ticket(self) -> None:
        ticket_id = self.current_ticket_id()
        if ticket_id is not None:
            self.tapp.op_close(ticket_id)
