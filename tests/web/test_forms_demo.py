"""The demo's contact form: seeded once, and a simulated visitor's submission over real HTTP
becomes a ticket like any browser's (hidden campaign on the timeline only)."""

from __future__ import annotations

import random

from engine.demo_data import SCENARIOS
from engine.demo_forms import FORM_CHANNEL, FormVisitor, seed_forms
from tests.web.forms_helpers import wait_served
from tests.web.web_helpers import WebDesk


async def test_a_demo_visitor_submits_the_contact_form(desk: WebDesk) -> None:
    store = desk.engine.store
    await seed_forms(store)
    await seed_forms(store)  # a reused workspace: nothing twice
    assert [c.name for c in await store.channels() if c.kind == "forms"] == [FORM_CHANNEL]
    async with desk.client() as probe:
        await wait_served(probe, "/f/contact")
    visitor = FormVisitor(random.Random(3), pace=0.0)
    visitor.rng.random = lambda: 0.1  # type: ignore[method-assign] - always a campaign
    status = await visitor.submit(desk.url, ("Greta Lindqvist", "greta@example.org"),
                                  SCENARIOS[0])
    assert status == 200 and visitor.sent == 1
    data = await store.contact_timeline("greta@example.org")
    sub = next(i for i in data["timeline"] if i["type"] == "form_submission")
    fields = {f["key"]: f["value"] for f in sub["fields"]}
    assert fields["source"] == "demo site" and fields["campaign"]
    message = (await store.messages(sub["ticket_id"]))[0]
    assert SCENARIOS[0].question in message.text and fields["campaign"] not in message.text
