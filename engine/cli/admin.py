"""``ticketty agents|teams|canned|pipelines|contacts …``: the directory from the shell."""

from __future__ import annotations

import argparse
import json

from engine import hours
from engine.cli.common import CLIError, Context, clean, emit, resolve_me, resolve_me_list, table
from engine.cli.errors import FieldError, required_text
from engine.models import (
    Agent,
    Availability,
    Pipeline,
    Role,
    Status,
    WorkingHours,
    WorkspaceSettings,
    normalize_os_user,
    saved_id,
)


def agent_json(a: Agent, team_names: dict[int, str]) -> dict:
    return {
        "id": a.id, "email": a.email, "name": a.name, "role": a.role.value, "seat": a.seat,
        "availability": a.availability.value, "skills": a.skills,
        "teams": [team_names.get(t, str(t)) for t in a.teams],
        "working_hours": a.working_hours.model_dump(mode="json") if a.working_hours else None,
        "os_user": a.os_user, "phone": a.phone,
    }


def parse_phone(value: str) -> str | None:
    """``--phone +14155550111`` → E.164 (``none``: no phone: calls never ring this agent)."""
    if value.strip().lower() in ("none", ""):
        return None
    from engine.phones import PhoneError, normalize_phone

    try:
        return normalize_phone(value)
    except PhoneError as exc:
        raise FieldError("--phone", f"{exc}; give it in E.164, e.g. +14155550111") from None


def parse_hours(spec: str) -> WorkingHours:
    """``--hours mon-fri 09:00-17:00 [Europe/Paris]`` → WorkingHours (:mod:`engine.hours`)."""
    try:
        return hours.parse_hours(spec)
    except hours.HoursError as exc:
        raise FieldError("--hours", str(exc)) from None


async def _team_ids(ctx: Context, names: str | None) -> list[int]:
    if not names:
        return []
    teams = {t.name: saved_id(t) for t in await ctx.store.teams()}
    out = []
    for name in [n.strip() for n in names.split(",") if n.strip()]:
        if name not in teams:
            raise CLIError(f"no team named {name!r}")
        out.append(teams[name])
    return out


async def cmd_agents_add(ctx: Context) -> int:
    ctx.require_admin("adding agents")
    a = ctx.args
    agent = Agent(
        email=a.email, name=required_text("--name", a.name, "an agent needs a name"),
        role=Role(a.role), seat=not a.no_seat,
        skills=[s.strip() for s in (a.skills or "").split(",") if s.strip()],
        teams=await _team_ids(ctx, a.teams),
        working_hours=parse_hours(a.hours) if a.hours else None,
        os_user=normalize_os_user(a.os_user),
        phone=parse_phone(a.phone) if a.phone else None,
    )
    agent = await ctx.store.add_agent(agent)
    emit(ctx, agent_json(agent, {}), f"added {agent.role.value} {agent.name} <{agent.email}>")
    return 0


async def cmd_agents_update(ctx: Context) -> int:
    a = ctx.args
    a.email = resolve_me(ctx.actor, a.email)
    changes: dict = {}
    if a.availability is not None:
        changes["availability"] = Availability(a.availability)
    if a.email.lower() != ctx.actor.email or any(
        v is not None for v in (a.role, a.seat, a.skills, a.teams, a.name, a.hours, a.os_user)
    ):
        ctx.require_admin("changing another agent")
    if a.name is not None:
        changes["name"] = a.name
    if a.role is not None:
        changes["role"] = Role(a.role)
    if a.seat is not None:
        changes["seat"] = a.seat == "yes"
    if a.skills is not None:
        changes["skills"] = [s.strip() for s in a.skills.split(",") if s.strip()]
    if a.teams is not None:
        changes["teams"] = await _team_ids(ctx, a.teams)
    if a.hours is not None:
        changes["working_hours"] = None if a.hours == "none" else parse_hours(a.hours)
    if a.phone is not None:  # agents may set their own: calls ring it
        changes["phone"] = parse_phone(a.phone)
    if a.os_user is not None:
        changes["os_user"] = None if a.os_user == "none" else normalize_os_user(a.os_user)
        me = ctx.identity.me
        if a.email.lower() == me.email and changes["os_user"] != me.os_user:
            raise CLIError("changing your own OS user would lock you out; another admin can")
    if not changes:
        raise CLIError("nothing to change")
    agent = await ctx.store.update_agent(a.email, **changes)
    emit(ctx, agent_json(agent, {}), f"updated {agent.email}")
    return 0


async def cmd_agents_list(ctx: Context) -> int:
    agents = await ctx.store.agents()
    names = {saved_id(t): t.name for t in await ctx.store.teams()}
    if ctx.json:
        emit(ctx, [agent_json(a, names) for a in agents])
        return 0
    rows = [[a.email, a.name, a.role.value, "yes" if a.seat else "no", a.availability.value,
             ",".join(a.skills), ",".join(names.get(t, "") for t in a.teams), a.os_user or "-"]
            for a in agents]
    print(table(rows, ["EMAIL", "NAME", "ROLE", "SEAT", "AVAILABILITY", "SKILLS", "TEAMS",
                       "OS USER"]))
    return 0


async def cmd_teams_add(ctx: Context) -> int:
    ctx.require_admin("adding teams")
    members = resolve_me_list(ctx.actor, ctx.args.members)
    name = required_text("name", ctx.args.name, "a team needs a name")
    team = await ctx.store.add_team(name, members)
    emit(ctx, team.model_dump(), f"added team {team.name}")
    return 0


async def cmd_teams_list(ctx: Context) -> int:
    teams = await ctx.store.teams()
    agents = {a.id: a.email for a in await ctx.store.agents()}
    data = [{"id": t.id, "name": t.name, "members": [agents.get(m) for m in t.members]} for t in teams]
    rows = [[t.name, ", ".join(agents.get(m) or f"#{m}" for m in t.members)] for t in teams]
    emit(ctx, data, table(rows, ["TEAM", "MEMBERS"]))
    return 0


async def cmd_teams_edit(ctx: Context) -> int:
    ctx.require_admin("editing teams")
    members = None
    if ctx.args.members is not None:
        members = resolve_me_list(ctx.actor, ctx.args.members)
    team = await ctx.store.update_team(ctx.args.name, rename=ctx.args.rename, members=members)
    emit(ctx, team.model_dump(), f"updated team {team.name}")
    return 0


async def cmd_teams_remove(ctx: Context) -> int:
    ctx.require_admin("removing teams")
    await ctx.store.remove_team(ctx.args.name)
    emit(ctx, {"removed": ctx.args.name}, f"removed team {ctx.args.name}")
    return 0


async def cmd_canned_remove(ctx: Context) -> int:
    ctx.require_admin("editing canned replies")
    await ctx.store.remove_canned(ctx.args.title)
    emit(ctx, {"removed": ctx.args.title}, f"removed canned reply {ctx.args.title!r}")
    return 0


async def cmd_pipelines_edit(ctx: Context) -> int:
    ctx.require_admin("editing pipelines")
    a = ctx.args
    changes: dict = {}
    if a.open is not None or a.closed is not None:
        current = next((p for p in await ctx.store.pipelines() if p.name == a.name), None)
        if current is None:
            raise CLIError(f"no pipeline named {a.name!r}")
        opened = a.open if a.open is not None else ",".join(
            s.name for s in current.statuses if not s.closed)
        closed = a.closed if a.closed is not None else ",".join(
            s.name for s in current.statuses if s.closed)
        changes["statuses"] = [Status(name=s.strip()) for s in opened.split(",") if s.strip()]
        changes["statuses"] += [Status(name=s.strip(), closed=True)
                                for s in closed.split(",") if s.strip()]
    for key in ("after_reply", "on_customer_reply"):
        value = getattr(a, key)
        if value is not None:
            changes[key] = None if value == "default" else value
    if not changes:
        raise CLIError("nothing to change: give --open, --closed, --after-reply or"
                       " --on-customer-reply")
    pipeline = await ctx.store.update_pipeline(a.name, **changes)
    emit(ctx, pipeline_json(pipeline), f"updated pipeline {pipeline.name}: {pipeline_line(pipeline)}")
    return 0


def pipeline_json(p: Pipeline) -> dict:
    """A pipeline with the statuses replies set now (the defaults filled in)."""
    return {**p.model_dump(), "status_after_reply": p.reply_status(),
            "status_on_customer_reply": p.customer_status()}


def pipeline_line(p: Pipeline) -> str:
    statuses = " → ".join(s.name + (" (closed)" if s.closed else "") for s in p.statuses)
    after = p.reply_status() or "unchanged"
    return (f"{statuses}; after a reply: {after}{'' if p.after_reply else ' (default)'};"
            f" customer writes back: {p.customer_status()}"
            f"{'' if p.on_customer_reply else ' (default)'}")


async def cmd_canned_add(ctx: Context) -> int:
    ctx.require_admin("editing canned replies")
    reply = await ctx.store.add_canned(
        required_text("--title", ctx.args.title, "a canned reply needs a title"),
        required_text("--body", ctx.args.body, "a canned reply needs a body"))
    emit(ctx, reply.model_dump(), f"saved canned reply {reply.title!r}")
    return 0


async def cmd_canned_list(ctx: Context) -> int:
    replies = await ctx.store.canned_replies()
    emit(ctx, [r.model_dump() for r in replies],
         table([[r.title, r.body.splitlines()[0] if r.body else ""] for r in replies], ["TITLE", "BODY"]))
    return 0


async def cmd_pipelines_add(ctx: Context) -> int:
    ctx.require_admin("adding pipelines")
    statuses = [Status(name=s.strip()) for s in ctx.args.open.split(",") if s.strip()]
    statuses += [Status(name=s.strip(), closed=True) for s in ctx.args.closed.split(",") if s.strip()]
    name = required_text("name", ctx.args.name, "a pipeline needs a name")
    pipeline = await ctx.store.add_pipeline(Pipeline(
        name=name, statuses=statuses, after_reply=ctx.args.after_reply,
        on_customer_reply=ctx.args.on_customer_reply))
    emit(ctx, pipeline_json(pipeline), f"added pipeline {pipeline.name}: {pipeline_line(pipeline)}")
    return 0


async def cmd_pipelines_list(ctx: Context) -> int:
    pipes = await ctx.store.pipelines()
    emit(ctx, [pipeline_json(p) for p in pipes], table(
        [[p.name, " → ".join(s.name + (" (closed)" if s.closed else "") for s in p.statuses),
          p.reply_status() or "-", p.customer_status()] for p in pipes],
        ["PIPELINE", "STATUSES", "AFTER REPLY", "CUSTOMER WRITES BACK"]))
    return 0


async def cmd_workspace_show(ctx: Context) -> int:
    settings = await ctx.store.workspace()
    emit(ctx, settings.model_dump(), table(
        [[key, json.dumps(value), WorkspaceSettings.model_fields[key].description or ""]
         for key, value in settings.model_dump().items()], ["SETTING", "VALUE", "MEANING"]))
    return 0


async def cmd_workspace_set(ctx: Context) -> int:
    ctx.require_admin("changing workspace settings")
    value: object = ctx.args.value
    if ctx.args.value in ("true", "false", "on", "off", "yes", "no"):
        value = ctx.args.value in ("true", "on", "yes")
    settings = await ctx.store.update_workspace(**{ctx.args.key: value})
    emit(ctx, settings.model_dump(), f"{ctx.args.key} = {json.dumps(getattr(settings, ctx.args.key))}")
    return 0


async def cmd_contacts_list(ctx: Context) -> int:
    data = await ctx.store.search_contacts(ctx.args.search, ctx.args.limit)
    emit(ctx, data, table([[str(d["id"]), clean(d["name"]) + (" (unverified)" if d["unverified"] else ""),
                            ", ".join(d["emails"]), d["owner"] or "-", str(d["tickets"])]
                           for d in data], ["ID", "NAME", "EMAILS", "OWNER", "TICKETS"])
         if data else "no contacts")
    return 0


async def cmd_contacts_owner(ctx: Context) -> int:
    contact_id = await ctx.store.contact_id_by_identity("email", ctx.args.contact.lower())
    if contact_id is None:
        raise CLIError(f"no contact with email {ctx.args.contact!r}")
    owner = None if ctx.args.owner in ("none", "nobody") else resolve_me(ctx.actor, ctx.args.owner)
    await ctx.store.set_contact_owner(contact_id, owner)
    emit(ctx, {"contact": ctx.args.contact, "owner": owner},
         f"{ctx.args.contact} is now owned by {owner or 'nobody'}")
    return 0


def add_parsers(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("agents", help="agents of the help desk")
    s = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    add = s.add_parser("add", parents=[common], help="add an agent (admins)")
    add.add_argument("--email", required=True)
    add.add_argument("--name", required=True)
    add.add_argument("--role", choices=["admin", "agent"], default="agent")
    add.add_argument("--no-seat", action="store_true", help="an agent without a seat")
    add.add_argument("--skills", help="comma-separated")
    add.add_argument("--teams", help="comma-separated team names")
    add.add_argument("--hours", help="working hours, e.g. 'mon-fri 09:00-17:00 Europe/Paris'")
    add.add_argument("--os-user", metavar="NAME",
                     help="the OS login this agent runs ticketty as on this host")
    add.add_argument("--phone", metavar="E164",
                     help="the agent's phone number (+14155550111): incoming calls ring it")
    add.set_defaults(run=cmd_agents_add)
    up = s.add_parser("update", parents=[common], help="change an agent")
    up.add_argument("email", help="the agent's email, or me")
    up.add_argument("--name")
    up.add_argument("--role", choices=["admin", "agent"])
    up.add_argument("--seat", choices=["yes", "no"])
    up.add_argument("--availability", choices=["available", "away"])
    up.add_argument("--skills")
    up.add_argument("--teams")
    up.add_argument("--hours", help="'mon-fri 09:00-17:00 [TZ]' or 'none'")
    up.add_argument("--os-user", metavar="NAME",
                    help="the OS login this agent runs ticketty as, or 'none' (admins)")
    up.add_argument("--phone", metavar="E164",
                    help="the agent's phone number (+14155550111) or 'none': calls ring it")
    up.set_defaults(run=cmd_agents_update)
    s.add_parser("list", parents=[common], help="list agents").set_defaults(run=cmd_agents_list)
    from engine.cli.ssh import add_keys_parser

    add_keys_parser(s, common)  # agents keys add|list|remove: SSH public keys

    p = sub.add_parser("teams", help="teams of agents")
    s = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    add = s.add_parser("add", parents=[common], help="add a team (admins)")
    add.add_argument("name")
    add.add_argument("--members", help="comma-separated agent emails (me for yourself)")
    add.set_defaults(run=cmd_teams_add)
    s.add_parser("list", parents=[common], help="list teams").set_defaults(run=cmd_teams_list)
    ed = s.add_parser("edit", parents=[common], help="rename a team or set its members (admins)")
    ed.add_argument("name")
    ed.add_argument("--rename")
    ed.add_argument("--members", help="comma-separated agent emails, me allowed (replaces the members)")
    ed.set_defaults(run=cmd_teams_edit)
    rm = s.add_parser("remove", parents=[common], help="remove a team (admins)")
    rm.add_argument("name")
    rm.set_defaults(run=cmd_teams_remove)

    p = sub.add_parser("canned", help="canned replies")
    s = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    add = s.add_parser("add", parents=[common], help="add or replace a canned reply (admins)")
    add.add_argument("--title", required=True)
    add.add_argument("--body", required=True)
    add.set_defaults(run=cmd_canned_add)
    s.add_parser("list", parents=[common], help="list canned replies").set_defaults(run=cmd_canned_list)
    rm = s.add_parser("remove", parents=[common], help="remove a canned reply (admins)")
    rm.add_argument("title")
    rm.set_defaults(run=cmd_canned_remove)

    p = sub.add_parser("pipelines", help="pipelines and their statuses")
    s = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    add = s.add_parser("add", parents=[common], help="add a pipeline (admins)")
    add.add_argument("name")
    add.add_argument("--open", required=True, help="open statuses in order, comma-separated")
    add.add_argument("--closed", required=True, help="closed statuses, comma-separated")
    add.add_argument("--after-reply", metavar="STATUS",
                     help="status after an agent reply (default: pending or waiting)")
    add.add_argument("--on-customer-reply", metavar="STATUS",
                     help="status when the customer writes back (default: open)")
    add.set_defaults(run=cmd_pipelines_add)
    s.add_parser("list", parents=[common], help="list pipelines").set_defaults(run=cmd_pipelines_list)
    ed = s.add_parser("edit", parents=[common],
                      help="change a pipeline's statuses and what replies set (admins)")
    ed.add_argument("name")
    ed.add_argument("--open", help="open statuses in order, comma-separated (replaces them)")
    ed.add_argument("--closed", help="closed statuses, comma-separated (replaces them)")
    ed.add_argument("--after-reply", metavar="STATUS",
                    help="status after an agent reply ('default': pending or waiting)")
    ed.add_argument("--on-customer-reply", metavar="STATUS",
                    help="status when the customer writes back, an open one ('default': open)")
    ed.set_defaults(run=cmd_pipelines_edit)

    p = sub.add_parser("contacts", help="customers")
    s = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    cl = s.add_parser("list", parents=[common], help="list contacts")
    cl.add_argument("--search", help="part of a name or address")
    cl.add_argument("--limit", type=int, default=100)
    cl.set_defaults(run=cmd_contacts_list)
    co = s.add_parser("owner", parents=[common], help="set a contact's owner (routing: contact owner)")
    co.add_argument("contact", metavar="CONTACT_EMAIL")
    co.add_argument("owner", metavar="AGENT_EMAIL|me|none")
    co.set_defaults(run=cmd_contacts_owner)
    from engine.cli.forms import add_contact_show

    add_contact_show(s, common)
    from engine.cli import contacts_merge

    contacts_merge.add_parser(s, common)

    p = sub.add_parser("workspace", help="settings of the whole help desk")
    s = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    s.add_parser("show", parents=[common], help="the settings, their values and meaning") \
        .set_defaults(run=cmd_workspace_show)
    ws = s.add_parser("set", parents=[common], help="change one setting (admins)")
    ws.add_argument("key", metavar="KEY", help=", ".join(WorkspaceSettings.model_fields))
    ws.add_argument("value", metavar="VALUE", help="true/false for switches")
    ws.set_defaults(run=cmd_workspace_set)

