"""Headless Chromium for the browser tests (the chat widget, hosted forms).

Debian's ``chromium`` (scripts/install-test-deps.sh) driven by Playwright through
``executable_path`` — never ``playwright install``, which downloads a browser. Open shadow
roots are pierced by Playwright's CSS locators, so ``page.locator('[data-ticketty="send"]')``
finds the widget's button inside its shadow root.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from playwright.async_api import Page

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run",
        "--disable-dev-shm-usage"]


@asynccontextmanager
async def browser_page() -> AsyncIterator[Page]:
    """A fresh page in a fresh headless Chromium (its own profile), closed on exit."""
    from playwright.async_api import async_playwright

    profile = tempfile.mkdtemp(prefix="ticketty-chromium-")
    try:
        async with async_playwright() as pw:
            context = await pw.chromium.launch_persistent_context(
                profile, executable_path=CHROMIUM, headless=True, args=ARGS)
            try:
                page = context.pages[0] if context.pages else await context.new_page()
                yield page
            finally:
                await context.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)
