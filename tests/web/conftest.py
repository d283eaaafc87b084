"""Fixtures of the web front door's tests (helpers: web_helpers.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.web.web_helpers import WebDesk, web_desk


@pytest.fixture
async def desk(db_path: Path) -> AsyncIterator[WebDesk]:
    """A serving engine with generous limits (the limits have tests of their own)."""
    async with web_desk(db_path, http_ip_rate=0, http_visitor_rate=0) as d:
        yield d
