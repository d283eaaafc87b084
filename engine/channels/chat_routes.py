"""The chat channel's routes on the front door, under ``/chat/<channel id>``.

| route | what |
|---|---|
| ``GET /widget.js``, ``GET /widget.css`` | the widget (plain JS and CSS, no build step) |
| ``WS /ws?token=…&after=N`` | one socket per open widget (frames below) |
| ``POST /messages`` | the plain HTTP fallback: ``{"token", "id", "text"}`` → the line's id |
| ``GET /messages?token=…&after=N`` | the fallback's read: the lines after N |

Frames from the widget: ``{"type": "message", "id", "text"}``, ``{"type": "typing", "on"}``,
``{"type": "email", "email", "name"}``, ``{"type": "quick", "label"}``. Frames to it:
``session`` (a new token), ``config``, ``message`` (``id``, ``author``
visitor|agent|bot, ``name``, ``text``, ``at``), ``ack`` (``cid`` → ``id``), ``typing``,
``closed``, ``error``. Everything a visitor sends is data: it is stored and shown as text.

``allowed_origins``, when set, is enforced on the socket (its ``Origin``) and on the script
and the fallback (``Origin``, else the ``Referer``'s origin, when the browser sends one).
"""

from __future__ import annotations

import contextlib
import json
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import JSONResponse, Response

from engine.channels.chat_hub import Widget
from engine.web.mounts import WebMount
from engine.web.ratelimit import retry_after

if TYPE_CHECKING:
    from engine.channels.chat import ChatAdapter

STATIC = Path(__file__).parent / "static" / "chat"
TYPES = {"js": "text/javascript; charset=utf-8", "css": "text/css; charset=utf-8"}


@cache
def _asset(name: str) -> bytes:
    return (STATIC / name).read_bytes()


def _origin(headers: Any) -> str | None:
    origin = headers.get("origin")
    if origin and origin != "null":
        return str(origin).rstrip("/").lower()
    referer = headers.get("referer")
    if referer:
        parts = urlsplit(referer)
        if parts.scheme and parts.netloc:
            return f"{parts.scheme}://{parts.netloc}".lower()
    return None


def allowed(adapter: ChatAdapter, headers: Any) -> bool:
    """Whether a request may use this widget (``allowed_origins``; empty: any site)."""
    origins = adapter.settings.origins()
    if not origins:
        return True
    origin = _origin(headers)
    return origin is None or origin in origins


def _rate_wait(scope: Any, visitor: str) -> float:
    limits = scope.get("ticketty.limits")
    return limits.visitor.hit(f"visitor:chat:{visitor}") if limits is not None else 0.0


def mount(adapter: ChatAdapter) -> WebMount:
    """The :class:`~engine.web.mounts.WebMount` of one chat channel."""
    from engine.channels.chat import prefix_of

    router = APIRouter()

    def asset(name: str, kind: str, request: Request) -> Response:
        if not allowed(adapter, request.headers):
            return JSONResponse({"error": "this site may not embed the chat"}, status_code=403)
        return Response(_asset(name), media_type=TYPES[kind],
                        headers={"Cache-Control": "public, max-age=300",
                                 "Cross-Origin-Resource-Policy": "cross-origin"})

    @router.get("/widget.js")
    async def widget_js(request: Request) -> Response:
        return asset("widget.js", "js", request)

    @router.get("/widget.css")
    async def widget_css(request: Request) -> Response:
        return asset("widget.css", "css", request)

    def cors(request: Request, body: dict[str, Any], status: int = 200) -> JSONResponse:
        origin = request.headers.get("origin")
        headers = {"Access-Control-Allow-Origin": origin} if origin else {}
        return JSONResponse(body, status_code=status, headers=headers)

    @router.post("/messages")
    async def post_message(request: Request) -> JSONResponse:
        if not allowed(adapter, request.headers):
            return cors(request, {"error": "this site may not embed the chat"}, 403)
        try:
            frame = json.loads(await request.body())
            visitor = adapter.visitor_of(str(frame.get("token") or ""))
        except (ValueError, AttributeError):
            return cors(request, {"error": "send JSON: {token, id, text}"}, 400)
        if visitor is None:
            return cors(request, {"error": "a valid visitor token is needed"}, 401)
        wait = _rate_wait(request.scope, visitor)
        if wait:
            return JSONResponse({"error": "too many messages"}, status_code=429,
                                headers={"Retry-After": retry_after(wait)})
        try:
            msg = adapter.message_of(visitor, str(frame.get("id") or ""),
                                     str(frame.get("text") or ""))
        except ValueError as exc:
            return cors(request, {"error": str(exc)}, 400)
        result = await adapter.host.ingest(msg)
        if result.ticket_id is not None:
            adapter.hub.join(visitor, result.ticket_id)
            await adapter.hub.push_ticket(result.ticket_id)
        return cors(request, {"id": result.message_id, "duplicate": result.duplicate})

    @router.get("/messages")
    async def get_messages(request: Request, token: str = "", after: int = 0) -> JSONResponse:
        if not allowed(adapter, request.headers):
            return cors(request, {"error": "this site may not embed the chat"}, 403)
        visitor = adapter.visitor_of(token)
        if visitor is None:
            return cors(request, {"error": "a valid visitor token is needed"}, 401)
        ticket = await adapter.live.conversation_ticket(visitor)
        lines = await adapter.live.thread(ticket, after) if ticket else []
        return cors(request, {"messages": [line.as_dict() for line in lines]})

    @router.websocket("/ws")
    async def socket(ws: WebSocket) -> None:
        if not allowed(adapter, ws.headers):
            await ws.close(code=1008)
            return
        await ws.accept()
        visitor = adapter.visitor_of(ws.query_params.get("token"))
        if visitor is None:
            visitor, token = adapter.new_token()
            await ws.send_text(json.dumps({"type": "session", "token": token,
                                           "visitor": visitor}))
        try:
            after = int(ws.query_params.get("after") or 0)
        except ValueError:
            after = 0
        widget = Widget(visitor, ws.send_text)
        await widget.send(await adapter.config())
        await adapter.open_widget(widget, after)
        try:
            while True:
                raw = await ws.receive_text()
                await _frame(adapter, ws, widget, raw)
        except WebSocketDisconnect:
            pass
        finally:
            with contextlib.suppress(Exception):
                await adapter.close_widget(widget)

    return WebMount(prefix_of(adapter.channel), router=router, name=adapter.channel.name,
                    max_body=64 * 1024)


async def _frame(adapter: ChatAdapter, ws: WebSocket, widget: Widget, raw: str) -> None:
    """Handle one frame from a widget; a bad one is answered with an ``error`` frame."""
    if len(raw) > 8 * adapter.settings.max_message_chars + 1024:  # JSON escapes: at most ×6
        await widget.send({"type": "error", "error": "this frame is too large"})
        return
    try:
        frame = json.loads(raw)
        kind = frame.get("type")
    except (ValueError, AttributeError):
        await widget.send({"type": "error", "error": "frames are JSON objects"})
        return
    if kind == "typing":
        await adapter.visitor_typing(widget, bool(frame.get("on")))
        return
    wait = _rate_wait(ws.scope, widget.visitor)
    if wait:
        await widget.send({"type": "error", "error": "too many messages; slow down",
                           "retry_after": float(retry_after(wait))})
        return
    try:
        if kind == "message":
            cid = str(frame.get("id") or "")
            result = await adapter.visitor_says(widget, cid, str(frame.get("text") or ""))
            await widget.send({"type": "ack", "cid": cid, "id": result.message_id})
        elif kind == "email":
            problem = await adapter.visitor_email(widget, str(frame.get("email") or ""),
                                                  str(frame.get("name") or ""))
            await widget.send({"type": "error", "error": problem} if problem
                              else {"type": "email_ok"})
        elif kind == "quick":
            if not await adapter.visitor_quick(widget, str(frame.get("label") or "")):
                await widget.send({"type": "error", "error": "no such button"})
        else:
            await widget.send({"type": "error", "error": f"unknown frame type {kind!r}"})
    except ValueError as exc:
        await widget.send({"type": "error", "error": str(exc)})
