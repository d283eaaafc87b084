"""Stopping asyncio tasks for sure.

On Python 3.11 ``asyncio.wait_for`` can swallow a cancellation that lands just as the future it
waits on completes (CPython gh-86296): the task carries on as if nothing happened. Awaiting such
a task after one ``cancel()`` — under ``suppress(CancelledError)``, as shutdown code tends to —
waits forever. :func:`cancel_and_wait` cancels again until the tasks have ended, and gives up
(with a warning) after a deadline, so a shutdown always ends.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable
from typing import Any

log = logging.getLogger(__name__)


async def cancel_and_wait(tasks: Iterable[asyncio.Future[Any]], deadline: float = 1.5) -> bool:
    """Cancel ``tasks`` and wait until they are done; True if all ended within ``deadline`` s.

    Never raises what the tasks raise; a cancellation of the caller itself propagates.
    """
    tasks = list(tasks)
    pending = {t for t in tasks if not t.done()}
    end = time.monotonic() + deadline
    while pending:
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=0.1)
        if pending and time.monotonic() > end:
            names = ", ".join(t.get_name() if isinstance(t, asyncio.Task) else repr(t)
                              for t in pending)
            log.warning("tasks still running %.1f s after being stopped: %s", deadline, names)
            return False
    for task in tasks:  # collect what they raised: nobody else will
        if not task.cancelled():
            task.exception()
    return True
