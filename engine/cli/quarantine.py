"""``ticketty quarantine list|show|retry|delete``: raw input that could not be ingested (admins).

``show`` prints the reason and the header fields (``--raw`` writes the bytes as they came);
``retry`` runs an item through the parser and the ingest pipeline again (after an upgrade
fixed the cause); ``delete`` drops it for good (``--yes`` confirms).
"""

from __future__ import annotations

import argparse
import sys

from engine.cli.common import CLIError, Context, clean, emit, table


def _when(item: dict) -> str:
    return f"{item['at']:%Y-%m-%d %H:%M}"


async def cmd_list(ctx: Context) -> int:
    ctx.require_admin("the quarantine")
    items = await ctx.store.quarantine(ctx.args.limit)
    emit(ctx, items, table([[str(i["id"]), _when(i), clean(i["source"]), clean(i["reason"]),
                             str(i["size"])] for i in items], ["ID", "AT", "SOURCE", "REASON", "BYTES"])
         if items else "quarantine is empty")
    return 0


async def cmd_show(ctx: Context) -> int:
    from engine.quarantine import headers, require

    ctx.require_admin("the quarantine")
    item = await require(ctx.store, ctx.args.id)
    if ctx.args.raw:
        sys.stdout.buffer.write(item["raw"])
        return 0
    fields = headers(item["raw"])
    data = {k: v for k, v in item.items() if k != "raw"}
    data["headers"] = [[name, value] for name, value in fields]
    lines = [f"item      {item['id']}", f"at        {_when(item)}",
             f"source    {clean(item['source'])}", f"channel   {clean(item['channel'] or '-')}",
             f"size      {item['size']} bytes", f"reason    {clean(item['reason'])}", ""]
    lines += [f"{clean(name)}: {clean(value)}" for name, value in fields] or ["(no header fields)"]
    emit(ctx, data, "\n".join(lines))
    return 0


async def cmd_retry(ctx: Context) -> int:
    from engine.quarantine import retry

    ctx.require_admin("the quarantine")
    done = await retry(ctx.store, ctx.args.id)
    emit(ctx, done.as_dict(), done.describe())
    return 0


async def cmd_delete(ctx: Context) -> int:
    from engine.quarantine import require

    ctx.require_admin("the quarantine")
    item = await require(ctx.store, ctx.args.id)
    if not ctx.args.yes:
        raise CLIError(f"deleting quarantined item {item['id']} drops its {item['size']} bytes"
                       " for good; add --yes to confirm")
    await ctx.store.delete_quarantined(item["id"])
    emit(ctx, {"deleted": item["id"]}, f"deleted quarantined item {item['id']}")
    return 0


def add_parser(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("quarantine", help="raw input that could not be ingested (admins)")
    s = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    ql = s.add_parser("list", parents=[common], help="list quarantined items: when, source,"
                      " reason, size")
    ql.add_argument("--limit", type=int, default=100)
    ql.set_defaults(run=cmd_list)
    qs = s.add_parser("show", parents=[common], help="an item's reason and header fields")
    qs.add_argument("id", type=int, metavar="ID")
    qs.add_argument("--raw", action="store_true", help="write its raw bytes to stdout instead")
    qs.set_defaults(run=cmd_show)
    qr = s.add_parser("retry", parents=[common], help="ingest an item again (after an upgrade"
                      " fixed the cause)")
    qr.add_argument("id", type=int, metavar="ID")
    qr.set_defaults(run=cmd_retry)
    qd = s.add_parser("delete", parents=[common], help="delete an item for good")
    qd.add_argument("id", type=int, metavar="ID")
    qd.add_argument("--yes", action="store_true", help="confirm")
    qd.set_defaults(run=cmd_delete)
