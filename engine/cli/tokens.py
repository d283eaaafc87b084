"""``ticketty tokens create|list|revoke``: bearer tokens for the tickets API (``/api/v1``).

A token acts as one agent — you, or with ``--as AGENT`` (admins) that agent — with that
agent's role. It is printed once, when it is made; the database keeps only its SHA-256.
Agents see and revoke their own tokens; admins see and revoke everyone's.
"""

from __future__ import annotations

import argparse

from engine.cli.common import Context, emit, table
from engine.cli.errors import required_text
from engine.models import Role


def _own_only(ctx: Context) -> int | None:
    """Whose tokens this command may touch: None (all) for an admin, else the actor's id."""
    return None if ctx.identity.me.role == Role.admin else ctx.actor.id


async def cmd_create(ctx: Context) -> int:
    name = required_text("--name", ctx.args.name, "a token needs a name")
    assert ctx.actor.id is not None  # an agent read from the store
    token = await ctx.store.create_api_token(name, ctx.actor.id, created_by=ctx.identity.me.id)
    if ctx.json:
        emit(ctx, {"token": token, "name": name, "agent": ctx.actor.email})
        return 0
    print(f"token {name!r} acts as {ctx.actor.email}; it is shown this once, keep it safe:")
    print(token)
    return 0


async def cmd_list(ctx: Context) -> int:
    rows = await ctx.store.api_tokens(_own_only(ctx), include_revoked=ctx.args.all)
    if ctx.json:
        emit(ctx, rows)
        return 0
    if not rows:
        print("no tokens (make one with `ticketty tokens create --name NAME`)")
        return 0
    print(table([[r["name"], r["agent"], r["created_at"][:16], (r["last_used_at"] or "-")[:16],
                  (r["revoked_at"] or "-")[:16]] for r in rows],
                ["NAME", "AGENT", "CREATED", "LAST USED", "REVOKED"]))
    return 0


async def cmd_revoke(ctx: Context) -> int:
    row = await ctx.store.revoke_api_token(ctx.args.name, _own_only(ctx))
    emit(ctx, row, f"token {row['name']!r} of {row['agent']} revoked")
    return 0


def add_parser(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("tokens", help="bearer tokens for the tickets API")
    ts = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    c = ts.add_parser("create", parents=[common],
                      help="make a token acting as you (or --as AGENT); printed once")
    c.add_argument("--name", required=True, help="a name to know it by (unique)")
    c.set_defaults(run=cmd_create)
    ls = ts.add_parser("list", parents=[common], help="your tokens (admins: everyone's)")
    ls.add_argument("--all", action="store_true", help="revoked tokens too")
    ls.set_defaults(run=cmd_list)
    r = ts.add_parser("revoke", parents=[common], help="revoke a token by name")
    r.add_argument("name")
    r.set_defaults(run=cmd_revoke)
