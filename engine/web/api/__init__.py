"""The tickets API, ``/api/v1``: a FastAPI app of its own (its OpenAPI document at
``/api/v1/openapi.json``, interactive docs at ``/api/v1/docs``), mounted by the front door.
See ``docs/api.md``."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from engine.web import errors

DESCRIPTION = """Tickets for other systems, with a bearer token from
`ticketty tokens create --name NAME`. The answers have the same shapes as the CLI's `--json`;
errors are `{"error": "<field>: <reason>", "field": "<field>"}`."""


def build_api(ctx: Any) -> FastAPI:
    from engine.web.api import directory, tickets

    api = FastAPI(title="ticketty tickets API", version="1", description=DESCRIPTION,
                  openapi_url="/openapi.json", docs_url="/docs", redoc_url=None)
    api.state.ctx = ctx
    errors.install(api, {"idempotency-key": "Idempotency-Key", "authorization": "Authorization"})
    api.include_router(tickets.router)
    api.include_router(directory.router)
    return api
