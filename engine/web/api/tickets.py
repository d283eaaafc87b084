"""``/api/v1/tickets``: list (keyset cursor pages), create (idempotent), show, reply, note,
assign, status. Every action is a :class:`~engine.desk.Desk` call as the token's agent, so the
API does exactly what the TUI and the CLI do."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
from typing import Any

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import JSONResponse

from engine.desk import Desk
from engine.listing import PRIORITIES, SORTS, VIEWS, FilterError, resolve_me, ticket_query
from engine.models import Source, Ticket, normalize_email
from engine.shapes import ticket_json, ticket_with_messages_json
from engine.store import StoreError
from engine.web.api.auth import Caller, caller
from engine.web.api.schemas import (
    AssignIn,
    NewTicket,
    NoteIn,
    NoteOut,
    ReplyIn,
    ReplyOut,
    StatusIn,
    TicketOut,
    TicketPage,
    TicketThreadOut,
)
from engine.web.errors import ApiError

router = APIRouter(prefix="/tickets", tags=["tickets"])
MAX_PAGE = 200

_key_locks: dict[tuple[int, str], list[Any]] = {}  # [lock, requests using it]


def answer(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(data, status_code=status,
                        headers={"Cache-Control": "no-store", **(headers or {})})


def _ctx(request: Request) -> Any:
    return request.app.state.ctx


async def _ticket(request: Request, ticket_id: int) -> Ticket:
    ticket = await _ctx(request).store.ticket(ticket_id)
    if ticket is None:
        raise ApiError(404, f"no ticket #{ticket_id}", "id")
    return ticket


def _problem(exc: StoreError | ValueError, field: str) -> ApiError:
    return ApiError(422, str(exc), field)


# ------------------------------------------------------------------------- list
def _cursor_digest(who: Caller, filters: dict[str, Any]) -> str:
    raw = json.dumps([who.agent_id, filters], sort_keys=True).encode()
    return hashlib.sha256(raw).hexdigest()[:16]


def _encode_cursor(key: list[Any], digest: str) -> str:
    raw = json.dumps({"k": key, "f": digest}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str, digest: str) -> list[Any]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = json.loads(raw)
        key = data["k"]
        ok = isinstance(key, list) and all(isinstance(v, int | float) for v in key)
    except (ValueError, KeyError, TypeError):
        ok = False
    if not ok:
        raise ApiError(422, "not a cursor this API gave (pass next_cursor as it came)", "cursor")
    if data.get("f") != digest:
        raise ApiError(422, "this cursor belongs to a listing with other filters (keep the"
                            " filters the same while paging)", "cursor")
    return key


@router.get("", summary="List tickets", response_model=None,
            responses={200: {"model": TicketPage}})
async def list_tickets(
    request: Request, who: Caller = Depends(caller),
    view: str | None = Query(None, description=f"One of {', '.join(VIEWS)} (default open;"
                             " all when a status is given)."),
    status: str | None = Query(None, description="A status name."),
    assignee: str | None = Query(None, description="An agent's email, `me` or `none`."),
    channel: str | None = Query(None, description="A channel's name."),
    priority: str | None = Query(None, description=", ".join(PRIORITIES)),
    search: str | None = Query(None, description="Words in subjects and messages."),
    sort: str = Query("activity", description=", ".join(SORTS)),
    limit: int = Query(50, ge=1, le=MAX_PAGE, description=f"Tickets per page (1-{MAX_PAGE})."),
    cursor: str | None = Query(None, description="`next_cursor` of the page before."),
) -> JSONResponse:
    """The same filters as `ticketty tickets list`; newest activity first by default. A page
    wraps its tickets with the cursor of the next page."""
    ctx = _ctx(request)
    filters = {"view": view, "status": status, "assignee": assignee, "channel": channel,
               "priority": priority, "search": search, "sort": sort}
    try:
        q = await ticket_query(ctx.store, who.agent, view=view, status=status,
                               assignee=assignee, channel=channel, priority=priority,
                               search=search, sort=sort)
    except FilterError as exc:
        raise ApiError(422, exc.reason, exc.field) from None
    digest = _cursor_digest(who, filters)
    after = _decode_cursor(cursor, digest) if cursor else None
    try:
        tickets, next_key = await ctx.store.ticket_page(q, after, limit)
    except ValueError:
        raise ApiError(422, "this cursor belongs to another sort", "cursor") from None
    return answer({"items": [ticket_json(t) for t in tickets],
                   "next_cursor": _encode_cursor(next_key, digest) if next_key else None})


# ----------------------------------------------------------------------- create
def _request_digest(body: NewTicket) -> str:
    return hashlib.sha256(body.model_dump_json().encode()).hexdigest()


@router.post("", status_code=201, summary="Create a ticket for a customer", response_model=None,
             responses={201: {"model": TicketOut}})
async def create_ticket(
    request: Request, body: NewTicket, who: Caller = Depends(caller),
    idempotency_key: str | None = Header(
        None, alias="Idempotency-Key", min_length=1, max_length=200,
        description="Retrying with the same key answers with the same ticket (never a second"
                    " one); the same key with another body is refused."),
) -> JSONResponse:
    """Through the same pipeline as every channel: the contact is found or created by
    `from_email`. The ticket's `source` is `api`."""
    ctx = _ctx(request)
    desk = Desk(ctx.store, who.agent)

    async def create(key: str | None) -> int:
        result = await desk.create_ticket(
            subject=body.subject, from_email=body.from_email, name=body.from_name,
            body=body.body, source=Source.api, key=key,
            priority=body.priority.value if body.priority else None)
        assert result.ticket_id is not None  # not a bounce: always a ticket
        return result.ticket_id

    if idempotency_key is None:
        try:
            ticket_id = await create(None)
        except (StoreError, ValueError) as exc:
            raise _problem(exc, "subject") from None
        return answer(ticket_json(await _ticket(request, ticket_id)), 201)
    digest = _request_digest(body)
    slot = (who.agent_id, idempotency_key)
    entry = _key_locks.setdefault(slot, [asyncio.Lock(), 0])  # one request per key at a time
    entry[1] += 1
    try:
        async with entry[0]:
            seen = await ctx.store.idempotent_request(who.agent_id, idempotency_key)
            replay = seen is not None
            if seen is None:
                ticket_id = await create(f"api:{who.agent_id}:{idempotency_key}")
                seen = await ctx.store.remember_request(who.agent_id, idempotency_key, digest,
                                                        ticket_id)
    finally:
        entry[1] -= 1
        if entry[1] == 0:
            _key_locks.pop(slot, None)
    if seen[0] != digest:
        raise ApiError(422, "this key was used for a ticket request with another body (use a"
                            " new key for a new ticket)", "Idempotency-Key")
    headers = {"Idempotent-Replayed": "true"} if replay else None
    return answer(ticket_json(await _ticket(request, seen[1])), 201, headers)


# ---------------------------------------------------------------------- one ticket
@router.get("/{id}", summary="A ticket and its thread", response_model=None,
            responses={200: {"model": TicketThreadOut}})
async def show_ticket(request: Request, id: int, who: Caller = Depends(caller)) -> JSONResponse:
    """As `ticketty tickets show N --json`: the ticket and every message, notes included."""
    ticket = await _ticket(request, id)
    messages = await _ctx(request).store.messages(id)
    return answer(ticket_with_messages_json(ticket, messages))


@router.post("/{id}/reply", status_code=202, summary="Reply to the customer", response_model=None,
             responses={202: {"model": ReplyOut}})
async def reply(request: Request, id: int, body: ReplyIn,
                who: Caller = Depends(caller)) -> JSONResponse:
    """Queues the reply; the engine's outbox sends it (with retries) through the ticket's
    channel. The ticket takes `status` (default: the pipeline's status after a reply)."""
    ctx = _ctx(request)
    await _ticket(request, id)
    try:
        message_id, outbox_id = await Desk(ctx.store, who.agent).reply(id, body.body,
                                                                         status=body.status)
    except StoreError as exc:
        raise _problem(exc, "status") from None
    if outbox_id is not None:
        ctx.wake_outbox()
    state, error = ("queued", None) if outbox_id is not None else \
        ("failed", "no channel to send this reply through (connect an email channel)")
    return answer({"ticket": id, "message_id": message_id, "outbox_id": outbox_id,
                   "state": state, "error": error}, 202)


@router.post("/{id}/note", status_code=201, summary="Add an internal note", response_model=None,
             responses={201: {"model": NoteOut}})
async def note(request: Request, id: int, body: NoteIn,
               who: Caller = Depends(caller)) -> JSONResponse:
    await _ticket(request, id)
    try:
        message_id = await Desk(_ctx(request).store, who.agent).note(id, body.body)
    except StoreError as exc:
        raise _problem(exc, "body") from None
    return answer({"ticket": id, "message_id": message_id}, 201)


@router.post("/{id}/assign", summary="Assign to an agent and/or a team", response_model=None,
             responses={200: {"model": TicketOut}})
async def assign(request: Request, id: int, body: AssignIn,
                 who: Caller = Depends(caller)) -> JSONResponse:
    """`{"assignee": "ann@example.com"}`, `{"assignee": "me"}`, `{"assignee": null}` (nobody),
    `{"team": "Billing"}` or both."""
    await _ticket(request, id)
    if not body.model_fields_set:
        raise ApiError(422, "give an agent's email (or me), null for nobody, and/or a team",
                       "assignee")
    agent = None
    if body.assignee is not None:
        try:
            agent = normalize_email(resolve_me(who.agent, body.assignee))
        except ValueError as exc:
            raise _problem(exc, "assignee") from None
    try:
        await Desk(_ctx(request).store, who.agent).assign(id, agent, body.team)
    except StoreError as exc:
        raise _problem(exc, "team" if "team" in str(exc) else "assignee") from None
    return answer(ticket_json(await _ticket(request, id)))


@router.post("/{id}/status", summary="Set the ticket's status", response_model=None,
             responses={200: {"model": TicketOut}})
async def set_status(request: Request, id: int, body: StatusIn,
                     who: Caller = Depends(caller)) -> JSONResponse:
    await _ticket(request, id)
    try:
        await Desk(_ctx(request).store, who.agent).set_status(id, body.status)
    except StoreError as exc:
        raise _problem(exc, "status") from None
    return answer(ticket_json(await _ticket(request, id)))
