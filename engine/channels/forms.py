"""The forms channel: a hosted web form whose submissions become tickets.

A forms channel serves one form (``ticketty forms …``, kept in the store) at ``/f/<slug>``
on the engine's web front door (:meth:`FormsAdapter.routes`, built in
:mod:`engine.channels.forms_routes`; the HTML in :mod:`engine.channels.forms_render`). A
submission that passes the guards (:mod:`engine.channels.forms_guard`) and the field checks
(:mod:`engine.channels.forms_submit`) is one message through ``self.host.ingest``, so the
channel's routing and ticket defaults apply and contact-owner routing finds a known email.

The kind does not send: an agent's reply to a form ticket leaves by email through the
channel named in ``reply_channel`` (:func:`engine.channels.registry.pick_reply_channel`),
whose kind plans and sends it. Refused submissions are counted in the channel's health
(``rejected``: per reason) and never ticketed.
"""

from __future__ import annotations

import asyncio
import contextlib
from html import escape
from typing import TYPE_CHECKING, Any, ClassVar

from engine.channels.base import ChannelAdapter
from engine.channels.forms_guard import new_key
from engine.channels.forms_settings import FormsSettings
from engine.channels.registry import entry
from engine.web.ratelimit import RateLimiter

if TYPE_CHECKING:
    from engine.form_defs import FormDef
    from engine.models import Channel

#: how often counters are written to the channel's health (at most)
FLUSH_EVERY = 0.5
#: outcomes that are not refusals: taken in, sent twice, or not saved (the visitor may resend)
NOT_REFUSED = ("accepted", "duplicate", "failed")


def form_path(slug: str) -> str:
    return f"/f/{slug}"


class FormsAdapter(ChannelAdapter):
    kind = "forms"
    abilities: ClassVar = entry("forms").abilities
    settings_model = FormsSettings
    settings: FormsSettings

    def __init__(self, channel: Channel, host: Any, *,
                 settings: dict[str, Any] | None = None) -> None:
        super().__init__(channel, host, settings=settings)
        s = self.settings
        self.limiter = RateLimiter(s.rate_per_minute, s.rate_burst)
        self.counts: dict[str, int] = {}
        self._key: bytes | None = None
        self._flush: asyncio.Task[None] | None = None

    # ------------------------------------------------------------------ serving
    def routes(self) -> list[Any]:
        from engine.channels.forms_routes import build_router
        from engine.web.mounts import WebMount

        return [WebMount(form_path(self.settings.form), build_router(self),
                         max_body=self.settings.max_body_kb * 1024 + 65_536,
                         name=self.channel.name)]

    async def form_def(self) -> FormDef | None:
        """The form as the store has it now (an edit shows at the next page load)."""
        return await self.host.form(self.settings.form)

    async def signing_key(self) -> bytes:
        """The key fill tokens are signed with: made once, kept in the channel's state."""
        if self._key is None:
            state = await self.host.state()
            if not state.get("form_key"):
                state["form_key"] = new_key()
                await self.host.set_state(state)
            self._key = str(state["form_key"]).encode()
        return self._key

    # ----------------------------------------------------------------- counting
    def count(self, outcome: str) -> None:
        """Count a submission's outcome (``accepted`` or a refusal's reason); the counts reach
        the channel's health within :data:`FLUSH_EVERY` seconds."""
        self.counts[outcome] = self.counts.get(outcome, 0) + 1
        if self._flush is None or self._flush.done():
            self._flush = asyncio.ensure_future(self._write_counts())

    async def _write_counts(self) -> None:
        await asyncio.sleep(FLUSH_EVERY)
        await self.flush_counts()

    async def flush_counts(self) -> None:
        """Add the counts so far to the channel's health (kept across restarts in its state)."""
        counts, self.counts = self.counts, {}
        if not counts or self.host.channel_id is None:
            return
        state = await self.host.state()
        totals: dict[str, int] = dict(state.get("form_counts") or {})
        for k, n in counts.items():
            totals[k] = totals.get(k, 0) + n
        state["form_counts"] = totals
        await self.host.set_state(state)
        rejected = {k: n for k, n in totals.items() if k not in NOT_REFUSED}
        now = self.host.clock()
        await self.host.health(connected=True, last_sync_at=now, accepted=totals.get("accepted", 0),
                               duplicates=totals.get("duplicate", 0),
                               failed=totals.get("failed", 0), rejected=rejected,
                               rejected_total=sum(rejected.values()))

    async def close(self) -> None:
        if self._flush is not None and not self._flush.done():
            self._flush.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._flush
        with contextlib.suppress(Exception):
            await self.flush_counts()

    # ----------------------------------------------------------- pure kind hooks
    @classmethod
    def address_of(cls, channel: Channel) -> str:
        return form_path(str(channel.settings.get("form", "")))

    @classmethod
    def public_links(cls, channel: Channel, base_url: str) -> dict[str, str]:
        """``form_url``, ``embed_code`` (a ``<script>`` putting the form in the page) and
        ``embed_iframe`` (the same as a plain ``<iframe>``)."""
        return links(str(channel.settings.get("form", "")), base_url, channel.name)


def links(slug: str, base_url: str, title: str) -> dict[str, str]:
    """A form's address and its two embed codes, on ``base_url``."""
    url = f"{base_url.rstrip('/')}{form_path(slug)}"
    return {
        "form_url": url,
        "embed_code": f'<script src="{escape(url)}/embed.js" async></script>',
        "embed_iframe": f'<iframe src="{escape(url)}" title="{escape(title)}"'
                        ' style="width:100%;min-height:720px;border:0" loading="lazy"></iframe>',
    }

