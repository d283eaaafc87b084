"""Nothing outlives a closed store or engine (issue 11, item 1).

Every store connection runs on a non-daemon thread: one left running keeps the process
alive after the TUI has quit (``make demo`` never returned). Closing must stop every such thread,
even when the task closing the store is cancelled halfway, as an app's exit does.
"""

from __future__ import annotations

import asyncio
import contextlib

from engine.config import Config, EngineConfig
from engine.engine import Engine
from engine.store import Store


def _threads(store: Store) -> list:
    return [store._reader, store._writer]


def _all_stopped(conns: list) -> bool:
    """Whether every connection's thread ended (a left-over one is stopped after the check,
    so a failing test does not also hang the test run)."""
    for conn in conns:
        conn.thread.join(timeout=5)
    alive = [conn for conn in conns if conn.thread.is_alive()]
    for conn in alive:
        conn.stop()
    return not alive


async def test_store_close_stops_both_threads_even_when_cancelled(tmp_path):
    store = Store(tmp_path / "t.db")
    await store.open()
    threads = _threads(store)
    closing = asyncio.ensure_future(store.close())
    await asyncio.sleep(0)  # the close is now waiting on the first connection's thread
    closing.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await closing
    assert _all_stopped(threads)


async def test_engine_exit_closes_the_store_even_when_cancelled(tmp_path):
    engine = Engine(Config(engine=EngineConfig(http_port=0)), tmp_path / "e.db", run_channels=True)

    async def run() -> None:
        async with engine:
            await asyncio.Event().wait()

    task = asyncio.ensure_future(run())
    assert await engine.wait_leader(10)
    threads = _threads(engine.store)
    while not task.done():  # the exit starts, and every step of it is cancelled again
        task.cancel()
        await asyncio.sleep(0)
    with contextlib.suppress(asyncio.CancelledError):
        await task
    assert _all_stopped(threads)
