"""``ticketty channels signin NAME``: sign a Gmail or Microsoft 365 channel in (XOAUTH2).

The same flows as the wizard's sign-in step (:mod:`engine.channels.email_signin`):

- Microsoft: prints the code and the address to enter it at, and waits for the sign-in;
- Google: prints the address to open in a browser; the browser comes back to a listener on
  127.0.0.1 by itself. Over SSH it cannot, so the address the browser ended on may be pasted
  on standard input instead.

What to do is written to stderr (stdout stays the command's result, JSON with ``--json``). The
refresh token is stored as the channel's secret ``oauth_refresh_token`` setting; with
``--provider``/``--client-id``/``--client-secret`` the channel's sign-in settings change too.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import threading
from typing import TYPE_CHECKING, Any

from engine.cli.common import CLIError, Context, emit
from engine.models import saved_id

if TYPE_CHECKING:  # imported when the command runs: httpx stays out of `ticketty --help`
    from engine.channels.email_settings import EmailSettings
    from engine.channels.email_signin import Tokens


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _stdin_lines() -> asyncio.Queue[str | None]:
    """Lines typed on stdin, read by a daemon thread (it never holds the process open)."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[str | None] = asyncio.Queue()

    def read() -> None:
        with contextlib.suppress(Exception):
            for line in sys.stdin:
                loop.call_soon_threadsafe(queue.put_nowait, line)
        with contextlib.suppress(RuntimeError):  # the loop may be gone at exit
            loop.call_soon_threadsafe(queue.put_nowait, None)

    if sys.stdin is not None and not sys.stdin.closed:
        threading.Thread(target=read, name="signin-stdin", daemon=True).start()
    return queue


async def _device(settings: EmailSettings) -> Tokens:
    from engine.channels.email_signin import poll_device_code, request_device_code

    code = await request_device_code(settings)
    say(f"To sign in as {settings.address}, open {code.verification_uri} and enter the code "
        f"{code.user_code}")
    say(f"Waiting for the sign-in (the code works for {max(1, round(code.expires_in / 60))} "
        "minutes)…")
    return await poll_device_code(settings, code)


async def _browser(settings: EmailSettings) -> Tokens:
    from engine.channels.email_signin import BrowserSignIn, SignInError

    async with BrowserSignIn(settings) as signin:
        say(f"Open this address in a browser on this machine and sign in as "
            f"{settings.address}:\n\n  {signin.url}\n")
        say("Waiting for the browser to come back to "
            f"{signin.redirect_uri} … Over SSH the browser ends on a page that does not load: "
            "paste that page's address here and press Enter.")
        lines = _stdin_lines()

        async def pasted() -> None:
            while (line := await lines.get()) is not None:
                if not line.strip():
                    continue
                try:
                    signin.paste(line)
                    return
                except SignInError as exc:
                    say(f"{exc.reason}; paste it again:")
            await asyncio.Event().wait()  # stdin closed: only the browser can answer

        paster = asyncio.ensure_future(pasted())
        try:
            return await signin.wait()
        finally:
            paster.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await paster


async def cmd_signin(ctx: Context) -> int:
    from engine.channels import Ability, cannot, entry
    from engine.channels.email_signin import PROVIDER_NAMES, SignInError, method_for
    from engine.channels.setup import build_channel

    ctx.require_admin("signing channels in")
    a = ctx.args
    base = await ctx.store.channel(a.name)
    if base is None:
        raise CLIError(f"no channel named {a.name!r} (see `ticketty channels list`)")
    if not entry(base.kind).can(Ability.sign_in):
        raise CLIError(cannot(base.kind, Ability.sign_in, base.name))
    changes: dict[str, Any] = {}
    for flag, key in (("provider", "oauth_provider"), ("client_id", "oauth_client_id"),
                      ("client_secret", "oauth_client_secret")):
        if getattr(a, flag) is not None:
            changes[key] = getattr(a, flag)
    provider = changes.get("oauth_provider", base.settings.get("oauth_provider"))
    if not provider:
        raise CLIError(f"channel {base.name!r} does not sign in: add --provider gmail or "
                       "--provider office365 (and --client-id)")
    model = entry(base.kind).settings_class()
    pipelines = {p.name: [s.name for s in p.statuses] for p in await ctx.store.pipelines()}
    agents, teams = await ctx.store.agents(), await ctx.store.teams()
    planned = build_channel(base.kind, base.name, {**changes, "oauth_refresh_token": ""},
                            settings_model=model, base=base, agents=agents, teams=teams,
                            pipelines=pipelines)
    settings: EmailSettings = model.model_validate(planned.settings)  # type: ignore[assignment]
    try:
        flow = _device if method_for(settings) == "device" else _browser
        tokens = await asyncio.wait_for(flow(settings), a.timeout)
    except SignInError as exc:
        raise CLIError(exc.reason) from None
    except TimeoutError:
        raise CLIError(f"no sign-in within {a.timeout:g} seconds; run it again") from None
    fresh = await ctx.store.channel(saved_id(base)) or base
    channel = build_channel(fresh.kind, fresh.name,
                            {**changes, "oauth_refresh_token": tokens.refresh_token},
                            settings_model=model, base=fresh, agents=agents, teams=teams,
                            pipelines=pipelines)
    channel = await ctx.store.update_channel(channel)
    who = PROVIDER_NAMES.get(provider, provider)
    emit(ctx, {"channel": channel.name, "signed_in": True, "provider": provider},
         f"signed in: {channel.name!r} reads and sends mail with the {who} sign-in "
         "(its refresh token is stored as a secret)")
    return 0


def add_parser(s: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = s.add_parser("signin", parents=[common],
                     help="sign a Gmail or Microsoft 365 channel in instead of passwords (admins)")
    p.add_argument("name")
    p.add_argument("--provider", choices=["gmail", "office365"],
                   help="sign in with Google (gmail) or Microsoft 365 (office365)")
    p.add_argument("--client-id", help="client ID of the app registered for signing in")
    p.add_argument("--client-secret", help="its client secret (Google desktop apps have one)")
    p.add_argument("--timeout", type=float, default=900.0,
                   help="seconds to wait for the sign-in (default 900)")
    p.set_defaults(run=cmd_signin)
