"""``ticketty tickets …``: create, list, show, reply, note, assign, take, status, close, reopen."""

from __future__ import annotations

import argparse
import shlex
from datetime import UTC, datetime

from engine.cli.common import CLIError, Context, clean, emit, resolve_me, table
from engine.cli.errors import field_value, number_arg
from engine.listing import VIEWS, ticket_query
from engine.models import Ticket, normalize_email
from engine.outbox import Outbox
from engine.shapes import ticket_json, ticket_with_messages_json
from engine.store import StoreError, TicketQuery


def ago(when: datetime) -> str:
    secs = max(0, int((datetime.now(UTC) - when).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if secs >= size:
            return f"{secs // size}{unit} ago"
    return "just now"


async def _ticket(ctx: Context, number: int) -> Ticket:
    ticket = await ctx.store.ticket(number)
    if ticket is None:
        raise CLIError(f"no ticket #{number}")
    return ticket


async def cmd_create(ctx: Context) -> int:
    a = ctx.args
    from_email = field_value("--from", normalize_email, a.from_email)
    result = await ctx.desk.create_ticket(subject=a.subject, from_email=from_email,
                                          name=a.name or "", body=a.body or "")
    if result.ticket_id is None:
        raise CLIError("no ticket was created")
    ticket = await _ticket(ctx, result.ticket_id)
    emit(ctx, ticket_json(ticket), f"created ticket #{ticket.id}: {clean(ticket.subject)}")
    return 0


DEFAULT_LIMIT = 50


async def _list_query(ctx: Context) -> TicketQuery:
    """The query ``tickets list`` asks for; unknown statuses, channels and agents are errors."""
    a = ctx.args
    return await ticket_query(ctx.store, ctx.actor, view=a.view, status=a.status,
                              assignee=a.assignee, channel=a.channel, priority=a.priority,
                              search=a.search, sort=a.sort, name=lambda field: f"--{field}")


def _filters(ctx: Context, q: TicketQuery) -> str:
    """The filters of a listing as the flags that ask for them (for "No tickets match …")."""
    a = ctx.args
    parts = [f"--view {q.view}"]
    for flag, value in (("--status", a.status), ("--assignee", a.assignee),
                        ("--channel", a.channel), ("--priority", a.priority),
                        ("--search", a.search)):
        if value:
            parts.append(f"{flag} {shlex.quote(value)}")
    return " ".join(parts)


async def cmd_list(ctx: Context) -> int:
    q = await _list_query(ctx)
    limit = ctx.args.limit
    total = await ctx.store.count_tickets(q)
    tickets = await ctx.store.page_tickets(q, 0, total if limit == 0 else limit) if total else []
    if ctx.json:
        emit(ctx, [ticket_json(t) for t in tickets])
        return 0
    if not tickets:
        print(f"No tickets match {clean(_filters(ctx, q))}.")
        return 0
    rows = [[f"#{t.id}", t.channel_name or t.source.value, t.subject, t.contact_name or t.contact_email or "",
             t.status, t.priority.value, t.assignee_email or "-", ago(t.last_activity_at)]
            for t in tickets]
    print(table(rows, ["#", "CHANNEL", "SUBJECT", "CONTACT", "STATUS", "PRIORITY", "ASSIGNEE", "ACTIVITY"]))
    more = total - len(tickets)
    if more > 0:
        print(f"… {more:,} more not shown ({len(tickets):,} of {total:,}):"
              f" --limit 0 lists all, --limit N lists N.")
    return 0


async def cmd_show(ctx: Context) -> int:
    ticket = await _ticket(ctx, ctx.args.number)
    messages = await ctx.store.messages(ticket.id)
    if ctx.json:
        emit(ctx, ticket_with_messages_json(ticket, messages))
        return 0
    print(f"#{ticket.id} {clean(ticket.subject)}")
    print(f"status {ticket.status} · priority {ticket.priority.value} · pipeline {ticket.pipeline}"
          f" · assignee {ticket.assignee_email or '-'} · channel {ticket.channel_name or '-'}")
    print(f"contact {clean(ticket.contact_name)} <{clean(ticket.contact_email)}>")
    for m in messages:
        state = f" [{m.delivery_state.value}]" if m.delivery_state.value != "none" else ""
        err = f" ({clean(m.delivery_error)})" if m.delivery_error else ""
        print(f"\n── {m.direction.value} · {clean(m.author_name)} · {m.created_at:%Y-%m-%d %H:%M}{state}{err}")
        for line in m.text.splitlines():
            print(f"  {clean(line)}")
    return 0


async def cmd_reply(ctx: Context) -> int:
    a = ctx.args
    await _ticket(ctx, a.number)
    from pathlib import Path

    message_id, outbox_id = await ctx.desk.reply(
        a.number, a.body, status=a.status, attachments=[Path(p) for p in a.attach or []])
    state = "failed"
    error: str | None = "no channel to send this reply through"
    if outbox_id is not None:
        from engine.engine import resolve_sender

        outbox = Outbox(ctx.store, resolve=lambda item: resolve_sender(ctx.store, item))
        queued = await outbox.item(outbox_id)
        if queued is not None:
            state = await outbox.deliver(queued)
            sent = await outbox.item(outbox_id)
            error = sent.last_error if sent else None
    result = {"ticket": a.number, "message_id": message_id, "outbox_id": outbox_id,
              "state": state, "error": error if state != "sent" else None}
    human = {"sent": f"reply sent on #{a.number}",
             "queued": f"reply queued on #{a.number}; sending failed for now: {error}"
                       " (the engine will retry)",
             "failed": f"reply on #{a.number} failed: {error}"}.get(state, state)
    emit(ctx, result, human)
    return 0 if state == "sent" else 3


async def cmd_call(ctx: Context) -> int:
    """Queue a call-back on a ticket (the engine places it; the ticket logs it)."""
    a = ctx.args
    await _ticket(ctx, a.number)
    call = await ctx.desk.call_back(a.number)
    agent = ctx.desk.actor
    emit(ctx, {"ticket": a.number, "call_id": call.id, "message_id": call.message_id,
               "to": call.customer, "from": call.from_number,
               "agent_phone": agent.phone if agent else None, "status": call.status},
         f"call-back queued on #{a.number}: the engine rings {agent.phone if agent else '?'}"
         f" first, then {call.customer} from {call.from_number}")
    return 0


async def cmd_note(ctx: Context) -> int:
    await _ticket(ctx, ctx.args.number)
    mid = await ctx.desk.note(ctx.args.number, ctx.args.body)
    emit(ctx, {"ticket": ctx.args.number, "message_id": mid}, f"note added to #{ctx.args.number}")
    return 0


async def _agent_id(ctx: Context, who: str) -> int | None:
    """``--if-assignee``: an agent's id from their email (or me); None for nobody/none."""
    if who.lower() in ("nobody", "none", "-"):
        return None
    email = field_value("--if-assignee", normalize_email, resolve_me(ctx.actor, who))
    agent = await ctx.store.agent(email)
    if agent is None:
        raise CLIError(f"--if-assignee: no agent with email {email!r}")
    return agent.id


async def cmd_take(ctx: Context) -> int:
    """Assign to yourself only if nobody has it (compare-and-set: of two agents taking it at
    once, one wins; the other gets one line naming who has it, exit 1)."""
    await _ticket(ctx, ctx.args.number)
    await ctx.desk.take(ctx.args.number)
    ticket = await _ticket(ctx, ctx.args.number)
    emit(ctx, ticket_json(ticket), f"#{ticket.id} is yours ({ticket.assignee_email})")
    return 0


async def cmd_assign(ctx: Context) -> int:
    a = ctx.args
    await _ticket(ctx, a.number)
    if not a.assignee and not a.team and not a.nobody:
        raise CLIError("give an agent email (or me), --team T, or --nobody")
    who = None
    if a.assignee and not a.nobody:
        who = field_value("agent", normalize_email, resolve_me(ctx.actor, a.assignee))
    if a.if_assignee is not None:
        expected = await _agent_id(ctx, a.if_assignee)
        await ctx.desk.assign_if(a.number, who, expected)
    else:
        await ctx.desk.assign(a.number, who, a.team)
    ticket = await _ticket(ctx, a.number)
    emit(ctx, ticket_json(ticket),
         f"#{a.number} assigned to {ticket.assignee_email or 'nobody'}"
         + (f" (team {ticket.team_name})" if ticket.team_name else ""))
    return 0


async def _simple(ctx: Context, verb: str) -> int:
    a = ctx.args
    await _ticket(ctx, a.number)
    desk = ctx.desk
    if verb == "close":
        changed = await desk.close(a.number)
    elif verb == "reopen":
        changed = await desk.reopen(a.number)
    elif verb == "status":
        changed = await desk.set_status(a.number, a.status)
    elif verb == "priority":
        changed = await desk.set_priority(a.number, a.priority)
    else:  # pragma: no cover - parser limits verbs
        raise StoreError(verb)
    ticket = await _ticket(ctx, a.number)
    note = "" if changed else " (unchanged)"
    emit(ctx, ticket_json(ticket), f"#{a.number} is {ticket.status}, {ticket.priority.value}{note}")
    return 0


def add_parser(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("tickets", help="work with tickets")
    ts = p.add_subparsers(dest="action", required=True, metavar="ACTION")

    c = ts.add_parser("create", parents=[common], help="create a ticket from a customer")
    c.add_argument("--subject", required=True)
    c.add_argument("--from", dest="from_email", required=True, metavar="EMAIL")
    c.add_argument("--name")
    c.add_argument("--body", default="")
    c.set_defaults(run=cmd_create)

    ls = ts.add_parser("list", parents=[common], help="list tickets (open by default)")
    ls.add_argument("--status")
    ls.add_argument("--assignee", help="agent email, 'me' or 'none'")
    ls.add_argument("--channel", help="channel name")
    ls.add_argument("--priority", choices=["low", "normal", "high", "urgent"])
    ls.add_argument("--search", help="words in subjects and messages")
    ls.add_argument("--view", choices=VIEWS, help="open (default), closed, all, unassigned, mine")
    ls.add_argument("--sort", choices=["activity", "created", "priority"], default="activity")
    ls.add_argument("--limit", type=number_arg(int, least=0, note=" (all tickets)"),
                    default=DEFAULT_LIMIT, metavar="N",
                    help=f"at most N tickets (default {DEFAULT_LIMIT}; 0 = all)")
    ls.set_defaults(run=cmd_list)

    s = ts.add_parser("show", parents=[common], help="a ticket and its thread")
    s.add_argument("number", type=int)
    s.set_defaults(run=cmd_show)

    r = ts.add_parser("reply", parents=[common], help="reply to the customer (sends now)")
    r.add_argument("number", type=int)
    r.add_argument("--body", required=True)
    r.add_argument("--status", help="send as this status (default: the pipeline's status after"
                                    " an agent reply, e.g. pending)")
    r.add_argument("--attach", action="append", metavar="FILE",
                   help="send a file with the reply (again for more; Messenger, WhatsApp)")
    r.set_defaults(run=cmd_reply)

    cb = ts.add_parser("call", parents=[common],
                       help="call the customer back (rings your phone first; calls channel)")
    cb.add_argument("number", type=int)
    cb.set_defaults(run=cmd_call)

    n = ts.add_parser("note", parents=[common], help="add an internal note")
    n.add_argument("number", type=int)
    n.add_argument("--body", required=True)
    n.set_defaults(run=cmd_note)

    asg = ts.add_parser("assign", parents=[common], help="assign to an agent and/or team")
    asg.add_argument("number", type=int)
    asg.add_argument("assignee", nargs="?", metavar="AGENT_EMAIL",
                     help="the agent's email, or me")
    asg.add_argument("--team")
    asg.add_argument("--nobody", action="store_true", help="unassign")
    asg.add_argument("--if-assignee", metavar="EMAIL|nobody",
                     help="only if the ticket is still assigned to this agent (or nobody):"
                     " else exit 1 naming who has it")
    asg.set_defaults(run=cmd_assign)

    tk = ts.add_parser("take", parents=[common],
                       help="assign to yourself, only if nobody has it yet")
    tk.add_argument("number", type=int)
    tk.set_defaults(run=cmd_take)

    for verb, helptext in (("close", "close a ticket"), ("reopen", "reopen a ticket")):
        v = ts.add_parser(verb, parents=[common], help=helptext)
        v.add_argument("number", type=int)
        v.set_defaults(run=lambda ctx, _v=verb: _simple(ctx, _v))
    st = ts.add_parser("status", parents=[common], help="set a ticket's status")
    st.add_argument("number", type=int)
    st.add_argument("status")
    st.set_defaults(run=lambda ctx: _simple(ctx, "status"))
    pr = ts.add_parser("priority", parents=[common], help="set a ticket's priority")
    pr.add_argument("number", type=int)
    pr.add_argument("priority", choices=["low", "normal", "high", "urgent"])
    pr.set_defaults(run=lambda ctx: _simple(ctx, "priority"))
