"""Shared plumbing of the CLI: opening the store, who is acting, printing, errors."""

from __future__ import annotations

import argparse
import contextlib
import getpass
import json
import socket
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from engine.config import Config, load_config
from engine.desk import Desk, ensure_first_admin
from engine.models import Agent, Role
from engine.paths import config_file, default_db
from engine.store import Store, StoreError
from engine.text import clean as sanitise


class CLIError(Exception):
    """One clear line for stderr; the command exits non-zero."""


def os_user_identity() -> tuple[str, str]:
    user = getpass.getuser() or "admin"
    host = socket.getfqdn() or "localhost"
    if "." not in host or host.endswith(".") or "localhost" in host:
        host = "ticketty.local"
    name = user.replace(".", " ").replace("_", " ").title()
    return f"{user.lower()}@{host.lower()}", name


@dataclass
class Context:
    args: argparse.Namespace
    config: Config
    store: Store
    actor: Agent

    @property
    def desk(self) -> Desk:
        return Desk(self.store, self.actor)

    @property
    def json(self) -> bool:
        return bool(getattr(self.args, "json", False))

    def require_admin(self, what: str) -> None:
        if self.actor.role != Role.admin:
            raise CLIError(f"{what} is for admins only ({self.actor.email} is an agent)")


def get_config(args: argparse.Namespace) -> Config:
    if args.config:
        return load_config(args.config, required=True)
    return load_config(config_file())


@contextlib.asynccontextmanager
async def open_context(args: argparse.Namespace) -> AsyncIterator[Context]:
    config = get_config(args)
    db = default_db(args.db or config.database.path)
    store = Store(db)
    await store.open()
    try:
        email, name = os_user_identity()
        first = await ensure_first_admin(store, email, name)
        who = getattr(args, "as_agent", None) or getattr(args, "agent", None) or config.agent.email
        actor = first
        if who:
            found = await store.agent(who)
            if found is None:
                raise CLIError(f"no agent with email {who!r} (see `ticketty agents list`)")
            actor = found
        yield Context(args=args, config=config, store=store, actor=actor)
    finally:
        await store.close()


def emit(ctx: Context, data: Any, human: str | None = None) -> None:
    if ctx.json:
        print(json.dumps(data, default=_default, indent=2, ensure_ascii=False))
    elif human is not None:
        print(human)


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    return str(value)


def table(rows: list[list[str]], headers: list[str]) -> str:
    """A plain aligned table (the CLI does not use Rich, to start fast)."""
    cells = [headers, *rows]
    widths = [max(len(_clean(r[i])) for r in cells) for i in range(len(headers))]
    widths = [min(w, 60) for w in widths]
    lines = []
    for r in cells:
        lines.append("  ".join(_clean(c)[:w].ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
    return "\n".join(lines)


def _clean(value: object) -> str:
    """Customer text on a terminal, on one line: the engine's sanitiser (the TUI's too), with
    any newline left in it shown as a space."""
    return sanitise(value).replace("\n", " ")


def clean(value: object) -> str:
    return _clean(value)


def fail(message: str, code: int = 1) -> int:
    print(f"ticketty: error: {message}", file=sys.stderr)
    return code


KNOWN_ERRORS: tuple[type[BaseException], ...] = (CLIError, StoreError, ValueError)
