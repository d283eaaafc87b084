"""The engine process: ``async with Engine(config) as engine:`` owns every background task.

Several processes may open one database (agents' TUIs, ``ticketty engine`` on a server). They
all follow the event log; exactly one — the holder of the ``runner`` lease — runs the channels,
the outbox and deferred routing. The holder renews the lease every third of its lifetime, on a
database connection of its own so a renewal never waits behind ingest writes. A waiting process
tries again the moment the holder's lease runs out (a holder killed with -9 is replaced within
the lease time, default 6 s) or as soon as the holder announces a release: a clean exit stops
the lease loop first (so nothing retakes the lead while stopping), stops the channels, then
releases the lease, and another engine takes over well under a second later.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid
from collections.abc import Awaitable
from pathlib import Path
from typing import Any

from engine.channels import Ability, build_adapter
from engine.channels.base import ChannelAdapter
from engine.channels.host import HostServices, WorkBudget
from engine.channels.senders import resolve_sender
from engine.config import Config
from engine.models import Channel, Event, saved_id
from engine.outbox import Outbox, OutboxItem, Sender
from engine.paths import default_db
from engine.store import Store
from engine.tasks import cancel_and_wait
from engine.workers import WorkerProcess

log = logging.getLogger("ticketty.engine")

LEASE = "runner"
RESTART_MIN, RESTART_MAX = 1.0, 60.0
SEND_GRACE = 60.0  # s a reply in flight may take to finish after this process lost the lease
EXIT_SEND_GRACE = 0.5  # s it may take when the process exits (which must take < 2 s)


class Engine:
    """Store + event follower + (when leader) channels, outbox and deferred routing."""

    def __init__(self, config: Config | None = None, db: str | Path | None = None, *,
                 run_channels: bool | None = None):
        self.config = config or Config()
        self.db_path = Path(db) if db else default_db(self.config.database.path)
        self.store = Store(self.db_path)
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.run_channels = self.config.engine.run_channels if run_channels is None else run_channels
        self.is_leader = False
        self.outbox = Outbox(self.store, resolve=self._resolve_sender, owner=self.holder)
        self._tasks: set[asyncio.Task[Any]] = set()
        self._lease_task: asyncio.Task[Any] | None = None
        self._lease_until = 0.0  # wall-clock expiry of the lease we last renewed
        self._leader_tasks: set[asyncio.Task[Any]] = set()
        self._draining: set[asyncio.Task[Any]] = set()  # outbox runs finishing their send
        self._channel_tasks: dict[int, asyncio.Task[Any]] = {}
        self._adapters: dict[int, ChannelAdapter] = {}
        self._workers: dict[str, WorkerProcess] = {}
        #: what this engine lends its channels' hosts: shared workers under its budget
        self.channel_services = HostServices(workers=self.worker, budget=WorkBudget(
            self.config.engine.parse_timeout, self.config.engine.parse_memory_mb),
            public_url=self.config.engine.public_base())
        self._web: Any = None  # the web front door (engine/web) while leading

    # -------------------------------------------------------------- lifecycle
    async def __aenter__(self) -> Engine:
        await self.store.open()
        await self.store.start_following()
        if self.run_channels:
            self._lease_task = self._spawn(self._lease_loop(), "lease")
        return self

    async def __aexit__(self, *exc: object) -> None:
        try:
            # the lease loop first: a renewal landing while the channels stop would take the
            # lead again and start tasks nobody stops (issue 9, item 17)
            if self._lease_task is not None:
                await cancel_and_wait([self._lease_task])
            await self._stop_leading()
            if self.run_channels:
                try:
                    if await self.store.release_lease(LEASE, self.holder):
                        log.info("released the runner lease")
                except Exception as exc:  # it expires on its own
                    log.warning("could not release the runner lease: %s", exc)
            # a reply in flight gets a moment to finish; past it, it is queued again
            if self._draining:
                await asyncio.wait(set(self._draining), timeout=EXIT_SEND_GRACE)
                await cancel_and_wait(set(self._draining))
            await cancel_and_wait(self._tasks)
            self._tasks.clear()
        finally:
            try:
                for worker in self._workers.values():
                    await worker.close()
            finally:
                await self.store.close()  # even when cancelled: its threads must not outlive us

    def worker(self, name: str, *, preload: tuple[str, ...] = (),
               recycle_mb: int | None = None) -> WorkerProcess:
        """A child process for heavy work (mail parsing), shared by every channel that asks for
        ``name``, under the engine's memory budget (``[engine] parse_memory_mb``); the engine
        stops it on exit."""
        if name not in self._workers:
            self._workers[name] = WorkerProcess(
                name, memory_mb=self.config.engine.parse_memory_mb, recycle_mb=recycle_mb,
                preload=preload)
        return self._workers[name]

    def _spawn(self, coro: Awaitable[Any], name: str, group: set[asyncio.Task[Any]] | None = None
               ) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(coro)
        task.set_name(name)
        target = self._tasks if group is None else group
        target.add(task)
        task.add_done_callback(target.discard)
        return task

    # ------------------------------------------------------------------ lease
    async def lease_holder(self) -> str | None:
        return await self.store.lease_holder(LEASE)

    async def _lease_loop(self) -> None:
        ttl = self.config.engine.lease_seconds
        period = ttl / 3
        news = self.store.subscribe()  # hears another holder's "engine.released"
        try:
            while True:
                held, expires = await self._renew(ttl, period)
                if held and not self.is_leader:
                    await self._start_leading()
                elif not held and self.is_leader:
                    await self._stop_leading()
                # a follower tries again the moment the holder's lease runs out
                wait = period if held else min(period, max(0.01, expires - time.time() + 0.01))
                await self._wait_for_release(news, wait, listen=not held)
        finally:
            self.store.unsubscribe(news)

    async def _renew(self, ttl: float, period: float) -> tuple[bool, float]:
        """Take or renew the lease; on a failed renewal keep leading only while ours is valid."""
        try:
            async with asyncio.timeout(ttl / 2):  # waits at most for a transaction in progress
                held, expires = await self.store.try_lease(LEASE, self.holder, ttl)
        except Exception as exc:  # a busy database: try again next period
            log.warning("lease renewal failed: %s", exc or type(exc).__name__)
            still = self.is_leader and time.time() < self._lease_until - period / 2
            return still, self._lease_until if still else time.time() + period
        if held:
            self._lease_until = expires
        return held, expires

    @staticmethod
    async def _wait_for_release(news: asyncio.Queue[Event], seconds: float, listen: bool) -> None:
        """Sleep ``seconds``, draining ``news``; end early on a release if ``listen``."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                while True:
                    event = await news.get()
                    if listen and event.kind == "engine.released":
                        return

    async def _start_leading(self) -> None:
        log.info("this process (%s) now runs the channels and the outbox", self.holder)
        self.is_leader = True
        self._spawn(self.outbox.run(self.config.engine.outbox_interval), "outbox", self._leader_tasks)
        self._spawn(self._supervise_channels(), "channels", self._leader_tasks)
        self._spawn(self._pending_loop(), "pending-routing", self._leader_tasks)
        await self._lead_web(True)

    async def _stop_leading(self) -> None:
        """Stop the channels and routing now; let a reply being sent finish in the background
        (its row stays ours and keeps its heartbeat, so the next runner leaves it alone)."""
        if not self.is_leader:
            return
        self.is_leader = False
        outbox = [t for t in self._leader_tasks if t.get_name() == "outbox"]
        await asyncio.gather(
            self._lead_web(False),
            cancel_and_wait([*(t for t in self._leader_tasks if t not in outbox),
                             *self._channel_tasks.values()]))
        self._channel_tasks.clear()
        self._adapters.clear()
        self.outbox.stop_taking()
        for task in outbox:  # ends by itself after its send; cut off past the grace period
            self._leader_tasks.discard(task)
            if not task.done():
                self._draining.add(task)
                task.add_done_callback(self._draining.discard)
                asyncio.get_running_loop().call_later(SEND_GRACE, task.cancel)
        log.info("this process stopped running the channels")

    async def _lead_web(self, leading: bool) -> None:
        """Serve the web front door (``engine/web``) while leading, on ``[engine] http_port``
        (0: never); it serves the routes of the running channels that have web routes."""
        if leading and self._web is None and self.config.engine.http_port:
            from engine.web.server import front_door

            self._web = front_door(self, adapters=lambda: list(self._adapters.values()))
            self._web.start()
        elif not leading and self._web is not None:
            web, self._web = self._web, None
            await web.stop()

    @property
    def web(self) -> Any:
        """The web server while this process serves it (``.serving``, ``.address``), else None."""
        return self._web

    # --------------------------------------------------------------- channels
    async def adapter(self, channel: Channel) -> ChannelAdapter:
        """An adapter for ``channel`` whose host lends it this engine's workers."""
        return build_adapter(channel, self.store, services=self.channel_services)

    async def _resolve_sender(self, item: OutboxItem) -> Sender | None:
        return await resolve_sender(self.store, item, services=self.channel_services,
                                    adapters=self._adapters)

    async def _supervise_channels(self) -> None:
        async with self.store.events() as queue:
            await self._sync_channel_tasks()
            while True:
                event = await queue.get()
                if event.kind == "outbox.queued":  # queued by any process: send it now
                    self.outbox.wake()
                elif event.kind.startswith("channel.") and event.kind != "channel.health":
                    await self._sync_channel_tasks(restart=event.data.get("channel_id"))

    async def _sync_channel_tasks(self, restart: int | None = None) -> None:
        wanted = {saved_id(c): c for c in await self.store.channels(include_disabled=False)}
        for cid, task in list(self._channel_tasks.items()):
            if cid not in wanted or cid == restart:
                await cancel_and_wait([task])
                self._channel_tasks.pop(cid, None)
                self._adapters.pop(cid, None)
        for cid, channel in wanted.items():
            if cid not in self._channel_tasks:
                self._channel_tasks[cid] = self._spawn(
                    self._run_channel(channel), f"channel:{channel.name}", self._leader_tasks)

    async def _run_channel(self, channel: Channel) -> None:
        delay, cid = RESTART_MIN, saved_id(channel)
        while True:
            try:
                adapter = await self.adapter(channel)
                self._adapters[cid] = adapter
                if not adapter.can(Ability.receive):
                    return  # a kind with nothing to receive (send-only)
                await adapter.run()
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # report, back off, try again
                message = str(exc) or type(exc).__name__
                log.warning("channel %s failed: %s (retrying in %.0fs)", channel.name, message, delay)
                with contextlib.suppress(Exception):
                    await self.store.set_channel_health(
                        cid, connected=False, last_error=message, last_error_at=time.time())
                await asyncio.sleep(delay)
                delay = min(RESTART_MAX, delay * 2)

    # ---------------------------------------------------------------- routing
    async def _pending_loop(self) -> None:
        """Assign waiting tickets when an agent becomes available (or working hours begin)."""
        async with self.store.events() as queue:
            await self.store.assign_pending()
            while True:
                try:
                    async with asyncio.timeout(60):  # not wait_for: it can swallow a cancel
                        event: Event = await queue.get()
                    if event.kind not in ("agent.updated", "agent.added", "ticket.status",
                                          "ticket.assigned"):
                        continue
                except TimeoutError:
                    pass
                try:
                    await self.store.assign_pending()
                except Exception:
                    log.exception("deferred routing failed")

    async def wait_leader(self, timeout: float = 10.0) -> bool:  # noqa: ASYNC109
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.is_leader:
                return True
            await asyncio.sleep(0.02)
        return self.is_leader


__all__ = ["Engine", "resolve_sender"]
