"""Who is acting: the agent of the OS user running ticketty, never an environment variable.

Local use trusts the operating system: the agent is the one an admin mapped to the login of
the process's *real* uid (``pwd.getpwuid(os.getuid())``); ``LOGNAME``/``USER`` are ignored,
as anyone can set them. The rules (docs/security.md):

- the very first run on an empty database makes the running OS user its admin — and only then;
- an OS user with no agent is refused with one line telling how an admin adds them;
- ``--as EMAIL`` (and ``[agent] email`` in the config) is honoured only when the OS user's
  agent is an admin; the events written while acting on behalf of another agent record the
  admin as ``actor`` and the other agent as ``on_behalf_of``.

The CLI, the TUI and the engine command all resolve identity here.
"""

from __future__ import annotations

import functools
import inspect
import os
import pwd
import socket
from dataclasses import dataclass
from typing import Any

from engine.models import Agent, Role, normalize_email
from engine.store import Store, StoreError
from engine.store.db import acting


class IdentityError(StoreError):
    """The running OS user may not act (no agent, or ``--as`` without being an admin)."""


@dataclass(frozen=True)
class OSUser:
    """The login of the process's real uid and a display name from its passwd entry."""

    login: str
    name: str

    @property
    def default_email(self) -> str:
        """The email the first run gives the OS user's admin agent (``login@host``)."""
        host = socket.getfqdn() or "localhost"
        if "." not in host or host.endswith(".") or "localhost" in host:
            host = "ticketty.local"
        local = "".join(ch for ch in self.login.lower() if ch.isalnum() or ch in "._-") or "admin"
        return f"{local}@{host.lower()}"


def os_user() -> OSUser:
    """The OS user of the real uid (``getpwuid``), never ``LOGNAME``/``USER``."""
    uid = os.getuid()
    try:
        entry = pwd.getpwuid(uid)
    except KeyError:
        raise IdentityError(f"uid {uid} has no passwd entry: ticketty cannot tell who you are"
                            ) from None
    gecos = entry.pw_gecos.split(",")[0].strip()
    name = gecos or entry.pw_name.replace(".", " ").replace("_", " ").title()
    return OSUser(login=entry.pw_name, name=name)


@dataclass(frozen=True)
class Identity:
    """``me``: the OS user's own agent; ``actor``: who the session works as (``me``, or the
    agent an admin acts on behalf of)."""

    me: Agent
    actor: Agent

    @property
    def on_behalf(self) -> bool:
        return self.actor.id != self.me.id

    def acting(self) -> dict[str, str] | None:
        """What events record while acting on behalf of someone (``None`` when not)."""
        if not self.on_behalf:
            return None
        return {"actor": self.me.email, "on_behalf_of": self.actor.email}


def not_an_agent(user: OSUser) -> str:
    return (f"OS user {user.login!r} is not an agent of this help desk; an admin adds you with:"
            f" ticketty agents add --email EMAIL --name NAME --os-user {user.login}")


async def claim_first_admin(store: Store, user: OSUser | None = None) -> Agent | None:
    """On an empty database, make the running OS user its admin (``None`` otherwise)."""
    user = user or os_user()
    return await store.create_first_admin(user.default_email, user.name, user.login)


async def resolve(store: Store, requested: str | None = None, *, requested_by: str = "--as",
                  user: OSUser | None = None, ssh_agent: str | None = None) -> Identity:
    """The identity of this process on ``store``; raises :class:`IdentityError` (one line).

    ``requested`` is an agent email from ``--as`` or the config (``requested_by`` names which,
    for the error message). ``ssh_agent`` is the agent of an SSH session, named by the SSH
    server that authenticated their key (engine/ssh/session.py): honoured, like ``--as``, only
    when the OS user is an admin (the server's service user), and the session then works *as*
    that agent — the admin only carried the name over.
    """
    user = user or os_user()
    me = await store.agent_by_os_user(user.login)
    if me is None:  # an empty database (its first run), or one from before the mapping
        me = (await claim_first_admin(store, user)
              or await store.agent_by_os_user(user.login)  # another process's first run won
              or await store.claim_legacy_agent(user.login, user.default_email))
    if me is None:
        raise IdentityError(not_an_agent(user))
    if ssh_agent:
        if me.role != Role.admin:
            raise IdentityError("--ssh-session is given by `ticketty serve ssh`, which must run"
                                f" as an admin's OS user ({me.email} is an agent)")
        agent = await store.agent(normalize_email(ssh_agent))
        if agent is None:
            raise IdentityError(f"--ssh-session: no agent with email {ssh_agent!r}")
        return Identity(me=agent, actor=agent)
    actor = me
    if requested:
        try:
            email = normalize_email(requested)
        except ValueError as exc:
            raise IdentityError(f"{requested_by}: {exc}") from None
        if email != me.email:
            if me.role != Role.admin:
                raise IdentityError(f"{requested_by} {email} is for admins only"
                                    f" ({me.email} is an agent)")
            found = await store.agent(email)
            if found is None:
                raise IdentityError(f"{requested_by}: no agent with email {email!r}"
                                    " (see `ticketty agents list`)")
            actor = found
    return Identity(me=me, actor=actor)


class ActingStore:
    """The store as seen by a session working on behalf of another agent: every coroutine
    method runs with ``who`` recorded in the events it writes (``actor``/``on_behalf_of``).
    For UIs whose screens call the store directly; the engine keeps the plain store, so
    channel traffic is never attributed to an agent."""

    def __init__(self, store: Store, who: dict[str, str]) -> None:
        self._store = store
        self._who = who

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._store, name)
        if not inspect.iscoroutinefunction(value):
            return value

        @functools.wraps(value)
        async def call(*args: Any, **kwargs: Any) -> Any:
            with acting(self._who):
                return await value(*args, **kwargs)

        return call
