"""Shared plumbing of the CLI: opening the store, who is acting, printing, errors."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from engine.config import Config, user_config
from engine.desk import Desk
from engine.identity import Identity, resolve
from engine.listing import resolve_me  # the CLI's commands import it from here
from engine.models import Agent, Role
from engine.paths import default_db
from engine.store import Store, StoreError
from engine.store.db import acting
from engine.text import clean as sanitise


class CLIError(Exception):
    """One clear line for stderr; the command exits non-zero."""


@dataclass
class Context:
    args: argparse.Namespace
    config: Config
    store: Store
    identity: Identity

    @property
    def actor(self) -> Agent:
        """Who this command works as: the OS user's agent, or whom an admin acts for."""
        return self.identity.actor

    @property
    def desk(self) -> Desk:
        return Desk(self.store, self.actor, self.identity.acting())

    @property
    def json(self) -> bool:
        return bool(getattr(self.args, "json", False))

    def require_admin(self, what: str) -> None:
        if self.actor.role != Role.admin:
            raise CLIError(f"{what} is for admins only ({self.actor.email} is an agent)")


def get_config(args: argparse.Namespace) -> Config:
    return user_config(args.config)


@contextlib.asynccontextmanager
async def open_context(args: argparse.Namespace) -> AsyncIterator[Context]:
    config = get_config(args)
    db = default_db(args.db or config.database.path)
    store = Store(db)
    await store.open()
    try:
        # identity: the real uid's agent; --as / [agent] email only for admins (engine.identity)
        requested, requested_by = getattr(args, "as_agent", None), "--as"
        if not requested and config.agent.email:
            requested, requested_by = config.agent.email, f"[agent] email in {config.path}"
        identity = await resolve(store, requested, requested_by=requested_by)
        with acting(identity.acting()):
            yield Context(args=args, config=config, store=store, identity=identity)
    finally:
        await store.close()




def resolve_me_list(actor: Agent, values: str | None) -> list[str]:
    """A comma-separated list of agent emails, ``me`` among them allowed."""
    return [resolve_me(actor, v.strip()) for v in (values or "").split(",") if v.strip()]


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
