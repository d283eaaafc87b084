"""The forms channel through a real engine and its real front door: the happy path, every
refusal (413, 422, 429, honeypot, too fast, a forged token), and what a submission becomes —
a ticket whose thread has the visible answers only, a submission with every answer on the
contact's timeline, routing and ticket defaults applied."""

from __future__ import annotations

from typing import Any

import pytest

from engine.desk import Desk
from tests.helpers.poll import wait_for
from tests.helpers.procs import run
from tests.helpers.servers import free_port
from tests.web.forms_helpers import CONTACT, GOOD, add_form_channel, load, submit, wait_served
from tests.web.web_helpers import WebDesk

PATH = "/f/contact"


async def _served(desk: WebDesk, form: dict[str, Any] | None = None, **settings: Any):
    channel = await add_form_channel(desk.engine.store, form, **settings)
    async with desk.client() as probe:
        await wait_served(probe, f"/f/{(form or CONTACT)['slug']}")
    return channel, desk.client()


async def _health(desk: WebDesk, name: str, key: str, want: Any, seconds: float = 10) -> dict:
    async def reached() -> dict | None:
        channel = await desk.engine.store.channel(name)
        return channel.health if channel is not None and channel.health.get(key) == want \
            else None

    return await wait_for(reached, seconds)


async def _tickets(desk: WebDesk) -> int:
    return sum((await desk.engine.store.tickets_created_since(0)).values())


async def test_a_submission_becomes_a_ticket_with_hidden_fields_on_the_timeline_only(
        desk: WebDesk) -> None:
    channel, client = await _served(desk, min_fill_seconds=0)
    async with client:
        page = await client.get(PATH, params={"campaign": "spring"})
        assert page.headers["content-type"].startswith("text/html")
        assert '<label for="f-email">Your email' in page.text and 'id="f-email"' in page.text
        assert "--accent:#2f6feb" in page.text
        answer = await submit(client, PATH, GOOD, campaign="spring")
    assert answer.status_code == 200 and "Thanks, we will be in touch." in answer.text
    store = desk.engine.store
    data = await store.contact_timeline("ana@customer.test")
    assert data is not None and data["name"] == "Ana Lima"
    sub = next(i for i in data["timeline"] if i["type"] == "form_submission")
    values = {f["key"]: (f["value"], f["hidden"]) for f in sub["fields"]}
    assert values["campaign"] == ("spring", True) and values["source"] == ("website", True)
    assert values["topic"] == ("Orders", False)
    assert sub["page_url"].startswith(desk.url + PATH)
    ticket = await store.ticket(sub["ticket_id"])
    assert ticket is not None and ticket.subject == "Where is my order?"
    assert ticket.channel_id == channel.id
    text = (await store.messages(ticket.id))[0].text
    assert "Your name: Ana Lima" in text and "Topic: Orders" in text
    assert "Order 1234 has not arrived." in text
    assert "spring" not in text and "website" not in text
    health = await _health(desk, "Web", "accepted", 1)
    assert health["connected"] is True and health["rejected_total"] == 0


async def test_the_same_page_sent_twice_is_one_ticket(desk: WebDesk) -> None:
    _, client = await _served(desk, min_fill_seconds=0)
    async with client:
        hidden = await load(client, PATH)
        first = await client.post(PATH, data={**hidden, **GOOD})
        again = await client.post(PATH, data={**hidden, **GOOD})
    assert first.status_code == again.status_code == 200
    assert await _tickets(desk) == 1


async def test_invalid_answers_come_back_next_to_their_fields_as_typed(desk: WebDesk) -> None:
    _, client = await _served(desk, min_fill_seconds=0)
    async with client:
        answer = await submit(client, PATH, {**GOOD, "email": "not-an-address",
                                             "name": "<script>alert(1)</script>",
                                             "topic": "Hacking", "description": ""})
    assert answer.status_code == 422
    page = answer.text
    assert '<p class="tt-error" id="f-email-err" role="alert">Enter an email address' in page
    assert 'aria-describedby="f-email-err" aria-invalid="true"' in page
    assert 'id="f-description-err"' in page and 'id="f-topic-err"' in page
    assert 'value="not-an-address"' in page  # kept as typed
    assert "<script>alert(1)</script>" not in page
    assert answer.headers["content-security-policy"].startswith("default-src 'none'")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert await _tickets(desk) == 0
    await _health(desk, "Web", "rejected", {"invalid": 1})


async def test_the_honeypot_is_refused_with_a_page_and_counted(desk: WebDesk) -> None:
    _, client = await _served(desk, min_fill_seconds=0)
    async with client:
        answer = await submit(client, PATH, {**GOOD, "_website": "http://spam.example"})
    assert answer.status_code == 422 and "was not sent" in answer.text
    assert answer.headers["content-type"].startswith("text/html")
    assert await _tickets(desk) == 0
    await _health(desk, "Web", "rejected", {"honeypot": 1})
    shown = run(desk.engine.store.path, "forms", "show", "contact").stdout
    assert "channel Web: 0 accepted, 1 refused (honeypot 1)" in shown


async def test_a_form_sent_too_fast_comes_back_and_is_not_ticketed(desk: WebDesk) -> None:
    _, client = await _served(desk, min_fill_seconds=60)
    async with client:
        answer = await submit(client, PATH, GOOD)
    assert answer.status_code == 422 and "quicker than a person" in answer.text
    assert 'value="Where is my order?"' in answer.text
    assert await _tickets(desk) == 0
    await _health(desk, "Web", "rejected", {"too_fast": 1})


async def test_a_token_we_did_not_sign_is_refused(desk: WebDesk) -> None:
    _, client = await _served(desk, min_fill_seconds=0)
    async with client:
        hidden = await load(client, PATH)
        nonce, whole, frac, _mac = hidden["_token"].split(".")
        forged = f"{nonce}.{float(whole) - 100:.0f}.{frac}.{_mac}"
        answer = await client.post(PATH, data={**hidden, "_token": forged, **GOOD})
        none = await client.post(PATH, data=GOOD)
    assert answer.status_code == none.status_code == 422
    assert await _tickets(desk) == 0
    await _health(desk, "Web", "rejected", {"bad_token": 2})


async def test_a_body_over_the_limit_is_413_with_a_page(desk: WebDesk) -> None:
    _, client = await _served(desk, min_fill_seconds=0, max_body_kb=16)
    async with client:
        answer = await submit(client, PATH, {**GOOD, "description": "x" * 20_000})
    assert answer.status_code == 413 and "too large" in answer.text
    assert await _tickets(desk) == 0
    await _health(desk, "Web", "rejected", {"too_large": 1})


async def test_an_address_over_its_rate_gets_429_with_retry_after(desk: WebDesk) -> None:
    _, client = await _served(desk, min_fill_seconds=0, rate_per_minute=1, rate_burst=2)
    async with client:
        codes = []
        for n in range(3):
            answer = await submit(client, PATH, {**GOOD, "subject": f"try {n}"})
            codes.append(answer.status_code)
    assert codes == [200, 200, 429]
    assert int(answer.headers["Retry-After"]) >= 1 and "try again in" in answer.text
    assert await _tickets(desk) == 2
    await _health(desk, "Web", "rejected", {"rate_limited": 1})


async def test_a_redirect_and_the_ticket_defaults_of_the_form_apply(desk: WebDesk) -> None:
    form = {**CONTACT, "slug": "urgent", "redirect": "https://acme.test/thanks",
            "ticket": {"priority": "high", "status": "open"}}
    await _served(desk, form, min_fill_seconds=0)
    async with desk.client() as client:
        answer = await submit(client, "/f/urgent", GOOD)
    assert answer.status_code == 303 and answer.headers["location"] == "https://acme.test/thanks"
    data = await desk.engine.store.contact_timeline("ana@customer.test")
    assert data is not None
    sub = next(i for i in data["timeline"] if i["type"] == "form_submission")
    ticket = await desk.engine.store.ticket(sub["ticket_id"])
    assert ticket is not None and ticket.priority == "high" and ticket.status == "open"


async def test_a_known_contact_goes_to_their_owner(desk: WebDesk) -> None:
    store = desk.engine.store
    first = await Desk(store, desk.admin).create_ticket(subject="Earlier", from_email=GOOD["email"])
    contact = (await store.ticket(first.ticket_id)).contact_id
    await store.set_contact_owner(contact, desk.agent.email)
    _, client = await _served(desk, min_fill_seconds=0, routing="contact_owner")
    async with client:
        assert (await submit(client, PATH, GOOD)).status_code == 200
    data = await store.contact_timeline(GOOD["email"])
    sub = next(i for i in data["timeline"] if i["type"] == "form_submission")
    ticket = await store.ticket(sub["ticket_id"])
    assert ticket.assignee_id == desk.agent.id


async def test_files_become_attachments_within_their_limits(desk: WebDesk) -> None:
    form = {**CONTACT, "slug": "upload", "max_file_mb": 0.01, "file_types": ["text/plain"],
            "fields": [*CONTACT["fields"], {"key": "receipt", "label": "Receipt",
                                            "type": "file"}]}
    await _served(desk, form, min_fill_seconds=0)
    async with desk.client() as client:
        page = (await client.get("/f/upload")).text
        assert 'enctype="multipart/form-data"' in page
        wrong = await submit(client, "/f/upload", GOOD,
                             files={"receipt": ("r.png", b"\x89PNG....", "image/png")})
        big = await submit(client, "/f/upload", GOOD,
                           files={"receipt": ("r.txt", b"x" * 20_000, "text/plain")})
        good = await submit(client, "/f/upload", GOOD,
                            files={"receipt": ("receipt.txt", b"paid 12 EUR", "text/plain")})
    assert wrong.status_code == big.status_code == 422
    assert "choose a file of type text/plain" in wrong.text and "larger than" in big.text
    assert good.status_code == 200
    data = await desk.engine.store.contact_timeline(GOOD["email"])
    sub = next(i for i in data["timeline"] if i["type"] == "form_submission")
    message = (await desk.engine.store.messages(sub["ticket_id"]))[0]
    assert [(a.filename, a.size) for a in message.attachments] == [("receipt.txt", 11)]
    assert "Receipt: receipt.txt" in message.text


async def test_an_agent_reply_reaches_the_submitter_by_email(
        desk: WebDesk, smtp_sink: tuple[Any, int]) -> None:
    from engine.channels.email_settings import EmailSettings
    from engine.channels.setup import build_channel

    handler, port = smtp_sink
    store = desk.engine.store
    pipelines = {p.name: [s.name for s in p.statuses] for p in await store.pipelines()}
    # an older email channel first: the form's reply_channel chooses, not the oldest
    for name, address, smtp in (("Sales", "sales@acme.test", free_port()),
                                ("Support", "help@acme.test", port)):
        await store.add_channel(build_channel("email", name, {
            "address": address, "mode": "forwarding", "forward_listen_port": 0,
            "smtp_host": "127.0.0.1", "smtp_port": smtp, "smtp_security": "none"},
            settings_model=EmailSettings, agents=[], teams=[], pipelines=pipelines))
    _, client = await _served(desk, min_fill_seconds=0, reply_channel="Support")
    async with client:
        assert (await submit(client, PATH, GOOD)).status_code == 200
    data = await store.contact_timeline(GOOD["email"])
    sub = next(i for i in data["timeline"] if i["type"] == "form_submission")
    await Desk(store, desk.agent).reply(sub["ticket_id"], "It ships tomorrow.")
    async def sent() -> bool:
        return bool(handler.messages)

    await wait_for(sent, 20)
    sender, recipients, raw = handler.messages[0]
    assert recipients == [GOOD["email"]] and sender == "help@acme.test"
    assert b"It ships tomorrow." in raw and b"Where is my order?" in raw


@pytest.mark.parametrize("path", ["/f/contact/embed.js"])
async def test_the_embed_script_frames_the_form_with_the_page_address(desk: WebDesk,
                                                                      path: str) -> None:
    _, client = await _served(desk)
    async with client:
        script = await client.get(path)
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]
    assert f'"{desk.url}/f/contact"' in script.text and "_page" in script.text
