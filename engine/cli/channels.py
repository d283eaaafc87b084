"""``ticketty channels …``: connect, list (with health), edit, enable/disable, sync, test."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import Any

from engine.channels import Ability, adapter_class, build_adapter, cannot, entry, kinds
from engine.channels.health import health_words
from engine.channels.setup import build_channel, parse_pairs, settings_keys
from engine.cli.common import CLIError, Context, clean, emit, table
from engine.cli.forms import check_references
from engine.models import Channel, saved_id
from engine.vault import redact


def channel_json(ch: Channel, today: int | None = None) -> dict[str, Any]:
    h = ch.health
    return {
        "id": ch.id, "name": ch.name, "kind": ch.kind, "enabled": ch.enabled,
        "address": adapter_class(ch.kind).address_of(ch), "health": health_words(h, ch.enabled),
        "connected": bool(h.get("connected")) and ch.enabled,
        "last_sync": _iso(h.get("last_sync_at")), "last_error": h.get("last_error"),
        "last_error_at": _iso(h.get("last_error_at")), "tickets_today": today,
        "settings": redact(ch.kind, ch.settings), "defaults": ch.defaults.model_dump(),
        "routing": ch.routing.model_dump(),
    }


def _iso(value: float | None) -> str | None:
    return datetime.fromtimestamp(value, UTC).isoformat() if value else None


async def _context_lists(ctx: Context) -> dict[str, Any]:
    pipelines = {p.name: [s.name for s in p.statuses] for p in await ctx.store.pipelines()}
    return {"agents": await ctx.store.agents(), "teams": await ctx.store.teams(), "pipelines": pipelines}


async def _channel(ctx: Context, name: str) -> Channel:
    ch = await ctx.store.channel(name)
    if ch is None:
        raise CLIError(f"no channel named {name!r} (see `ticketty channels list`)")
    return ch


def _able(ch: Channel, ability: Ability) -> None:
    """Refuse, in words, what the channel's kind cannot do."""
    if not entry(ch.kind).can(ability):
        raise CLIError(cannot(ch.kind, ability, ch.name))


async def cmd_add(ctx: Context) -> int:
    ctx.require_admin("connecting channels")
    a = ctx.args
    values = parse_pairs(a.set or [])
    channel = build_channel(a.kind, a.name, values, settings_model=entry(a.kind).settings_class(),
                            **await _context_lists(ctx))
    await check_references(ctx, channel)
    if a.test:
        _able(channel, Ability.test_connection)
        problems = await build_adapter(channel, ctx.store).test_connection()
        if problems:
            raise CLIError("connection test failed: " + "; ".join(problems))
    channel = await ctx.store.add_channel(channel)
    emit(ctx, channel_json(channel), f"connected {channel.kind} channel {channel.name!r}")
    return 0


async def cmd_edit(ctx: Context) -> int:
    ctx.require_admin("editing channels")
    base = await _channel(ctx, ctx.args.name)
    channel = build_channel(base.kind, ctx.args.rename or base.name, parse_pairs(ctx.args.set or []),
                            settings_model=entry(base.kind).settings_class(), base=base,
                            **await _context_lists(ctx))
    await check_references(ctx, channel)
    channel = await ctx.store.update_channel(channel)
    emit(ctx, channel_json(channel), f"updated channel {channel.name!r}")
    return 0


async def cmd_toggle(ctx: Context, enabled: bool) -> int:
    ctx.require_admin("enabling and disabling channels")
    ch = await _channel(ctx, ctx.args.name)
    ch = await ctx.store.update_channel(ch.model_copy(update={"enabled": enabled}))
    emit(ctx, channel_json(ch), f"channel {ch.name!r} {'enabled' if enabled else 'disabled'}")
    return 0


async def cmd_remove(ctx: Context) -> int:
    ctx.require_admin("removing channels")
    ch = await _channel(ctx, ctx.args.name)
    if not ctx.args.yes:
        raise CLIError(f"removing {ch.name!r} stops it receiving (its tickets stay); add --yes to confirm")
    await ctx.store.remove_channel(saved_id(ch))
    emit(ctx, {"removed": ch.name}, f"removed channel {ch.name!r}; its tickets stay")
    return 0


async def tickets_today(ctx: Context) -> dict[int, int]:
    start = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0).timestamp()
    return await ctx.store.tickets_created_since(start)


async def cmd_list(ctx: Context) -> int:
    channels = await ctx.store.channels()
    today = await tickets_today(ctx)
    data = [channel_json(c, today.get(saved_id(c), 0)) for c in channels]
    if ctx.json:
        emit(ctx, data)
        return 0
    rows = [[d["name"], d["kind"], d["address"] or "-", "on" if d["enabled"] else "off",
             clean(d["health"]), (d["last_sync"] or "-")[:19], str(d["tickets_today"])] for d in data]
    print(table(rows, ["NAME", "KIND", "ADDRESS", "ENABLED", "HEALTH", "LAST SYNC", "TODAY"])
          if rows else "no channels yet: `ticketty channels add email --name NAME --set key=value …`")
    return 0


async def cmd_show(ctx: Context) -> int:
    """One channel whole: settings (secrets masked), defaults, routing, health and — for web
    kinds — the ``webhook_url`` / ``embed_code`` built from ``[engine] public_url``."""
    ch = await _channel(ctx, ctx.args.name)
    today = await tickets_today(ctx)
    data = channel_json(ch, today.get(saved_id(ch), 0))
    base = ctx.config.engine.public_base().rstrip("/")
    data.update(adapter_class(ch.kind).public_links(ch, base))
    if ctx.json:
        emit(ctx, data)
        return 0
    lines = [f"{'name':16} {clean(ch.name)}", f"{'kind':16} {ch.kind}",
             f"{'address':16} {clean(data['address'] or '-')}",
             f"{'enabled':16} {'on' if ch.enabled else 'off'}",
             f"{'health':16} {clean(data['health'])}",
             f"{'last sync':16} {data['last_sync'] or '-'}",
             f"{'tickets today':16} {data['tickets_today']}"]
    if data["last_error"]:
        lines.append(f"{'last error':16} {clean(str(data['last_error']))}")
    for key in ("webhook_url", "embed_code"):
        if key in data:
            lines.append(f"{key:16} {clean(str(data[key]))}")
    lines.append("settings:")
    lines += [f"  {k:22} {clean(_shown(v))}" for k, v in data["settings"].items()]
    lines.append("defaults: " + ", ".join(f"{k}={_shown(v)}" for k, v in data["defaults"].items()))
    lines.append("routing:  " + ", ".join(f"{k}={_shown(v)}" for k, v in data["routing"].items()))
    print("\n".join(lines))
    return 0


def _shown(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, list):
        return ",".join(str(v) for v in value) or "-"
    return str(value)


async def cmd_keys(ctx: Context) -> int:
    model = entry(ctx.args.kind).settings_class()
    keys = {k: info.cli_help() for k, info in settings_keys(model).items()}
    emit(ctx, keys, "\n".join(f"{k:24} {v}" for k, v in keys.items()))
    return 0


async def cmd_sync(ctx: Context) -> int:
    ch = await _channel(ctx, ctx.args.name)
    _able(ch, Ability.sync_now)
    result = await build_adapter(ch, ctx.store).sync_once()
    emit(ctx, {"channel": ch.name, **result},
         f"{ch.name}: " + ", ".join(f"{k} {v}" for k, v in result.items()))
    return 0


async def cmd_history(ctx: Context) -> int:
    ctx.require_admin("importing history")
    from datetime import date

    from engine.cli import _progress

    ch = await _channel(ctx, ctx.args.name)
    _able(ch, Ability.history_import)
    since = None
    if ctx.args.since:
        try:
            since = date.fromisoformat(ctx.args.since)
        except ValueError:
            raise CLIError(f"--since {ctx.args.since!r} is not a date (YYYY-MM-DD)") from None
    statuses = {s.name for p in await ctx.store.pipelines() for s in p.statuses}
    if ctx.args.status not in statuses:
        raise CLIError(f"status {ctx.args.status!r} is not a known status ({', '.join(sorted(statuses))})")
    adapter = build_adapter(ch, ctx.store)
    try:
        report = await adapter.import_history(since=since, status=ctx.args.status,
                                              progress=_progress("importing history"))
    finally:
        await adapter.close()
    emit(ctx, {"channel": ch.name, **report},
         f"{ch.name}: {report['found']} mails found; read {report['read']}:"
         f" {report['created']} new tickets, {report['threaded']} added to existing tickets,"
         f" {report['duplicates']} already there, {report['quarantined']} quarantined,"
         f" {report['bounces']} bounces, {report['skipped']} skipped")
    return 0


async def cmd_test(ctx: Context) -> int:
    ch = await _channel(ctx, ctx.args.name)
    _able(ch, Ability.test_connection)
    problems = await build_adapter(ch, ctx.store).test_connection()
    emit(ctx, {"channel": ch.name, "ok": not problems, "problems": problems},
         "connection ok" if not problems else "\n".join(problems))
    return 0 if not problems else 1


def add_parser(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("channels", help="connected channels")
    s = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    add = s.add_parser("add", parents=[common], help="connect a channel (admins)")
    add.add_argument("kind", choices=kinds())
    add.add_argument("--name", required=True)
    add.add_argument("--set", action="append", metavar="KEY=VALUE", help="a setting (repeatable)")
    add.add_argument("--test", action="store_true", help="test the connection before saving")
    add.set_defaults(run=cmd_add)
    ed = s.add_parser("edit", parents=[common], help="change a channel's settings (admins)")
    ed.add_argument("name")
    ed.add_argument("--set", action="append", metavar="KEY=VALUE")
    ed.add_argument("--rename")
    ed.set_defaults(run=cmd_edit)
    s.add_parser("list", parents=[common], help="channels with their health").set_defaults(run=cmd_list)
    sh = s.add_parser("show", parents=[common],
                      help="one channel: settings (secrets masked), health, webhook URL / embed code")
    sh.add_argument("name")
    sh.set_defaults(run=cmd_show)
    k = s.add_parser("keys", parents=[common], help="the settings keys of a kind")
    k.add_argument("kind", choices=kinds())
    k.set_defaults(run=cmd_keys)
    for verb, on in (("enable", True), ("disable", False)):
        t = s.add_parser(verb, parents=[common], help=f"{verb} a channel (admins)")
        t.add_argument("name")
        t.set_defaults(run=lambda ctx, _on=on: cmd_toggle(ctx, _on))
    rm = s.add_parser("remove", parents=[common], help="remove a channel; its tickets stay (admins)")
    rm.add_argument("name")
    rm.add_argument("--yes", action="store_true")
    rm.set_defaults(run=cmd_remove)
    sy = s.add_parser("sync", parents=[common], help="one full fetch now; prints what it took in")
    sy.add_argument("name")
    sy.set_defaults(run=cmd_sync)
    hi = s.add_parser("import-history", parents=[common],
                      help="import a mailbox's existing mail as tickets (admins)")
    hi.add_argument("name")
    hi.add_argument("--since", help="only mail on or after this date (YYYY-MM-DD)")
    hi.add_argument("--status", default="closed", help="status of the imported tickets (default closed)")
    hi.set_defaults(run=cmd_history)
    te = s.add_parser("test", parents=[common], help="test a channel's connection")
    te.add_argument("name")
    te.set_defaults(run=cmd_test)
    from engine.cli import channels_signin

    channels_signin.add_parser(s, common)
