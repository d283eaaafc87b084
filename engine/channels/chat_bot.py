"""What a visitor sees before and around a person: availability, the bot, transcripts.

- **Availability** (:func:`availability`): ``always``; ``office_hours`` through the shared
  :class:`~engine.office_hours.OfficeHours`; or ``agents`` — open while any agent the routing
  rule names is available. Outside: the widget hides, or shows the away message and asks for
  an email (``mode`` ``hidden`` / ``away``).
- **The bot** (:class:`Bot`): the welcome line, then (``bot_collect``) asks for a name and an
  email (validated), offers the quick-reply buttons (their answers are canned texts), and
  hands off to a person on "Talk to a person". Every line it says is stored in the thread
  (``host.post``), so agents see what the visitor was told.
- **Transcripts** (:func:`transcript`): the conversation as plain text, queued through the
  email channel named in ``reply_email_channel`` from ``transcript_from``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from engine.channels.chat_settings import ChatSettings, valid_email

if TYPE_CHECKING:
    from engine.channels.live import LiveHost
    from engine.store.chat import ThreadLine

HANDOFF = "Talk to a person"
BOT_NAME = "Bot"


async def availability(settings: ChatSettings, host: LiveHost, now: float) -> str:
    """``open``, ``away`` or ``hidden`` right now."""
    if settings.availability == "always":
        return "open"
    if settings.availability == "office_hours":
        is_open = settings.hours().is_open(datetime.fromtimestamp(now, UTC))
    else:
        is_open = await host.routed_agents_available()
    if is_open:
        return "open"
    return "hidden" if settings.outside_hours == "hide" else "away"


def widget_config(settings: ChatSettings, mode: str) -> dict[str, Any]:
    """What the widget is told when it connects (appearance, mode, buttons)."""
    return {
        "type": "config", "mode": mode, "team_name": settings.team_name,
        "accent_color": settings.accent_color, "position": settings.position,
        "avatar": settings.avatar(), "welcome": settings.welcome_message,
        "away_message": settings.away_message, "max_chars": settings.max_message_chars,
        "ask_email": mode == "away" or (settings.bot_enabled and settings.bot_collect),
        "quick_replies": [q.label for q in settings.quick_replies()]
        + ([HANDOFF] if settings.bot_enabled else []),
    }


class Bot:
    """The bot's steps for one ticket; every line goes into the thread through the host."""

    def __init__(self, settings: ChatSettings, host: LiveHost) -> None:
        self.settings = settings
        self.host = host

    async def say(self, ticket: int, text: str, key: str) -> int:
        return await self.host.post(ticket, text, BOT_NAME, key)

    async def opened(self, ticket: int, has_email: bool) -> None:
        """The visitor's first message opened ``ticket``: greet, and ask what is missing."""
        if not self.settings.bot_enabled:
            return
        await self.say(ticket, self.settings.welcome_message, "welcome")
        if self.settings.bot_collect and not has_email:
            await self.say(ticket, "May I have your name and email, in case we get cut off?",
                           "ask-email")
        elif self.settings.quick_replies():
            await self.say(ticket, "Pick a topic below, or just type your question.", "topics")

    async def got_email(self, ticket: int | None, email: str, name: str) -> str | None:
        """The visitor gave their details: the error to show, or None when accepted."""
        if not valid_email(email):
            return f"{email!r} does not look like an email address"
        if ticket is not None and self.settings.bot_enabled:
            who = f", {name}" if name else ""
            await self.say(ticket, f"Thanks{who}! We'll also answer at {email.strip()}.",
                           f"email:{email.strip().lower()}")
        return None

    async def quick(self, ticket: int, label: str) -> bool:
        """A quick-reply button: its canned answer, or the hand-off. False: no such button."""
        if label == HANDOFF and self.settings.bot_enabled:
            await self.say(ticket, "Connecting you with a person — someone will be right"
                           " with you.", "handoff")
            await self.host.signal("chat.handoff", ticket)
            await self.host.route(ticket)  # held for the bot until now
            return True
        for n, option in enumerate(self.settings.quick_replies()):
            if option.label == label:
                await self.say(ticket, option.answer, f"quick:{n}:{len(await self.host.thread(ticket))}")
                return True
        return False


def transcript(settings: ChatSettings, lines: list[ThreadLine], ticket: int
               ) -> dict[str, Any]:
    """The transcript's subject and text (plain text; visitor text stays text)."""
    from engine.store.chat import when

    body = [f"Your chat with {settings.team_name} (#{ticket})", ""]
    for line in lines:
        who = {"visitor": "You"}.get(line.author, line.name or settings.team_name)
        body.append(f"[{when(line.at)}] {who}:")
        body.extend(f"  {row}" for row in line.text.splitlines() or [""])
    return {"subject": f"Transcript of your chat with {settings.team_name} [#{ticket}]",
            "text": "\n".join(body) + "\n"}


async def send_transcript(settings: ChatSettings, host: LiveHost, ticket: int) -> int | None:
    """Queue the transcript of ``ticket`` to the visitor's email through the email channel
    (once per ticket and last line). None: no transcript (not set up, no email, nothing said)."""
    if not settings.transcript_from or not settings.reply_email_channel:
        return None
    to = await host.customer_email(ticket)
    lines = await host.thread(ticket)
    if not to or not lines:
        return None
    mail = transcript(settings, lines, ticket)
    payload = {"to": to, "from": settings.transcript_from, "subject": mail["subject"],
               "text": mail["text"], "html": None, "ticket_id": ticket,
               "agent_name": settings.team_name, "agent_email": settings.transcript_from}
    return await host.enqueue_via(settings.reply_email_channel, "transcript", ticket_id=ticket,
                                  payload=payload, key=f"transcript:{ticket}:{lines[-1].id}")
