"""A local stand-in for Meta's Graph API (tests, the demo, trials), over real HTTP.

It implements the endpoints the Messenger and WhatsApp channels call, as documented
(``../shared/PROTOCOLS.md`` §1, §2), and records every request in :attr:`GraphStandIn.requests`:

- ``POST /{page_id}/messages`` (Send API) and ``POST /{phone_number_id}/messages`` (Cloud API),
  JSON or multipart (a file); ``POST /{phone_number_id}/media`` (upload);
- ``GET /{page_id}``, ``GET /{phone_number_id}`` (what a token reaches), ``GET /{psid}``
  (profile), ``POST /me/messenger_profile`` (greeting), ``GET /{waba_id}/message_templates``;
- ``GET /{media_id}`` → a short-lived URL, ``GET /media/{id}`` the bytes (bearer token);
  ``GET /files/{name}`` what a Messenger attachment URL points at.

Tokens are checked (an expired one answers error 190), a number listed in
:attr:`GraphStandIn.not_on_whatsapp` answers 131026, :meth:`GraphStandIn.fail_next` makes the
next send fail with any Graph error. :meth:`GraphStandIn.deliver` POSTs a webhook to the
engine signed the way Meta signs (``X-Hub-Signature-256``), and the ``*_event`` functions build
the documented payloads. The server is Starlette on uvicorn in the caller's event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from engine.channels.meta_signature import sign
from engine.httpclient import httpx


@dataclass
class Recorded:
    """One request the stand-in answered."""

    method: str
    path: str
    query: dict[str, str]
    body: Any  # the JSON, or the form fields of a multipart request
    token: str
    files: dict[str, bytes] = field(default_factory=dict)


@dataclass
class GraphStandIn:
    """One Graph API with the Pages, numbers, people and media registered on it."""

    host: str = "127.0.0.1"
    port: int = 0
    pages: dict[str, dict[str, str]] = field(default_factory=dict)  # id → name, token
    numbers: dict[str, dict[str, str]] = field(default_factory=dict)  # id → display, name, token
    templates: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # waba → templates
    profiles: dict[str, dict[str, str]] = field(default_factory=dict)  # psid → names
    media: dict[str, tuple[bytes, str]] = field(default_factory=dict)  # id → bytes, type
    files: dict[str, tuple[bytes, str]] = field(default_factory=dict)  # name → bytes, type
    not_on_whatsapp: set[str] = field(default_factory=set)
    expired: set[str] = field(default_factory=set)  # tokens Meta no longer takes
    requests: list[Recorded] = field(default_factory=list)
    greetings: dict[str, Any] = field(default_factory=dict)
    #: called with each send it accepted and the message id it answered (the demo's customers)
    on_send: Callable[[Recorded, str], Awaitable[None]] | None = None
    _callbacks: set[asyncio.Task[None]] = field(default_factory=set)
    _failures: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    _ids: Any = field(default_factory=lambda: itertools.count(1))
    _task: asyncio.Task[None] | None = None
    _server: Any = None
    _ready: asyncio.Event = field(default_factory=asyncio.Event)

    # ------------------------------------------------------------------ set-up
    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def add_page(self, page_id: str, name: str, token: str) -> None:
        self.pages[page_id] = {"name": name, "token": token}

    def add_number(self, number_id: str, display: str, name: str, token: str,
                   waba: str = "") -> None:
        self.numbers[number_id] = {"display": display, "name": name, "token": token,
                                   "waba": waba}

    def add_file(self, name: str, data: bytes, content_type: str) -> str:
        """A file a Messenger attachment URL points at; returns that URL."""
        self.files[name] = (data, content_type)
        return f"{self.base_url}/files/{name}"

    def add_media(self, data: bytes, content_type: str) -> str:
        """WhatsApp media; returns its media id."""
        media_id = f"media{next(self._ids)}"
        self.media[media_id] = (data, content_type)
        return media_id

    def fail_next(self, code: int, message: str = "", subcode: int | None = None,
                  status: int = 400) -> None:
        """The next send answers this Graph error."""
        error: dict[str, Any] = {"message": message or f"error {code}", "type": "OAuthException",
                                 "code": code, "fbtrace_id": secrets.token_hex(6)}
        if subcode is not None:
            error["error_subcode"] = subcode
        self._failures.append((status, {"error": error}))

    def sent(self, node: str | None = None) -> list[Recorded]:
        """The sends (``POST …/messages``) recorded, for ``node`` (a page or number id)."""
        return [r for r in self.requests if r.method == "POST" and r.path.endswith("/messages")
                and (node is None or r.path == f"/{node}/messages")]

    # --------------------------------------------------------------- lifecycle
    async def start(self) -> GraphStandIn:
        import uvicorn

        from engine.web.server import _embedded_class, bind

        sock = bind(self.host, self.port)
        self.host, self.port = sock.getsockname()[:2]
        config = uvicorn.Config(self.app(), loop="none", lifespan="off", log_config=None,
                                access_log=False, server_header=False)
        server = self._server = _embedded_class()(config)
        server.on_started = self._ready.set
        self._task = asyncio.ensure_future(server.serve(sockets=[sock]))
        async with asyncio.timeout(10):
            await self._ready.wait()
        return self

    async def stop(self) -> None:
        for task in list(self._callbacks):
            task.cancel()
        if self._server is not None:
            self._server.should_exit = True
        if self._task is not None:
            with contextlib.suppress(Exception, asyncio.CancelledError):
                async with asyncio.timeout(3):
                    await self._task
            if not self._task.done():
                self._task.cancel()

    async def __aenter__(self) -> GraphStandIn:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def _sent_hook(self, rec: Recorded, message_id: str) -> None:
        if self.on_send is not None:
            task = asyncio.ensure_future(self.on_send(rec, message_id))
            self._callbacks.add(task)
            task.add_done_callback(self._callbacks.discard)

    # ---------------------------------------------------------------- webhooks
    async def deliver(self, url: str, payload: dict[str, Any] | bytes, app_secret: str
                      ) -> httpx.Response:
        """POST a webhook delivery to ``url`` signed as Meta signs it."""
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        async with httpx.AsyncClient(timeout=10) as client:
            return await client.post(url, content=body, headers={
                "Content-Type": "application/json", "X-Hub-Signature-256": sign(app_secret, body)})

    # -------------------------------------------------------------------- HTTP
    def app(self) -> Any:
        from starlette.applications import Starlette
        from starlette.requests import Request
        from starlette.responses import JSONResponse, Response
        from starlette.routing import Route

        def error(code: int, message: str, status: int = 400) -> JSONResponse:
            return JSONResponse({"error": {"message": message, "type": "OAuthException",
                                           "code": code}}, status_code=status)

        async def record(request: Request) -> tuple[Recorded, str]:
            auth = request.headers.get("authorization", "")
            token = auth[7:] if auth.lower().startswith("bearer ") else \
                request.query_params.get("access_token", "")
            body: Any = None
            files: dict[str, bytes] = {}
            if request.method == "POST":
                ctype = request.headers.get("content-type", "")
                if ctype.startswith("multipart/"):
                    body, files = _multipart(ctype, await request.body())
                else:
                    raw = await request.body()
                    body = json.loads(raw) if raw else None
            rec = Recorded(request.method, request.url.path, dict(request.query_params), body,
                           token, files)
            self.requests.append(rec)
            return rec, token

        def owner(node: str) -> dict[str, str] | None:
            return self.pages.get(node) or self.numbers.get(node)

        def bad_token(token: str, want: str | None) -> JSONResponse | None:
            if token in self.expired:
                return error(190, "Error validating access token: Session has expired", 401)
            if want is not None and token != want:
                return error(190, "Invalid OAuth access token", 401)
            return None

        async def node_get(request: Request) -> Response:
            rec, token = await record(request)
            node = request.path_params["node"]
            if node in self.pages:
                if (bad := bad_token(token, self.pages[node]["token"])) is not None:
                    return bad
                return JSONResponse({"id": node, "name": self.pages[node]["name"]})
            if node in self.numbers:
                if (bad := bad_token(token, self.numbers[node]["token"])) is not None:
                    return bad
                n = self.numbers[node]
                return JSONResponse({"id": node, "display_phone_number": n["display"],
                                     "verified_name": n["name"]})
            if (bad := bad_token(token, None)) is not None:
                return bad
            if node in self.profiles:
                return JSONResponse({"id": node, **self.profiles[node]})
            if node in self.media:
                data, ctype = self.media[node]
                return JSONResponse({"id": node, "url": f"{self.base_url}/media/{node}",
                                     "mime_type": ctype, "file_size": len(data)})
            return error(100, f"Unsupported get request. Object with ID '{node}' does not exist")

        async def media_bytes(request: Request) -> Response:
            _, token = await record(request)
            if not token or bad_token(token, None) is not None:
                return error(190, "Invalid OAuth access token", 401)
            data, ctype = self.media[request.path_params["id"]]
            return Response(data, media_type=ctype)

        async def file_bytes(request: Request) -> Response:
            await record(request)
            got = self.files.get(request.path_params["name"])
            if got is None:
                return Response("not found", status_code=404)
            return Response(got[0], media_type=got[1])

        async def messages(request: Request) -> Response:
            rec, token = await record(request)
            node = request.path_params["node"]
            who = owner(node)
            if who is None:
                return error(100, f"Object with ID '{node}' does not exist")
            if (bad := bad_token(token, who["token"])) is not None:
                return bad
            if self._failures:
                status, body = self._failures.pop(0)
                return JSONResponse(body, status_code=status)
            n = next(self._ids)
            if node in self.pages:
                recipient = rec.body.get("recipient") if isinstance(rec.body, dict) else None
                if isinstance(recipient, str):
                    recipient = json.loads(recipient)
                self._sent_hook(rec, f"m_standin{n}")
                return JSONResponse({"recipient_id": (recipient or {}).get("id"),
                                     "message_id": f"m_standin{n}"})
            to = str((rec.body or {}).get("to") or "")
            if to in self.not_on_whatsapp or "+" + to in self.not_on_whatsapp:
                return JSONResponse({"error": {"message": "Message undeliverable", "code": 131026,
                                               "error_data": {"details": "not on WhatsApp"}}},
                                    status_code=400)
            self._sent_hook(rec, f"wamid.standin{n}=")
            return JSONResponse({"messaging_product": "whatsapp",
                                 "contacts": [{"input": to, "wa_id": to}],
                                 "messages": [{"id": f"wamid.standin{n}="}]})

        async def upload(request: Request) -> Response:
            rec, token = await record(request)
            who = owner(request.path_params["node"])
            if who is None or bad_token(token, who["token"]) is not None:
                return error(190, "Invalid OAuth access token", 401)
            data = next(iter(rec.files.values()), b"")
            media_id = self.add_media(data, str((rec.body or {}).get("type") or
                                                "application/octet-stream"))
            return JSONResponse({"id": media_id})

        async def profile(request: Request) -> Response:
            rec, token = await record(request)
            page = next((p for p, v in self.pages.items() if v["token"] == token), None)
            if page is None:
                return bad_token(token, "") or error(190, "Invalid OAuth access token", 401)
            self.greetings[page] = rec.body
            return JSONResponse({"result": "success"})

        async def templates(request: Request) -> Response:
            _, token = await record(request)
            waba = request.path_params["waba"]
            if (bad := bad_token(token, None)) is not None:
                return bad
            return JSONResponse({"data": self.templates.get(waba, [])})

        return Starlette(routes=[
            Route("/me/messenger_profile", profile, methods=["POST"]),
            Route("/media/{id}", media_bytes, methods=["GET"]),
            Route("/files/{name}", file_bytes, methods=["GET"]),
            Route("/{waba}/message_templates", templates, methods=["GET"]),
            Route("/{node}/messages", messages, methods=["POST"]),
            Route("/{node}/media", upload, methods=["POST"]),
            Route("/{node}", node_get, methods=["GET"]),
        ])


def _multipart(ctype: str, raw: bytes) -> tuple[dict[str, str], dict[str, bytes]]:
    """A ``multipart/form-data`` body's fields and files (the stdlib's MIME parser: the
    stand-in needs no form library)."""
    import email
    import email.policy

    msg = email.message_from_bytes(f"Content-Type: {ctype}\r\n\r\n".encode() + raw,
                                   policy=email.policy.HTTP)
    fields: dict[str, str] = {}
    files: dict[str, bytes] = {}
    for part in msg.iter_parts():
        name = str(part.get_param("name", header="content-disposition") or "")
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        if part.get_filename() is not None:
            files[name] = data
        else:
            fields[name] = data.decode()
    return fields, files


# ---------------------------------------------------------------- payloads
def messenger_event(page_id: str, psid: str, *, text: str = "", mid: str | None = None,
                    timestamp_ms: int, attachments: list[dict[str, Any]] | None = None,
                    quick_reply: str | None = None) -> dict[str, Any]:
    """A Messenger ``messages`` delivery (PROTOCOLS.md §1)."""
    message: dict[str, Any] = {"mid": mid or f"m_{secrets.token_hex(8)}", "text": text}
    if attachments:
        message["attachments"] = attachments
    if quick_reply:
        message["quick_reply"] = {"payload": quick_reply}
    return {"object": "page", "entry": [{"id": page_id, "time": timestamp_ms, "messaging": [
        {"sender": {"id": psid}, "recipient": {"id": page_id}, "timestamp": timestamp_ms,
         "message": message}]}]}


def whatsapp_event(waba_id: str, number_id: str, display: str, *, messages: list[dict[str, Any]]
                   | None = None, statuses: list[dict[str, Any]] | None = None,
                   contacts: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """A WhatsApp Cloud API ``messages`` change (PROTOCOLS.md §2)."""
    value: dict[str, Any] = {"messaging_product": "whatsapp",
                             "metadata": {"display_phone_number": display,
                                          "phone_number_id": number_id}}
    if contacts:
        value["contacts"] = contacts
    if messages:
        value["messages"] = messages
    if statuses:
        value["statuses"] = statuses
    return {"object": "whatsapp_business_account", "entry": [
        {"id": waba_id, "changes": [{"field": "messages", "value": value}]}]}
