"""``/api/v1/contacts`` (a contact by address) and ``/api/v1/tokens`` (admins: every token)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from engine.models import normalize_email
from engine.web.api.auth import Caller, admin, caller
from engine.web.api.schemas import ContactOut, TokenOut
from engine.web.api.tickets import answer
from engine.web.errors import ApiError

router = APIRouter()


@router.get("/contacts", tags=["contacts"], summary="A contact by email address",
            response_model=None, responses={200: {"model": ContactOut}})
async def contact(request: Request, who: Caller = Depends(caller),
                  email: str = Query(description="The contact's email address.")) -> JSONResponse:
    """As one entry of `ticketty contacts list --json`."""
    try:
        address = normalize_email(email)
    except ValueError as exc:
        raise ApiError(422, str(exc), "email") from None
    found = await request.app.state.ctx.store.contact_by_email(address)
    if found is None:
        raise ApiError(404, f"no contact with email {address!r}", "email")
    return answer(found)


@router.get("/tokens", tags=["admin"], summary="Every API token (admins)", response_model=None,
            responses={200: {"model": list[TokenOut]}})
async def tokens(request: Request, who: Caller = Depends(admin),
                 all: bool = Query(False, description="Include revoked tokens.")
                 ) -> JSONResponse:
    """As `ticketty tokens list --json` run by an admin; never a token's text."""
    return answer(await request.app.state.ctx.store.api_tokens(include_revoked=all))
