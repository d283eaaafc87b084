"""``ticketty serve ssh`` and ``ticketty agents keys add|list|remove``.

The SSH server (engine/ssh/) lets agents in by their public key and gives each one the TUI as
themselves. Keys are kept per agent in the store: admins manage everyone's; an agent may add,
list and remove their own.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from engine.cli.common import CLIError, Context, emit, get_config, resolve_me, table
from engine.cli.errors import FieldError
from engine.models import Role, normalize_email


def _read(path: str) -> str:
    return Path(path).expanduser().read_text()


def _host_key_path(given: str | None, db: Path) -> Path:
    return Path(given or db.parent / "ssh_host_ed25519_key").expanduser()


def _own_or_admin(ctx: Context, email: str, what: str) -> str:
    wanted = normalize_email(resolve_me(ctx.actor, email))
    if wanted != ctx.actor.email:
        ctx.require_admin(f"{what} of another agent")
    return wanted


async def cmd_keys_add(ctx: Context) -> int:
    from engine.ssh.keys import BadKey, parse_public_keys

    email = _own_or_admin(ctx, ctx.args.email, "adding SSH keys")
    source = ctx.args.keyfile
    try:
        text = sys.stdin.read() if source == "-" else _read(source)
    except (OSError, UnicodeDecodeError) as exc:
        raise CLIError(f"cannot read {source}: {getattr(exc, 'strerror', None) or exc}") from None
    try:
        keys = parse_public_keys(text, "stdin" if source == "-" else source)
    except BadKey as exc:
        raise CLIError(str(exc)) from None
    added = [await ctx.store.add_agent_key(email, k.fingerprint, k.text, k.comment,
                                           ctx.actor.id) for k in keys]
    emit(ctx, [{"agent": k.agent_email, "fingerprint": k.fingerprint, "comment": k.comment}
               for k in added],
         "\n".join(f"added {k.fingerprint} {k.comment} for {k.agent_email}".rstrip()
                   for k in added))
    return 0


async def cmd_keys_list(ctx: Context) -> int:
    email = _own_or_admin(ctx, ctx.args.email, "listing SSH keys")
    if await ctx.store.agent(email) is None:
        raise CLIError(f"no agent with email {email!r}")
    keys = await ctx.store.agent_keys(email)
    if ctx.json:
        emit(ctx, [{"fingerprint": k.fingerprint, "comment": k.comment, "key": k.key,
                    "added_at": datetime.fromtimestamp(k.added_at, UTC)} for k in keys])
        return 0
    if not keys:
        print(f"{email} has no SSH key (add one: ticketty agents keys add {email} KEYFILE)")
        return 0
    rows = [[k.fingerprint, k.key.split()[0], k.comment,
             datetime.fromtimestamp(k.added_at, UTC).strftime("%Y-%m-%d")] for k in keys]
    print(table(rows, ["FINGERPRINT", "TYPE", "COMMENT", "ADDED"]))
    return 0


async def cmd_keys_remove(ctx: Context) -> int:
    email = _own_or_admin(ctx, ctx.args.email, "removing SSH keys")
    await ctx.store.remove_agent_key(email, ctx.args.fingerprint)
    emit(ctx, {"agent": email, "removed": ctx.args.fingerprint},
         f"removed {ctx.args.fingerprint} from {email}")
    return 0


def add_keys_parser(agents: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    keys = agents.add_parser("keys", help="SSH public keys an agent logs in with"
                             " (ticketty serve ssh)")
    s = keys.add_subparsers(dest="keys_action", required=True, metavar="ACTION")
    add = s.add_parser("add", parents=[common],
                       help="add public key(s) from a file (.pub, authorized_keys) or - (stdin)")
    add.add_argument("email", help="the agent's email, or me")
    add.add_argument("keyfile", metavar="KEYFILE|-")
    add.set_defaults(run=cmd_keys_add)
    ls = s.add_parser("list", parents=[common], help="an agent's keys and fingerprints")
    ls.add_argument("email", help="the agent's email, or me")
    ls.set_defaults(run=cmd_keys_list)
    rm = s.add_parser("remove", parents=[common], help="remove a key by its fingerprint")
    rm.add_argument("email", help="the agent's email, or me")
    rm.add_argument("fingerprint", help="SHA256:… as `agents keys list` shows it")
    rm.set_defaults(run=cmd_keys_remove)


def add_serve_parser(sub: argparse._SubParsersAction) -> None:
    serve = sub.add_parser("serve", help="servers for a team: ssh")
    s = serve.add_subparsers(dest="server", required=True, metavar="SERVER")
    ssh = s.add_parser("ssh", help="the SSH server: agents log in with their key and get the TUI")
    ssh.add_argument("--listen", metavar="HOST:PORT",
                     help="where to listen (default: [ssh] listen, 0.0.0.0:2222)")
    ssh.add_argument("--host-key", metavar="PATH",
                     help="the host key (OpenSSH format), made 0600 if missing (default:"
                     " [ssh] host_key, else ssh_host_ed25519_key beside the database)")
    ssh.add_argument("--log-level", choices=("debug", "info", "warning"), default="info")


async def cmd_serve_ssh(args: argparse.Namespace) -> int:
    """Run the SSH server until SIGTERM / ctrl+c, logging to stderr."""
    from engine.identity import resolve
    from engine.paths import default_db
    from engine.ssh.keys import BadKey, load_or_make_host_key
    from engine.ssh.server import SshServer
    from engine.ssh.settings import parse_listen
    from engine.store import Store

    config = get_config(args)
    try:
        host, port = parse_listen(args.listen or config.ssh.listen)
    except ValueError as exc:
        raise FieldError("--listen", str(exc).split(": ", 1)[-1]) from None
    logging.basicConfig(level=getattr(logging, args.log_level.upper()), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    db = default_db(args.db or config.database.path)
    key_path = _host_key_path(args.host_key or config.ssh.host_key, db)
    try:
        host_key, made = load_or_make_host_key(key_path)
    except BadKey as exc:
        raise CLIError(str(exc)) from None
    started = time.monotonic()
    async with Store(db) as store:
        me = (await resolve(store)).me  # an empty database: its first run makes us its admin
        if me.role != Role.admin:
            raise CLIError(f"ticketty serve ssh must run as an admin's OS user ({me.email} is"
                           " an agent): sessions start the TUI as the agent of each key")
        async with SshServer(store, db, host_key, config.ssh, host=host, port=port,
                             config_path=args.config) as server:
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, stop.set)
            print(f"ticketty ssh: listening on {host}:{server.port}; host key"
                  f" {host_key.get_fingerprint('sha256')} ({key_path}"
                  f"{', generated' if made else ''})", flush=True)
            logging.getLogger("ticketty").info("ssh server ready in %d ms",
                                               (time.monotonic() - started) * 1000)
            await stop.wait()
            logging.getLogger("ticketty").info("shutting down the ssh server")
    return 0
