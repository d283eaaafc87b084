"""Waiting on a condition with a deadline (never a fixed sleep followed by a check)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


async def wait_for(pred: Callable[[], Awaitable[T]], timeout: float = 10.0) -> T:  # noqa: ASYNC109
    """Await ``pred()`` every 50 ms until it returns something truthy; return that."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = await pred()
        if result:
            return result
        await asyncio.sleep(0.05)
    raise AssertionError("condition not met in time")
