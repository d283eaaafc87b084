"""The ``:`` command line and the palette share one table of commands.

Each command names the same ``op_*`` call or screen action a key runs, so ``:close``, the
``c`` key and the palette's "Close ticket" are one code path. :data:`COMMANDS` are the desk's
own; the app adds the admin ones (:func:`tui.screens.admin.commands.admin_commands`) when it is
built and keeps the whole table as ``app.commands``, which :func:`run_command`, the palette and
``?`` read. Commands reach the app through :class:`tui.host.DeskApp` only.

| command | does |
|---|---|
| ``:assign <email>|me|none`` | assign the current ticket |
| ``:team <name>|none`` | set its team |
| ``:status <name>`` | change its status (``:status pending``) |
| ``:priority low|normal|high|urgent`` | change its priority |
| ``:pipeline <name>`` | move it to another pipeline |
| ``:close`` / ``:reopen`` | close / reopen it |
| ``:reply`` / ``:note`` | open the composer on it |
| ``:call`` | call its customer back (calls channel; your phone rings first) |
| ``:open <number>`` | open ticket #number |
| ``:view unassigned|mine|open|closed|all|<channel>`` | switch the queue view |
| ``:search <words key:value…>`` | search the queue (``:search`` alone clears) |
| ``:sort activity|created|priority`` | sort the queue |
| ``:theme <name>`` | switch theme (remembered) |
| ``:away`` / ``:available`` | your availability |
| ``:channels`` | the channels screen |
| ``:who`` | agents: online or not, availability, what they have open (tui.presence) |
| ``:connect email`` | the connect wizard (admins) |
| ``:agents`` / ``:teams`` / ``:pipelines`` / ``:canned`` | admin screens (admins) |
| ``:quarantine`` | input that could not be ingested: show, retry, delete (admins) |
| ``:workspace`` | workspace settings, e.g. assign on reply (admins) |
| ``:help`` / ``:quit`` | keys of this screen / quit |
"""

from __future__ import annotations

import inspect
import shlex
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, cast

from textual.command import DiscoveryHit, Hit, Hits, Provider

from engine.store import StoreError

if TYPE_CHECKING:
    from tui.host import DeskApp

#: runs a command with its words; what it returns is awaited when it is awaitable
Handler = Callable[["DeskApp", list[str]], object]


@dataclass(frozen=True)
class Command:
    name: str
    usage: str
    help: str
    run: Handler
    needs_ticket: bool = False
    screen: str | None = None  # "queue" | "ticket": only offered there in the palette


def _ticket(app: DeskApp) -> int:
    tid = app.current_ticket_id()
    if tid is None:
        raise StoreError("no ticket here: open one or put the cursor on it")
    return tid


def _need(args: list[str], what: str) -> str:
    if not args:
        raise StoreError(f"which {what}?")
    return " ".join(args)


def _assign(app: DeskApp, args: list[str]) -> None:
    who = _need(args, "agent (an email, me or none)")
    tid = _ticket(app)
    if who in ("none", "nobody", "-"):
        app.op_assign(tid, None)
    else:
        app.op_assign(tid, app.agent.email if who == "me" and app.agent else who)


def _team(app: DeskApp, args: list[str]) -> None:
    name = _need(args, "team")
    tid = _ticket(app)
    app.op_assign(tid, None, name)  # the assignee stays


def _screen_action(action: str, app: DeskApp, args: list[str]) -> object:
    screen = app.base_screen()
    method = getattr(screen, f"command_{action}", None)
    if method is None:
        raise StoreError(f":{action} does not apply to this screen")
    return method(" ".join(args))


async def _open(app: DeskApp, args: list[str]) -> None:
    number = _need(args, "ticket number").lstrip("#")
    if not number.isdigit():
        raise StoreError(f"not a ticket number: {number!r}")
    if await app.store.ticket(int(number)) is None:
        raise StoreError(f"no ticket #{number}")
    app.open_ticket(int(number))


def _theme(app: DeskApp, args: list[str]) -> None:
    if not args:
        app.search_themes()
        return
    name = args[0]
    if name not in app.available_themes:
        raise StoreError(f"no theme {name!r} ({', '.join(sorted(app.available_themes))})")
    app.theme = name


async def _who(app: DeskApp, args: list[str]) -> None:
    import time

    from tui.presence import WhoScreen, who_lines

    agents = await app.store.agents()
    everyone = await app.store.presence(time.time())
    subjects: dict[int, str] = {}
    for ticket_id in {p.ticket_id for p in everyone if p.ticket_id is not None}:
        ticket = await app.store.ticket(ticket_id)
        if ticket is not None:
            subjects[ticket_id] = ticket.subject
    me = app.presence.session if app.presence is not None else None
    app.push_screen(WhoScreen(who_lines(agents, everyone, subjects, me)))


COMMANDS: list[Command] = [
    Command("assign", "assign <email|me|none>", "Assign the ticket to an agent", _assign, True),
    Command("team", "team <name>", "Set the ticket's team", _team, True),
    Command("status", "status <name>", "Change the ticket's status",
            lambda app, a: app.op_status(_ticket(app), _need(a, "status")), True),
    Command("priority", "priority <low|normal|high|urgent>", "Change the ticket's priority",
            lambda app, a: app.op_priority(_ticket(app), _need(a, "priority")), True),
    Command("pipeline", "pipeline <name>", "Move the ticket to another pipeline",
            lambda app, a: app.op_pipeline(_ticket(app), _need(a, "pipeline")), True),
    Command("close", "close", "Close the ticket", lambda app, a: app.op_close(_ticket(app)), True),
    Command("reopen", "reopen", "Reopen the ticket",
            lambda app, a: app.op_reopen(_ticket(app)), True),
    Command("reply", "reply", "Reply to the customer", partial(_screen_action, "reply"), True,
            "ticket"),
    Command("note", "note", "Write an internal note", partial(_screen_action, "note"), True,
            "ticket"),
    Command("attach", "attach <file>", "Send a file with the reply (Messenger, WhatsApp)",
            partial(_screen_action, "attach"), True, "ticket"),
    Command("template", "template", "Send an approved template (WhatsApp, window closed)",
            partial(_screen_action, "template"), True, "ticket"),
    Command("call", "call", "Call the customer back (rings your phone first)",
            lambda app, a: app.desk_call(lambda d: d.call_back(_ticket(app)),
                                         "Call-back queued: your phone rings first"), True),
    Command("open", "open <number>", "Open a ticket by number", _open),
    Command("view", "view <unassigned|mine|open|closed|all|channel>", "Switch the queue view",
            partial(_screen_action, "view"), screen="queue"),
    Command("search", "search <words key:value…>", "Search the queue (empty: clear)",
            partial(_screen_action, "search"), screen="queue"),
    Command("sort", "sort <activity|created|priority>", "Sort the queue",
            partial(_screen_action, "sort"), screen="queue"),
    Command("theme", "theme <name>", "Switch the colour theme", _theme),
    Command("away", "away", "Set yourself away (routing skips you)",
            lambda app, a: app.op_availability("away")),
    Command("available", "available", "Set yourself available",
            lambda app, a: app.op_availability("available")),
    Command("channels", "channels", "Connected channels", lambda app, a: app.action_channels()),
    Command("who", "who", "Who is online and what they have open", _who),
    Command("help", "help", "Keys of this screen", lambda app, a: app.action_help()),
    Command("quit", "quit", "Quit ticketty", lambda app, a: app.call_later(app.action_quit)),
]
ALIASES = {"q": "quit", "a": "assign", "s": "status", "p": "priority", "o": "open",
           "v": "view", "filter": "search", "f": "search"}


async def run_command(app: DeskApp, text: str) -> None:
    """Parse and run one command line (with or without the leading ``:``)."""
    text = text.strip().lstrip(":").strip()
    if not text:
        return
    try:
        words = shlex.split(text)
    except ValueError:
        words = text.split()
    name, args = words[0].lower(), words[1:]
    name = ALIASES.get(name, name)
    if name.isdigit():
        name, args = "open", [name]
    command = next((c for c in app.commands if c.name == name), None)
    if command is None:
        raise StoreError(f"unknown command :{name} (try :help)")
    result = command.run(app, args)
    if inspect.isawaitable(result):
        await result


class CommandProvider(Provider):
    """ticketty's commands in the ``ctrl+p`` palette, for the screen in front."""

    @property
    def desk_app(self) -> DeskApp:
        return cast("DeskApp", self.app)

    def _commands(self) -> list[Command]:
        app = self.desk_app
        kind = getattr(app.base_screen(), "SCREEN_KIND", None)
        has_ticket = app.current_ticket_id() is not None
        out = []
        for c in app.commands:
            if c.screen and c.screen != kind:
                continue
            if c.needs_ticket and not has_ticket:
                continue
            if c.name in ("help", "quit"):
                continue
            out.append(c)
        return out

    def _runner(self, command: Command) -> Callable[[], None]:
        app = self.desk_app
        if "<" in command.usage:  # it needs words: the command line, with its name typed

            def type_it() -> None:  # once the palette has closed
                app.call_later(app.action_command_line_with, f"{command.name} ")

            return type_it
        return lambda: app.execute(command.name)

    async def discover(self) -> Hits:
        for c in self._commands():
            yield DiscoveryHit(c.help, self._runner(c), help=f":{c.usage}")

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for c in self._commands():
            score = max(matcher.match(c.help), matcher.match(c.name))
            if score > 0:
                yield Hit(score, matcher.highlight(c.help), self._runner(c), help=f":{c.usage}")
