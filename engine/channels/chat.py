"""The website chat channel: an embeddable widget, live both ways over a WebSocket.

- The widget (``static/chat/widget.js``) is served by the front door under ``/chat/<id>``
  (:mod:`engine.channels.chat_routes`); the embed code is one ``<script … async>`` tag built
  from ``[engine] public_url`` (:meth:`ChatAdapter.public_links`).
- A visitor is a signed token kept in the browser (:mod:`engine.channels.chat_tokens`); their
  messages become :class:`~engine.models.InboundMessage` s with ``sender_kind="visitor"`` and
  the visitor id as conversation key (one ticket per conversation), keyed by the widget's own
  message id — a message sent twice (a retry after a reconnect) is one message.
- Agent replies go through the outbox like any reply: :meth:`ChatAdapter.send` accepts them
  (any process may run it — ``ticketty tickets reply`` does), and the process serving the
  widgets pushes every line that became *sent* to the ticket's open widgets when the
  ``message.delivery`` event arrives (:meth:`ChatAdapter.run`). Notes are never sent.
- Typing and presence travel as events (``chat.typing``, ``chat.presence``), so agents' TUIs
  in other processes show "● visitor online" and "typing…".
"""

from __future__ import annotations

import asyncio
import html
import json
import time
from typing import TYPE_CHECKING, Any, ClassVar, cast

from engine.channels.base import ChannelAdapter
from engine.channels.chat_bot import Bot, availability, send_transcript, widget_config
from engine.channels.chat_hub import Hub, Widget
from engine.channels.chat_settings import ChatSettings
from engine.channels.chat_tokens import is_visitor_id, new_visitor_id, sign, verify
from engine.channels.contract import ComposerSpec, ReplyContext, ReplyPlan
from engine.channels.registry import CHAT
from engine.models import InboundMessage, IngestResult
from engine.outbox import PermanentError
from engine.vault import reveal

if TYPE_CHECKING:
    from engine.channels.live import LiveHost
    from engine.models import Channel, Event, Ticket
    from engine.outbox import OutboxItem

TYPING_EVERY = 2.0  # seconds between typing signals of one visitor
SWEEP_EVERY = 30.0  # seconds between looks for chats whose visitor is gone
GONE_KEY = "gone"  # channel state: visitor → when their last widget closed (epoch seconds)


def prefix_of(channel: Channel) -> str:
    """Where a chat channel's routes live on the front door."""
    return f"/chat/{channel.id}"


class ChatAdapter(ChannelAdapter):
    """One chat channel: its widgets (a :class:`Hub`), ingest, replies, bot, transcripts."""

    kind: ClassVar[str] = "chat"
    abilities = CHAT.abilities
    settings_model = ChatSettings
    settings: ChatSettings

    def __init__(self, channel: Channel, host: Any, **kwargs: Any) -> None:
        super().__init__(channel, host, **kwargs)
        self.live = cast("LiveHost", host)
        self.hub = Hub(self.live.thread)
        self.bot = Bot(self.settings, self.live)
        self._typing_at: dict[str, float] = {}
        self._transcribed: dict[int, int] = {}

    @property
    def secret(self) -> str:
        return reveal(self.settings.visitor_secret)

    # ------------------------------------------------------------ receiving
    async def run(self) -> None:
        """Push what other processes do (replies sent, agents typing, tickets closed) to the
        open widgets, and end idle chats, until cancelled."""
        await self.host.health(connected=True, listening=prefix_of(self.channel),
                               last_error=None)
        await self._load_gone()
        sweep = asyncio.ensure_future(self._sweep_idle())
        try:
            async with self.live.events() as queue:
                while True:
                    event = await queue.get()
                    try:
                        await self.on_event(event)
                    except Exception:  # one bad event must not stop the widgets
                        self.host.log.exception("chat: handling %s failed", event.kind)
        finally:
            sweep.cancel()
            await asyncio.gather(sweep, return_exceptions=True)
            # visitors still here when we stop count as gone now: a visitor who does not come
            # back to the next engine still gets their transcript
            now = self.host.clock()
            for visitor in list(self.hub.by_visitor):
                self.hub.gone_at.setdefault(visitor, now)
            await self.hub.close_all()
            await asyncio.shield(self._save_gone())
            await asyncio.shield(self.host.health(connected=False, listening=None))

    async def on_event(self, event: Event) -> None:
        """One event from the store: bring the ticket's widgets up to date."""
        ticket = event.ticket_id
        if ticket is None or ticket not in self.hub.by_ticket:
            return
        kind, data = event.kind, event.data
        if kind == "message.delivery" and data.get("state") == "sent" \
                or kind == "message.added" and data.get("direction") == "inbound":
            await self.hub.push_ticket(ticket)  # a reply went out; another tab's line came in
        elif kind == "chat.typing" and data.get("who") == "agent":
            await self.hub.tell_ticket(ticket, {"type": "typing", "on": bool(data.get("on")),
                                                "name": str(data.get("name") or "")})
        elif kind == "ticket.status" and data.get("is_open") is False:
            await self.hub.tell_ticket(ticket, {"type": "closed"})
            await self._transcript(ticket)

    async def _sweep_idle(self) -> None:
        while True:
            await asyncio.sleep(SWEEP_EVERY)
            await self.end_idle(self.host.clock())

    async def end_idle(self, now: float) -> list[int]:
        """Chats whose visitor has been gone ``idle_minutes`` (wall-clock ``now``): send their
        transcripts."""
        done = []
        ended = False
        for visitor, gone in list(self.hub.gone_at.items()):
            if now - gone < self.settings.idle_minutes * 60:
                continue
            self.hub.gone_at.pop(visitor, None)
            ended = True
            ticket = await self.live.conversation_ticket(visitor)
            if ticket is not None and await self._transcript(ticket):
                done.append(ticket)
        if ended:
            await self._save_gone()
        return done

    async def _load_gone(self) -> None:
        """The visitors an earlier run saw leave (their idle clocks survive a restart)."""
        saved = (await self.host.state()).get(GONE_KEY) or {}
        for visitor, at in saved.items():
            if is_visitor_id(visitor) and isinstance(at, (int, float)):
                self.hub.gone_at.setdefault(visitor, float(at))

    async def _save_gone(self) -> None:
        state = await self.host.state()
        state[GONE_KEY] = dict(self.hub.gone_at)
        await self.host.set_state(state)

    async def _transcript(self, ticket: int) -> bool:
        queued = await send_transcript(self.settings, self.live, ticket)
        return queued is not None

    # -------------------------------------------------------------- sessions
    def visitor_of(self, token: str | None) -> str | None:
        return verify(self.secret, token)

    def new_token(self) -> tuple[str, str]:
        visitor = new_visitor_id()
        return visitor, sign(self.secret, visitor)

    async def config(self) -> dict[str, Any]:
        return widget_config(self.settings, await self.config_mode())

    async def open_widget(self, widget: Widget, after: int) -> None:
        """A widget connected: find its conversation, send what it missed, go online."""
        widget.ticket = await self.live.conversation_ticket(widget.visitor)
        widget.last = max(0, after)
        back = widget.visitor in self.hub.gone_at
        if self.hub.add(widget) and widget.ticket is not None:
            await self.live.signal("chat.presence", widget.ticket, online=True)
        if back:
            await self._save_gone()
        await self.hub.catch_up(widget)

    async def close_widget(self, widget: Widget) -> None:
        if self.hub.remove(widget, self.host.clock()):
            await self._save_gone()
            if widget.ticket is not None:
                await self.live.signal("chat.presence", widget.ticket, online=False)

    def message_of(self, visitor: str, client_id: str, text: str, name: str = ""
                   ) -> InboundMessage:
        """The inbound message a visitor's widget sent (key: visitor + the widget's id)."""
        if not is_visitor_id(visitor):
            raise ValueError("not a visitor")
        cid = str(client_id).strip()
        if not cid or len(cid) > 80:
            raise ValueError("a message needs an id (up to 80 characters)")
        text = str(text).strip()
        if not text:
            raise ValueError("an empty message")
        if len(text) > self.settings.max_message_chars:
            raise ValueError(f"a message is at most {self.settings.max_message_chars} characters")
        return InboundMessage(channel_id=self.channel.id, key=f"chat:{visitor}:{cid}",
                              sender_kind="visitor", sender=visitor, sender_name=name[:100],
                              text=text, conversation_key=visitor,
                              # the bot talks first: routed at "Talk to a person"
                              extra={"route_later": True} if self.settings.bot_enabled else {})

    async def visitor_says(self, widget: Widget, client_id: str, text: str) -> IngestResult:
        """Ingest a visitor's line, join its ticket, and bring their widgets up to date."""
        msg = self.message_of(widget.visitor, client_id, text, widget.name)
        result = await self.host.ingest(msg)
        if result.ticket_id is not None:
            if widget.ticket != result.ticket_id:
                self.hub.join(widget.visitor, result.ticket_id)
                await self.live.signal("chat.presence", result.ticket_id, online=True)
            if result.created_ticket:
                email = await self.live.customer_email(result.ticket_id)
                await self.bot.opened(result.ticket_id, has_email=bool(email))
            await self.hub.push_ticket(result.ticket_id)
        return result

    async def visitor_typing(self, widget: Widget, on: bool) -> None:
        now = time.monotonic()
        if widget.ticket is None or (on and now - self._typing_at.get(widget.visitor, 0)
                                     < TYPING_EVERY):
            return
        self._typing_at[widget.visitor] = now if on else 0
        await self.live.signal("chat.typing", widget.ticket, who="visitor", on=on)

    async def visitor_email(self, widget: Widget, email: str, name: str) -> str | None:
        """The visitor gave their email (and name): the contact gets it — the same contact as
        their emails. Returns an error to show, or None."""
        problem = await self.bot.got_email(widget.ticket, email, name)
        if problem:
            return problem
        widget.name = name.strip()[:100] or widget.name
        linked = await self.live.link_identity("visitor", widget.visitor, "email",
                                               email.strip(), widget.name)
        if linked is None:  # no message yet: the contact is made now, with both identities
            await self.host.ingest(InboundMessage(
                channel_id=self.channel.id, key=f"chat:{widget.visitor}:email",
                sender_kind="visitor", sender=widget.visitor, sender_name=widget.name,
                text=f"(left their email: {email.strip()})", conversation_key=widget.visitor))
            await self.live.link_identity("visitor", widget.visitor, "email", email.strip(),
                                          widget.name)
            self.hub.join(widget.visitor, await self.live.conversation_ticket(widget.visitor)
                          or 0)
        if widget.ticket:
            await self.hub.push_ticket(widget.ticket)
        return None

    async def visitor_quick(self, widget: Widget, label: str) -> bool:
        if widget.ticket is None:
            await self.visitor_says(widget, f"quick:{label[:60]}", label)
        if widget.ticket is None or not await self.bot.quick(widget.ticket, label):
            return False
        await self.hub.push_ticket(widget.ticket)
        return True

    async def ingest_raw(self, raw: bytes, source: str = "chat") -> IngestResult | None:
        """A JSON frame ``{"visitor", "id", "text"}`` as the HTTP fallback posts it; input
        that is not one is kept in quarantine with its bytes."""
        try:
            frame = json.loads(raw)
            msg = self.message_of(str(frame["visitor"]), str(frame["id"]), str(frame["text"]),
                                  str(frame.get("name") or ""))
        except (ValueError, KeyError, TypeError) as exc:
            reason = str(exc) if isinstance(exc, ValueError) and not isinstance(
                exc, json.JSONDecodeError) else f"not a chat message frame ({type(exc).__name__})"
            await self.host.quarantine(source, reason, raw)
            return None
        return await self.host.ingest(msg)

    # ---------------------------------------------------------------- sending
    async def send(self, item: OutboxItem) -> str | None:
        """Accept an agent's reply for the visitor: it is stored, and the widgets get it when
        its ``sent`` state is committed (by whichever process runs this)."""
        p = item.payload
        if not p.get("to") or not is_visitor_id(str(p["to"])):
            raise PermanentError("this ticket has no chat visitor to answer")
        if len(p.get("text") or "") > self.settings.max_message_chars:
            raise PermanentError(f"a chat reply is at most {self.settings.max_message_chars}"
                                 " characters (max_message_chars)")
        if p.get("email") and self.settings.reply_email_channel \
                and await self.config_mode() != "open":
            await self.live.enqueue_via(
                self.settings.reply_email_channel, "reply", ticket_id=item.ticket_id,
                payload={"to": p["email"], "subject": f"Re: {p.get('subject') or 'your chat'}",
                         "text": p.get("text") or "", "agent_name": p.get("agent_name")},
                key=f"chat-away:{item.idempotency_key}")
        return f"chat:{item.message_id or item.id}"

    async def config_mode(self) -> str:
        """``open``, ``away`` or ``hidden`` now (see :func:`~.chat_bot.availability`)."""
        return await availability(self.settings, self.live, self.host.clock())

    # ------------------------------------------------------------------ web
    def routes(self) -> Any:
        from engine.channels.chat_routes import mount

        return mount(self)

    # ------------------------------------------------------------- kind hooks
    @classmethod
    def address_of(cls, channel: Channel) -> str:
        return f"widget {prefix_of(channel)}" if channel.id else "widget"

    @classmethod
    def public_links(cls, channel: Channel, base_url: str) -> dict[str, str]:
        src = html.escape(f"{base_url}{prefix_of(channel)}/widget.js", quote=True)
        return {"embed_code": f'<script src="{src}" async></script>'}

    @classmethod
    def prepare_reply(cls, ctx: ReplyContext) -> ReplyPlan:
        """To the visitor's widget; with their email (if they left one) and the subject, so a
        reply written while the chat is away also goes out by mail."""
        plan = super().prepare_reply(ctx)
        to = ctx.identity("visitor")
        return ReplyPlan(payload={**plan.payload, "to": to, "email": ctx.identity("email"),
                                  "subject": ctx.subject})

    @classmethod
    def composer_spec(cls, channel: Channel | None, ticket: Ticket) -> ComposerSpec:
        """A chat reply is live: no subject, no attachments."""
        return ComposerSpec(has_subject=False, attachments=False)
