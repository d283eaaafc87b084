"""One real browser (headless Chromium) fills the hosted form, submits it, and the ticket is
there — its hidden field on the contact's timeline (``contacts show --json``), not on the
thread (``tickets show --json``)."""

from __future__ import annotations

import json

from tests.helpers.browser import browser_page
from tests.helpers.procs import run
from tests.web.forms_helpers import add_form_channel, shop_page, wait_served
from tests.web.web_helpers import WebDesk


async def test_a_browser_fills_the_form_and_the_hidden_field_reaches_the_timeline_only(
        desk: WebDesk, db_path) -> None:
    await add_form_channel(desk.engine.store, min_fill_seconds=0)
    async with desk.client() as probe:
        await wait_served(probe, "/f/contact")
    async with browser_page() as page:
        await page.goto(f"{desk.url}/f/contact?campaign=spring-sale")
        await page.get_by_label("Your name").fill("Ana Lima")
        await page.get_by_label("Your email").fill("ana@customer.test")
        await page.get_by_label("Topic").select_option("Orders")
        await page.get_by_label("Subject").fill("Where is my order?")
        await page.get_by_label("How can we help?").fill("Order 1234 has not arrived.")
        # the honeypot is off-screen, out of the tab order, and stays empty
        assert await page.locator("#_website").get_attribute("tabindex") == "-1"
        await page.get_by_role("button", name="Send").click()
        await page.get_by_text("Thanks, we will be in touch.").wait_for()

    contact = json.loads(run(db_path, "contacts", "show", "ana@customer.test", "--json").stdout)
    sub = next(i for i in contact["timeline"] if i["type"] == "form_submission")
    fields = {f["key"]: f for f in sub["fields"]}
    assert fields["campaign"]["value"] == "spring-sale" and fields["campaign"]["hidden"]
    assert sub["page_url"] == f"{desk.url}/f/contact?campaign=spring-sale"
    ticket = json.loads(run(db_path, "tickets", "show", str(sub["ticket_id"]), "--json").stdout)
    thread = json.dumps(ticket["messages"])
    assert "Your name: Ana Lima" in thread and "Topic: Orders" in thread
    assert "spring-sale" not in thread


async def test_the_embed_script_puts_the_form_in_a_page_with_its_query_string(
        desk: WebDesk, db_path) -> None:
    await add_form_channel(desk.engine.store, min_fill_seconds=0)
    async with desk.client() as probe:
        await wait_served(probe, "/f/contact")
        code = (await probe.get("/f/contact/embed.js")).status_code
    assert code == 200
    html = (f"<!doctype html><title>Shop</title><h1>Write to us</h1>"
            f'<script src="{desk.url}/f/contact/embed.js" async></script>')
    async with shop_page(html) as site, browser_page() as page:
        shop = f"{site}/contact?campaign=newsletter"
        await page.goto(shop)
        frame = page.frame_locator("iframe[title='Contact us']")
        await frame.get_by_label("Your email").fill("bo@customer.test")
        await frame.get_by_label("Subject").fill("Embedded")
        await frame.get_by_label("How can we help?").fill("Sent from the shop's page.")
        await frame.get_by_role("button", name="Send").click()
        await frame.get_by_text("Thanks, we will be in touch.").wait_for()
    contact = json.loads(run(db_path, "contacts", "show", "bo@customer.test", "--json").stdout)
    sub = next(i for i in contact["timeline"] if i["type"] == "form_submission")
    fields = {f["key"]: f["value"] for f in sub["fields"]}
    assert sub["page_url"] == shop and fields["campaign"] == "newsletter"
