"""The calling channel: phone calls (Twilio Programmable Voice, or a compatible API) as tickets.

Inbound, the number's voice webhook posts here (:mod:`engine.channels.calls_web`, mounted on
the engine's front door under ``/calls/<channel id>``): the call is answered with TwiML
(:mod:`engine.channels.calls_twiml`) — ring the available agents who have a phone within
office hours, else voicemail — and becomes a message in the caller's ticket
(:mod:`engine.channels.calls_book`, rows in :mod:`engine.store.calls`). Outbound, a call-back
queued on a ticket (``:call``, ``c``, ``ticketty tickets call``) leaves through the outbox:
:meth:`CallsAdapter.place_call` creates a ``Calls`` resource that rings the agent first, then
bridges to the customer with the channel's number as caller id, at most ``calls_per_second``.
The REST base is ``api_base_url`` (Twilio, SignalWire's compatibility API, the local stand-in
:mod:`engine.sandbox.twilio`).
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlencode

from engine.channels.abilities import Ability
from engine.channels.base import ChannelAdapter
from engine.channels.calls_settings import CallsSettings
from engine.channels.contract import ComposerSpec, ReplyWindow
from engine.outbox import PermanentError

if TYPE_CHECKING:
    from engine.channels.calls_book import CallBook
    from engine.channels.calls_web import CallsWebhooks
    from engine.models import Channel, Ticket
    from engine.outbox import OutboxItem

API_VERSION = "2010-04-01"
#: call progress events a call-back reports (Twilio sends only ``completed`` by default)
CALLBACK_EVENTS = ("initiated", "ringing", "answered", "completed")


def prefix_of(channel: Channel) -> str:
    return f"/calls/{channel.id}"


class CallsAdapter(ChannelAdapter):
    """One phone number: webhooks in, call-backs out."""

    kind: ClassVar[str] = "calls"
    abilities: ClassVar[frozenset[Ability]] = frozenset(
        {Ability.receive, Ability.web_routes, Ability.test_connection})
    settings_model = CallsSettings
    delivers: ClassVar[dict[str, str]] = {"call": "place_call"}
    settings: CallsSettings

    def __init__(self, channel: Channel, host: Any, *,
                 settings: dict[str, Any] | None = None) -> None:
        super().__init__(channel, host, settings=settings)
        self._webhooks: CallsWebhooks | None = None
        self._pace = asyncio.Lock()
        self._last_call = 0.0

    @property
    def book(self) -> CallBook:
        book: CallBook = self.host.call_book()
        return book

    @property
    def webhooks(self) -> CallsWebhooks:
        if self._webhooks is None:
            from engine.channels.calls_web import CallsWebhooks

            self._webhooks = CallsWebhooks(self)
        return self._webhooks

    def url(self, path: str) -> str:
        """A webhook URL of this channel, under the engine's public base URL."""
        base = (self.host.public_url or "http://127.0.0.1").rstrip("/")
        return f"{base}{prefix_of(self.channel)}{path}"

    # ------------------------------------------------------------------ abilities
    async def run(self) -> None:
        """Calls arrive on the web routes; this only says the channel listens."""
        await self.host.health(connected=True, listening=True, last_error=None)
        await asyncio.Event().wait()

    def routes(self) -> list[Any]:
        from engine.web.mounts import WebMount

        if self.channel.id is None:
            raise RuntimeError("a calls channel serves webhooks once it is saved")
        return [WebMount(prefix_of(self.channel), router=self.webhooks.router(),
                         max_body=64 * 1024, name=self.channel.name)]

    def _auth(self) -> tuple[str, str]:
        return self.settings.account_sid, self.settings.auth_token.get_secret_value()

    def _api(self, path: str) -> str:
        return f"{self.settings.api_base_url}/{API_VERSION}/Accounts/{self.settings.account_sid}{path}"

    async def test_connection(self) -> list[str]:
        """Check the SID and token with the API, and that the number is on the account."""
        from engine.httpclient import httpx

        problems: list[str] = []
        try:
            async with httpx.AsyncClient(timeout=15, auth=self._auth()) as client:
                account = await client.get(self._api(".json"))
                if account.status_code in (401, 403):
                    return ["the account SID or auth token is wrong (the API refused them)"]
                if account.status_code >= 400:
                    return [f"the API answered {account.status_code}: {_error(account)}"]
                numbers = await client.get(self._api("/IncomingPhoneNumbers.json"),
                                           params={"PhoneNumber": self.settings.phone_number})
                if numbers.status_code < 400 and not numbers.json().get(
                        "incoming_phone_numbers"):
                    problems.append(f"{self.settings.phone_number} is not a number of this account")
        except httpx.HTTPError as exc:
            problems.append(f"cannot reach {self.settings.api_base_url}: {exc}")
        return problems

    # ------------------------------------------------------------------ outbound
    async def place_call(self, item: OutboxItem) -> str | None:
        """A call-back: ring the agent's phone, then (``/bridge``) dial the customer. Waits its
        turn under ``calls_per_second``; a refused request fails for good, a 429/5xx retries."""
        from engine.httpclient import httpx

        payload = item.payload
        call_id = payload.get("call_id")
        if not call_id or not payload.get("agent_phone") or not payload.get("customer"):
            raise PermanentError("a call-back needs the agent's and the customer's numbers")
        form: list[tuple[str, str]] = [
            ("To", payload["agent_phone"]), ("From", self.settings.phone_number),
            ("Url", self.url(f"/bridge?call={call_id}")), ("Method", "POST"),
            ("StatusCallback", self.url("/status")), ("StatusCallbackMethod", "POST"),
            *(("StatusCallbackEvent", e) for e in CALLBACK_EVENTS),
        ]
        await self._wait_turn()
        async with httpx.AsyncClient(timeout=15, auth=self._auth()) as client:
            answer = await client.post(  # repeated StatusCallbackEvent: encoded by hand
                self._api("/Calls.json"), content=urlencode(form),
                headers={"Content-Type": "application/x-www-form-urlencoded"})
        if answer.status_code == 429 or answer.status_code >= 500:
            raise RuntimeError(f"the API answered {answer.status_code}: {_error(answer)}")
        if answer.status_code >= 400:
            await self.book.update_call(int(call_id), f"refused:{call_id}", status="failed")
            raise PermanentError(f"the API refused the call ({answer.status_code}): "
                                 f"{_error(answer)}")
        body = answer.json()
        sid = str(body.get("sid") or "")
        await self.book.link_call(int(call_id), sid, str(body.get("status") or "queued"))
        return sid

    async def _wait_turn(self) -> None:
        async with self._pace:
            gap = 1.0 / self.settings.calls_per_second
            wait = self._last_call + gap - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            self._last_call = time.monotonic()

    async def download(self, url: str) -> tuple[bytes, str]:
        """A recording, with the account's credentials, at most ``recording_max_bytes``."""
        from engine.httpclient import httpx

        if not url.startswith(("https://", "http://")):
            raise ValueError("no recording URL")
        limit = self.settings.recording_max_bytes
        target = url if url.endswith((".mp3", ".wav")) else url + ".mp3"
        async with httpx.AsyncClient(timeout=30, auth=self._auth(), follow_redirects=True
                                     ) as client, client.stream("GET", target) as answer:
            if answer.status_code >= 400:
                raise ValueError(f"HTTP {answer.status_code}")
            data = bytearray()
            async for chunk in answer.aiter_bytes():
                data.extend(chunk)
                if len(data) > limit:
                    raise ValueError(f"larger than {limit} bytes")
            return bytes(data), answer.headers.get("content-type", "audio/mpeg").split(";")[0]

    # ------------------------------------------------------------------ pure hooks
    @classmethod
    def address_of(cls, channel: Channel) -> str:
        return str(channel.settings.get("phone_number") or "")

    @classmethod
    def public_links(cls, channel: Channel, base_url: str) -> dict[str, str]:
        if channel.id is None:
            return {}
        base = f"{base_url.rstrip('/')}{prefix_of(channel)}"
        return {"webhook_url": f"{base}/voice", "status_callback_url": f"{base}/status"}

    @classmethod
    def composer_spec(cls, channel: Channel | None, ticket: Ticket) -> ComposerSpec:
        return ComposerSpec(window=ReplyWindow(
            False, "a phone call: call the customer back with V (or :call)"))


def _error(answer: Any) -> str:
    try:
        body = answer.json()
        return str(body.get("message") or body)
    except ValueError:
        return answer.text[:200]
