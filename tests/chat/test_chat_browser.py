"""End to end in headless Chromium: the demo page with the embed code, a message from the
widget, the ticket seen by the CLI, a reply from the CLI, the reply in the widget."""

from __future__ import annotations

import asyncio
import gzip
import json
from pathlib import Path

import httpx

from engine.channels.chat_routes import STATIC
from tests.chat.chat_helpers import chat_desk
from tests.helpers.browser import browser_page
from tests.helpers.cli import run_cli
from tests.helpers.poll import wait_for


def test_the_widget_is_small():
    size = len(gzip.compress((STATIC / "widget.js").read_bytes() + (STATIC / "widget.css")
                             .read_bytes(), 9))
    assert size < 25 * 1024, f"widget.js + widget.css are {size:,} bytes gzipped"


def test_the_widget_sets_text_never_markup():
    js = (STATIC / "widget.js").read_text()
    assert "innerHTML" not in js and "insertAdjacentHTML" not in js and "document.write" not in js
    assert 'attachShadow({ mode: "open" })' in js
    for hook in ("launcher", "panel", "input", "send", "message"):
        assert f'"data-ticketty": "{hook}"' in js


async def _cli(db: Path, *args: str) -> object:
    done = await asyncio.to_thread(run_cli, db, *args)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout) if "--json" in args else done.stdout


async def test_chat_from_a_browser_and_answer_from_the_cli(db_path):
    async with chat_desk(db_path, team_name="Acme Help") as chat:
        async with httpx.AsyncClient() as client:
            page_html = (await client.get(f"{chat.desk.url}/demo")).text
        assert f"/chat/{chat.channel.id}/widget.js" in page_html
        async with browser_page() as page:
            await page.goto(f"{chat.desk.url}/demo")
            await page.locator('[data-ticketty="launcher"]').click()
            await page.locator('[data-ticketty="panel"]').wait_for(state="visible")
            await page.locator('[data-ticketty="input"]').fill("Hello from <i>Chromium</i>")
            await page.locator('[data-ticketty="send"]').click()
            mine = page.locator('[data-ticketty="message"][data-author="visitor"]')
            await mine.first.wait_for()
            assert await mine.first.inner_text() == "Hello from <i>Chromium</i>"

            async def listed():
                rows = await _cli(db_path, "tickets", "list", "--json")
                return [r for r in rows if r["channel"] == "Live"]

            rows = await wait_for(listed, 20)
            number = rows[0]["id"] if "id" in rows[0] else rows[0]["number"]
            await _cli(db_path, "tickets", "reply", str(number), "--body", "Hi from the desk")
            agent = page.locator('[data-ticketty="message"][data-author="agent"]')
            await agent.first.wait_for(timeout=15000)
            assert "Hi from the desk" in await agent.first.inner_text()
            # the page reloaded: the same visitor, the whole conversation, nothing twice
            await page.reload()
            await page.locator('[data-ticketty="launcher"]').click()
            await page.locator('[data-ticketty="message"][data-author="agent"]').first.wait_for()
            assert await page.locator('[data-ticketty="message"]').count() == 2
