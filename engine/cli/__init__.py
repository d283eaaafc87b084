"""The ``ticketty`` command. Importing this module loads neither Textual nor Rich.

``ticketty`` alone opens the TUI; every other command is scriptable (``--json``), like ``gh``.
The engine never imports the TUI: the composition root (:mod:`ticketty.main`) hands
:func:`main` the UI's entry points as a :class:`UiEntryPoints`.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from engine.cli import admin, channels, demo, forms, quarantine, ssh, tickets, tokens
from engine.cli.common import KNOWN_ERRORS, Context, emit, get_config, open_context
from engine.cli.errors import FieldError, Parser, UsageError, number_arg, report, wants_json
from engine.config import ConfigError
from engine.store import DatabaseError
from engine.validation import validation_lines

#: errors reported as their message (one line), exit 1
REPORTED: tuple[type[BaseException], ...] = (ConfigError, *KNOWN_ERRORS)

NO_TUI = "this ticketty has no TUI: run a command (ticketty --help)"


@dataclass(frozen=True)
class UiEntryPoints:
    """What the CLI starts for the commands that open a user interface; each returns the exit
    code. ``run_tui(args)``: ``ticketty`` with no command. ``run_demo_tui(args, db, you)``:
    ``ticketty demo`` on the workspace ``db`` as ``you`` (email, name)."""

    run_tui: Callable[[argparse.Namespace], int]
    run_demo_tui: Callable[[argparse.Namespace, Path, tuple[str, str]], int]


def _progress(label: str) -> Callable[[int, int], None] | None:
    if not sys.stderr.isatty():
        return None
    started = time.monotonic()

    def show(done: int, total: int) -> None:
        width = 30
        filled = int(width * done / max(total, 1))
        rate = done / max(time.monotonic() - started, 1e-6)
        sys.stderr.write(f"\r{label} [{'#' * filled}{'.' * (width - filled)}] {done}/{total}"
                         f" ({rate:,.0f}/s)")
        if done >= total:
            sys.stderr.write("\n")
        sys.stderr.flush()

    return show


async def cmd_import(ctx: Context) -> int:
    ctx.require_admin("importing")
    from engine.importers import import_csv

    path = Path(ctx.args.path)
    started = time.monotonic()
    if ctx.args.format == "csv":
        report = await import_csv(ctx.store, path, _progress("importing"))
    elif ctx.args.format == "forms":
        from engine.channels.forms_import import import_forms

        if not ctx.args.form:
            raise FieldError("--form", "name the form the submissions belong to (its slug)")
        report = await import_forms(ctx.store, path, ctx.args.form, channel_name=ctx.args.channel,
                                    status=ctx.args.status, progress=_progress("importing"))
    elif ctx.args.format == "chat":
        from engine.channels.chat_import import import_chat

        report = await import_chat(ctx.store, path, status=ctx.args.status,
                                   channel_name=ctx.args.channel, progress=_progress("importing"))
    else:
        from engine.mail_import import import_mail

        report = await import_mail(ctx.store, ctx.args.format, path,
                                   status=ctx.args.status, channel_name=ctx.args.channel,
                                   since=ctx.args.since, progress=_progress("importing"))
    data = {**report.as_dict(), "seconds": round(time.monotonic() - started, 2)}
    emit(ctx, data, f"{report.summary()} ({data['seconds']} s)")
    return 0


async def cmd_engine(args: argparse.Namespace) -> int:
    """Run the engine alone until SIGTERM / ctrl+c, logging to stderr."""
    import signal

    from engine.engine import Engine
    from engine.paths import default_db

    config = get_config(args)
    if args.http_port is not None:
        if args.http_port > 65535:
            raise FieldError("--http-port", f"must be 65535 or less, not {args.http_port}")
        config.engine.http_port = args.http_port
    logging.basicConfig(level=getattr(logging, args.log_level.upper()), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    started = time.monotonic()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    db = default_db(args.db or config.database.path)
    async with Engine(config, db) as engine:
        from engine.identity import claim_first_admin

        await claim_first_admin(engine.store)  # its first run on an empty database only
        logging.getLogger("ticketty").info("engine on %s ready in %d ms", db,
                                           (time.monotonic() - started) * 1000)
        import gc

        gc.freeze()  # start-up objects: no garbage-collection pass walks them again
        await stop.wait()
        logging.getLogger("ticketty").info("shutting down")
    return 0


def build_parser() -> argparse.ArgumentParser:
    common = Parser(add_help=False)
    common.add_argument("--json", action="store_true", default=argparse.SUPPRESS,
                        help="machine-readable output (errors too: JSON on stderr)")
    common.add_argument("--as", "--agent", dest="as_agent", metavar="AGENT_EMAIL",
                        default=argparse.SUPPRESS, help="act as this agent")
    p = Parser(
        prog="ticketty", description="A keyboard-first help desk in the terminal. "
        "With no command, opens the TUI.")
    p.top_level = True
    p.add_argument("--db", help="database file (default: $TICKETTY_DB or the XDG data dir)")
    p.add_argument("--json", action="store_true", default=False,
                   help="machine-readable output (errors too: JSON on stderr)")
    p.add_argument("--config", help="TOML config file")
    p.add_argument("--as", "--agent", dest="as_agent", metavar="AGENT_EMAIL",
                   help="act as (and, in the TUI, work as) this agent")
    p.add_argument("--ssh-session", metavar="AGENT_EMAIL", help=argparse.SUPPRESS)
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    tickets.add_parser(sub, common)
    admin.add_parsers(sub, common)
    channels.add_parser(sub, common)
    quarantine.add_parser(sub, common)
    tokens.add_parser(sub, common)
    forms.add_parser(sub, common)

    imp = sub.add_parser("import", parents=[common], help="import tickets (csv), mail (eml, mbox,"
                         " maildir), a form's past submissions (forms) or chat history (chat:"
                         " JSON Lines, docs/chat.md)")
    imp.add_argument("format", choices=["csv", "eml", "mbox", "maildir", "forms", "chat"])
    imp.add_argument("path")
    imp.add_argument("--channel", help="email channel the mail belongs to (mail formats), or"
                     " the chat channel of the conversations (chat)")
    imp.add_argument("--status", default="closed", help="status of imported mail tickets (default closed)")
    imp.add_argument("--since", help="only mail on or after this date (YYYY-MM-DD)")
    imp.add_argument("--form", metavar="SLUG", help="forms: the form whose submissions these are"
                     " (the CSV header names its field keys)")
    imp.set_defaults(run=cmd_import)

    eng = sub.add_parser("engine", help="run the engine alone (channels, outbox, HTTP), "
                         "logging to stderr")
    eng.add_argument("--log-level", choices=("debug", "info", "warning"), default="info",
                     help="info: what happened (connections, mails, errors; no customer "
                     "addresses); debug: also every SMTP command")
    eng.add_argument("--http-port", type=number_arg(int, least=0, note=" (no HTTP server)"),
                     metavar="N", help="port of the web front door (default: [engine] http_port,"
                     " 8780; 0: none)")
    demo.add_parser(sub)
    ssh.add_serve_parser(sub)
    return p


def main(argv: list[str] | None = None, ui: UiEntryPoints | None = None) -> int:
    """Run one ``ticketty`` command line; the exit code. ``ui`` starts the TUI (None: this
    build has none, and the commands that need it say so)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    as_json = wants_json(argv)
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except UsageError as exc:
        return report([exc.message], 2, as_json=as_json, usage=exc.usage)
    try:
        if args.command is None:
            if ui is None:
                return report([NO_TUI], 1, as_json=as_json)
            return ui.run_tui(args)
        if args.command == "engine":
            return asyncio.run(cmd_engine(args))
        if args.command == "serve":
            return asyncio.run(ssh.cmd_serve_ssh(args))
        if args.command == "demo":
            if ui is None and not args.headless:
                return report([NO_TUI + " (ticketty demo --headless runs without it)"], 1,
                              as_json=as_json)
            return demo.run_demo_cli(args, ui.run_demo_tui if ui else None)
        return asyncio.run(_run(args))
    except ValidationError as exc:
        return report(validation_lines(exc), 1, as_json=as_json)
    except REPORTED as exc:
        return report([str(exc)], 1, as_json=as_json)
    except KeyboardInterrupt:
        return 130
    except DatabaseError as exc:
        return report([f"database error: {exc}"], 1, as_json=as_json)


async def _run(args: argparse.Namespace) -> int:
    async with open_context(args) as ctx:
        return await args.run(ctx)

