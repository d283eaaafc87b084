"""Serving the front door: uvicorn inside the engine's event loop, while this process leads.

:class:`WebServer` binds the port itself (so a busy port is one clear log line, not uvicorn's
``sys.exit``), then runs ``uvicorn.Server`` on that socket as a task of the engine — no signal
handlers of its own (the engine owns SIGTERM), no logging set-up, no lifespan. FastAPI and
uvicorn are imported, and the app built, on a worker thread, so an agent's TUI that becomes the
runner never freezes for the ~0.3 s that takes.

A busy port does not stop the engine: the server logs one line saying which address and what
to do, and tries again now and then (quietly) — when the process holding the port goes away,
this one serves. :meth:`WebServer.stop` closes the listening socket at once, lets requests in
flight finish for ``grace`` seconds and then cuts the rest off, well inside the engine's 2 s
SIGTERM budget.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import functools
import logging
import socket
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from engine.tasks import cancel_and_wait

log = logging.getLogger("ticketty.web")

RETRY_MIN, RETRY_MAX = 1.0, 10.0  # seconds between tries to bind a busy port
STOP_GRACE = 0.5  # seconds requests in flight may take to finish when the server stops


def bind(host: str, port: int, backlog: int = 1024) -> socket.socket:
    """A listening, non-blocking TCP socket on ``host:port`` (``OSError`` if it cannot be).

    ``SO_REUSEADDR`` (connections of a previous runner in TIME_WAIT do not block the port) but
    never ``SO_REUSEPORT``: a second process must not share a port another one listens on.
    """
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6 and host in ("::", ""):
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        sock.bind(address)
        sock.listen(backlog)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


def bind_problem(host: str, port: int, exc: OSError) -> str:
    """One line saying why ``host:port`` cannot be served, and what to do."""
    where = f"{host}:{port}"
    if exc.errno == errno.EADDRINUSE:
        return (f"web: {where} is busy (another program, or another ticketty engine on this"
                f" host, listens there): the web routes (chat, forms, webhooks, tickets API) are"
                f" off until it is free; set [engine] http_port in the config or run"
                f" `ticketty engine --http-port N`; the other channels keep running")
    if exc.errno == errno.EACCES:
        return (f"web: not allowed to listen on {where} (ports below 1024 need privileges):"
                f" use a port of 1024 or more behind a reverse proxy (docs/deploy.md)")
    if exc.errno == errno.EADDRNOTAVAIL or isinstance(exc, socket.gaierror):
        return (f"web: cannot listen on {where}: {exc.strerror or exc} (check [engine]"
                f" http_host: an address of this machine, 127.0.0.1 or 0.0.0.0)")
    return f"web: cannot listen on {where}: {exc.strerror or exc}"


def pick_port(host: str = "127.0.0.1") -> int:
    """A port free on ``host`` right now (for the demo and tests; another process may still
    take it before it is bound)."""
    with contextlib.closing(bind(host, 0)) as sock:
        return sock.getsockname()[1]


class WebServer:
    """The front door of one leading engine: start when leading, stop when not."""

    def __init__(self, host: str, port: int, build: Callable[[], Any], *,
                 max_connections: int = 2000, public_url: str = "") -> None:
        self.host = host
        self.port = port
        self.build = build  # makes the ASGI app (run on a worker thread)
        self.max_connections = max_connections
        self.public_url = public_url
        self.serving = asyncio.Event()
        self.address: tuple[str, int] | None = None  # where it listens, once it does
        self._server: Any = None  # uvicorn.Server
        self._task: asyncio.Task[None] | None = None

    def start(self) -> asyncio.Task[None]:
        self._task = asyncio.ensure_future(self._run())
        self._task.set_name("web")
        self._task.add_done_callback(self._ended)
        return self._task

    @staticmethod
    def _ended(task: asyncio.Task[None]) -> None:
        """A front door that failed says so (the engine runs on without it)."""
        if not task.cancelled() and task.exception() is not None:
            exc = task.exception()
            log.error("web: the front door stopped: %s", exc or type(exc).__name__,
                      exc_info=exc)

    async def stop(self, grace: float = STOP_GRACE) -> None:
        """Stop listening now, give requests in flight ``grace`` s, then cut them off."""
        task, self._task = self._task, None
        if task is None:
            return
        server = self._server
        if server is not None and not task.done():
            server.config.timeout_graceful_shutdown = grace
            server.should_exit = True
            with contextlib.suppress(TimeoutError):
                await asyncio.wait({task}, timeout=grace + 0.5)
            if not task.done():
                server.force_exit = True
        await cancel_and_wait([task], deadline=1.0)
        self.serving.clear()

    async def _run(self) -> None:
        app, uvicorn = await asyncio.to_thread(self._prepare)
        sock = await self._bind()
        try:
            self.address = sock.getsockname()[:2]
            config = uvicorn.Config(
                app, loop="none", lifespan="off", log_config=None, access_log=False,
                # httptools when installed (a dependency: ~1.5x h11's rate, bench api), else h11
                http="auto", ws="websockets-sansio", proxy_headers=False, server_header=False,
                limit_concurrency=self.max_connections, timeout_keep_alive=5,
                timeout_graceful_shutdown=STOP_GRACE, ws_max_size=1 << 20)
            server = self._server = _embedded_class()(config)
            server.on_started = self._started
            await server.serve(sockets=[sock])
        finally:
            if self._server is not None:
                self._server.cut_off()  # cancelled mid-way: nothing may stay open
            self._server = None
            self.serving.clear()
            sock.close()

    def _prepare(self) -> tuple[Any, Any]:
        import uvicorn

        _quiet_uvicorn()
        return self.build(), uvicorn

    def _started(self) -> None:
        host, port = self.address or (self.host, self.port)
        log.info("web: serving http://%s:%d (public address %s)",
                 f"[{host}]" if ":" in host else host, port, self.public_url or "-")
        self.serving.set()

    async def _bind(self) -> socket.socket:
        delay, told = RETRY_MIN, None
        while True:
            try:
                sock = bind(self.host, self.port)
            except OSError as exc:
                problem = bind_problem(self.host, self.port, exc)
                if problem != told:
                    log.warning("%s", problem)
                    told = problem
                await asyncio.sleep(delay)
                delay = min(RETRY_MAX, delay * 2)
                continue
            if told is not None:
                log.info("web: %s:%d is free again", self.host, self.port)
            return sock


def _quiet_uvicorn() -> None:
    """uvicorn's own INFO lines (process started, shutting down) say nothing the engine's log
    does not; its warnings and errors stay."""
    for name in ("uvicorn.error", "uvicorn"):
        logger = logging.getLogger(name)
        if logger.level == logging.NOTSET:
            logger.setLevel(logging.WARNING)


@functools.cache
def _embedded_class() -> type:
    """``uvicorn.Server`` without its signal handling (the engine owns SIGTERM/SIGINT) and
    saying when it listens (made on first use, so importing this module stays light)."""
    import uvicorn

    class EmbeddedServer(uvicorn.Server):
        on_started: Callable[[], None] | None = None

        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            yield

        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets=sockets)
            if self.started and self.on_started is not None:
                self.on_started()

        def cut_off(self) -> None:
            """Close the listener and every connection now (a stop past its grace time)."""
            for listener in getattr(self, "servers", []):
                listener.close()
            for connection in list(self.server_state.connections):
                transport = getattr(connection, "transport", None)
                if transport is not None:
                    transport.abort()
            for task in list(self.server_state.tasks):
                task.cancel()

    return EmbeddedServer


def front_door(engine: Any, adapters: Callable[[], Iterable[Any]]) -> WebServer:
    """The web server of a leading engine: its store, lease, outbox and ``[engine]`` settings;
    the mounts of its running channel ``adapters``."""
    cfg = engine.config.engine

    def build() -> Any:  # on a worker thread: imports FastAPI
        from engine.web.app import WebContext, build_app
        from engine.web.limits import Limits
        from engine.web.mounts import channel_mounts

        return build_app(WebContext(
            store=engine.store, holder=engine.holder, public_url=cfg.public_base(),
            limits=Limits.from_config(cfg), mounts=lambda: channel_mounts(adapters()),
            leader=engine.lease_holder, wake_outbox=engine.outbox.wake))

    return WebServer(cfg.http_host, cfg.http_port, build,
                     max_connections=cfg.http_max_connections, public_url=cfg.public_base())
