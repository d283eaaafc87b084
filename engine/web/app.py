"""The front door's ASGI app: ``/healthz``, the tickets API under ``/api/v1``, and the mounts.

The app's own routes come first; any other path goes to the mount whose prefix covers it,
asked of the mount provider at that moment (see :mod:`engine.web.mounts`). Each mount is
served by a small FastAPI app of its own (its router, its static files under
``<prefix>/static/``), built once per mount. Around everything sits
:class:`~engine.web.limits.LimitsMiddleware`.
"""

from __future__ import annotations

import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse
from starlette.routing import Match, Mount

from engine.web import errors
from engine.web.limits import Limits, LimitsMiddleware, Receive, Scope, Send, send_json
from engine.web.mounts import MountProvider, WebMount
from engine.web.ratelimit import retry_after


@dataclass
class WebContext:
    """What the app may use of the engine (never the engine itself)."""

    store: Any  # engine.store.Store
    holder: str  # this process's lease-holder id
    public_url: str
    limits: Limits
    mounts: MountProvider
    leader: Callable[[], Awaitable[str | None]]  # the runner lease's holder now
    wake_outbox: Callable[[], None] = lambda: None


def visitor_limit(key: str | Callable[[Request], str | None], *, per_minute: float | None = None,
                  burst: int | None = None) -> Callable[[Request], Awaitable[None]]:
    """A route dependency limiting each *visitor* (``Depends(visitor_limit("X-Visitor"))``).

    ``key``: the header that names the visitor, or a function of the request giving its key
    (a signed visitor token, an API token's name). A request without one is limited by its
    address. ``per_minute``/``burst``: this route's own limit (default ``[engine]
    http_visitor_rate``/``http_visitor_burst``). Refusal: 429 with ``Retry-After``.
    """
    from engine.web.ratelimit import RateLimiter

    own = RateLimiter(per_minute, burst or 30) if per_minute is not None else None

    async def check(request: Request) -> None:
        limits: Limits = request.scope["ticketty.limits"]
        limiter = own if own is not None else limits.visitor
        who = request.headers.get(key) if isinstance(key, str) else key(request)
        if not who:
            who = f"ip:{request.client.host if request.client else '-'}"
        wait = limiter.hit(f"visitor:{who}")
        if wait:
            raise errors.ApiError(429, f"too many requests; try again in {retry_after(wait)} s",
                                  headers={"Retry-After": retry_after(wait)})

    return check


class MountDispatcher:
    """The app's fallback: serves the mount whose prefix covers the path (the longest), or 404."""

    def __init__(self, mounts: MountProvider, limits: Limits) -> None:
        self.mounts = mounts
        self.limits = limits
        self._apps: weakref.WeakKeyDictionary[WebMount, Mount] = weakref.WeakKeyDictionary()

    def _compiled(self, mount: WebMount) -> Mount:
        route = self._apps.get(mount)
        if route is None:
            sub = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
            errors.install(sub)
            if mount.router is not None:
                sub.include_router(mount.router)
            if mount.static is not None:
                from starlette.staticfiles import StaticFiles

                sub.mount("/static", StaticFiles(directory=mount.static), name="static")
            route = self._apps[mount] = Mount(mount.prefix, app=sub)
        return route

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope["path"]
        found = [m for m in self.mounts() if m.covers(path)]
        if found:
            mount = max(found, key=lambda m: len(m.prefix))
            if path == mount.prefix:  # /chat → the mount's "/"
                scope = {**scope, "path": path + "/",
                         "raw_path": scope.get("raw_path", path.encode()) + b"/"}
            route = self._compiled(mount)
            match, child = route.matches(scope)
            if match == Match.FULL:
                scope = {**scope, **child}
                await route.handle(scope, receive, send)
                return
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return
        await send_json(send, 404, errors.error_body(f"nothing at {path}"))


def build_app(ctx: WebContext) -> Any:
    """The whole front door as one ASGI callable (limits outermost)."""
    from engine.web.api import build_api

    app = FastAPI(title="ticketty", openapi_url=None, docs_url=None, redoc_url=None)
    app.state.ctx = ctx
    errors.install(app)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> JSONResponse:
        """Whether this process serves as the runner, and who holds the runner lease."""
        holder = await ctx.leader()
        ours = holder == ctx.holder
        return JSONResponse({"ok": ours, "leader": holder}, status_code=200 if ours else 503)

    @app.get("/demo", include_in_schema=False)
    async def demo() -> HTMLResponse:
        """A local page embedding every web channel (``engine/web/demo_page.py``)."""
        from engine.web.demo_page import demo_page

        return HTMLResponse(await demo_page(ctx.store, ctx.public_url.rstrip("/")))

    app.mount("/api/v1", build_api(ctx))
    app.router.default = MountDispatcher(ctx.mounts, ctx.limits)
    return LimitsMiddleware(app, ctx.limits, ctx.mounts)
