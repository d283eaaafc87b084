"""The demo's contact form: ``/f/contact`` on the demo engine's front door, and customers who
fill it in over real HTTP.

:func:`seed_forms` keeps the form (name, email, topic, order number, a hidden campaign read
from the page's query string and a hidden fixed source) and connects the "Contact form"
channel serving it — its tickets routed to the Repairs team, answers leaving by email through
the support channel. :class:`FormVisitor` is one customer's visit: load the page (with a
campaign in its query string now and then), take as long as a person does, send it back with
the page's hidden inputs — the same requests a browser makes, through the same guards
(honeypot, fill time, rate limit) and the one ingest pipeline.
"""

from __future__ import annotations

import asyncio
import random
import re
from html import unescape
from typing import Any

from engine.demo_data import CHANNEL_NAMES, Scenario
from engine.form_defs import parse_form

FORM_CHANNEL = "Contact form"
FORM: dict[str, Any] = {
    "name": "Contact Northwind Bikes", "slug": "contact", "accent": "#1f7a4d",
    "intro": "Questions about an order, a repair or an invoice? We answer within a day.",
    "thank_you": "Thanks! Your message reached our team; we answer by email within a day.",
    "fields": [
        {"key": "name", "label": "Your name", "required": True},
        {"key": "email", "label": "Your email", "type": "email", "required": True},
        {"key": "topic", "label": "Topic", "type": "select",
         "options": ["Repairs", "Orders and delivery", "Billing", "Something else"]},
        {"key": "order", "label": "Order number", "help": "If it is about an order, like NW-1042."},
        {"key": "subject", "label": "Subject", "required": True},
        {"key": "description", "label": "Your message", "type": "textarea", "required": True},
        {"key": "campaign", "type": "hidden", "from_query": "utm_campaign"},
        {"key": "source", "type": "hidden", "value": "demo site"},
    ],
}
#: how long a person takes to fill the form in, in seconds (scaled by the demo's pace)
FILL_SECONDS = (1.2, 2.5)
MIN_FILL_SECONDS = 1
CAMPAIGNS = ("spring-service", "newsletter", "repair-week")
_HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)"')


async def seed_forms(store: Any) -> None:
    """The contact form and its channel (once: a reused demo workspace has them)."""
    from engine.models import Channel, RoutingMode, RoutingRule, TicketDefaults

    if await store.form(FORM["slug"]) is None:
        await store.add_form(parse_form(FORM))
    if await store.channel(FORM_CHANNEL) is None:
        teams = {t.name: t.id for t in await store.teams()}
        await store.add_channel(Channel(
            kind="forms", name=FORM_CHANNEL,
            settings={"form": FORM["slug"], "reply_channel": CHANNEL_NAMES["support"],
                      "min_fill_seconds": MIN_FILL_SECONDS, "rate_per_minute": 120,
                      "rate_burst": 20},
            defaults=TicketDefaults(status="new", priority="normal"),
            routing=RoutingRule(mode=RoutingMode.users_teams,
                                team_ids=[teams["Repairs"]] if "Repairs" in teams else [])))


class FormVisitor:
    """Customers filling in the demo's contact form over HTTP (see the module docstring)."""

    def __init__(self, rng: random.Random, pace: float = 1.0) -> None:
        self.rng = rng
        self.pace = pace
        self.sent = 0

    async def submit(self, base_url: str, who: tuple[str, str], scenario: Scenario) -> int:
        """One visit; the HTTP status of the submission (200: thanked)."""
        import httpx

        name, email = who
        params = {"utm_campaign": self.rng.choice(CAMPAIGNS)} if self.rng.random() < 0.5 else {}
        async with httpx.AsyncClient(base_url=base_url, timeout=10) as client:
            page = await client.get(f"/f/{FORM['slug']}", params=params)
            page.raise_for_status()
            hidden = {k: unescape(v) for k, v in _HIDDEN.findall(page.text)}
            # a person reads and types; never quicker than the form's minimum fill time
            await asyncio.sleep(max(MIN_FILL_SECONDS + 0.1,
                                    self.rng.uniform(*FILL_SECONDS) * self.pace))
            topic = "Billing" if scenario.channel == "billing" else "Repairs"
            order = f"NW-{self.rng.randint(1000, 9999)}" if self.rng.random() < 0.5 else ""
            answer = await client.post(f"/f/{FORM['slug']}", data={
                **hidden, "name": name, "email": email, "topic": topic, "order": order,
                "subject": scenario.subject, "description": scenario.question})
        if answer.status_code == 200:
            self.sent += 1
        return answer.status_code
