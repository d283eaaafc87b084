"""Issue 17: the forwarding listener's socket is owned from the moment it binds.

The engine restarts a channel task on ``channel.added``/``channel.updated``; a cancel landing in
the health write right after the bind (before the code that stopped the listener) leaked the
listening socket, and every later start got "address already in use". These tests cancel the
adapter's task exactly there — in the health write that reports the bound address — and then
bind the same port again at once.
"""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path
from typing import Any

import pytest

from engine.channels.email import EmailAdapter
from engine.channels.testing import MemoryChannelHost
from engine.models import Channel
from engine.tasks import cancel_and_wait
from tests.helpers.servers import free_port


class _StallingHost(MemoryChannelHost):
    """A host whose health write that reports ``listening`` blocks until the task is cancelled."""

    def __init__(self, spool_dir: Path) -> None:
        super().__init__(spool_dir=spool_dir)
        self.reached = asyncio.Event()

    async def health(self, **fields: Any) -> None:
        await super().health(**fields)
        if fields.get("listening"):
            self.reached.set()
            await asyncio.Event().wait()  # the cancel lands here


def _channel(port: int) -> Channel:
    return Channel(id=1, kind="email", name="Support", settings={
        "address": "help@acme.test", "mode": "forwarding", "forward_listen_port": port})


def _port_is_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


async def test_a_cancel_during_the_health_write_after_the_bind_frees_the_port(tmp_path):
    port = free_port()
    for _ in range(3):  # restart after restart on the same port, as the supervisor does
        host = _StallingHost(tmp_path / "spool")
        adapter = EmailAdapter(_channel(port), host)
        task = asyncio.ensure_future(adapter.run())
        await asyncio.wait_for(host.reached.wait(), 10)
        assert not _port_is_free(port)  # really listening before the cancel
        assert await cancel_and_wait([task], deadline=5)
        assert _port_is_free(port), "the listening socket leaked past the cancel"
        assert host.health_now["listening"] is None  # and it says it no longer listens


async def test_a_cancel_during_the_health_write_lets_the_next_listener_take_the_port(tmp_path):
    port = free_port()
    first = _StallingHost(tmp_path / "spool")
    task = asyncio.ensure_future(EmailAdapter(_channel(port), first).run())
    await asyncio.wait_for(first.reached.wait(), 10)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    second = MemoryChannelHost(spool_dir=tmp_path / "spool")
    again = asyncio.ensure_future(EmailAdapter(_channel(port), second).run())
    try:
        for _ in range(200):
            if second.health_now.get("listening") or again.done():
                break
            await asyncio.sleep(0.05)
        assert not again.done(), again.exception() if again.done() else None
        assert second.health_now["listening"] == f"127.0.0.1:{port}"
    finally:
        await cancel_and_wait([again])
