"""JSON errors that name the field, for every app of the front door.

Every refusal is ``{"error": "<field>: <reason>", "field": "<field>"}`` (``field`` left out
when no one field is at fault) — the same one-line ``<field>: <reason>`` the CLI prints — and,
when a request body has several problems, ``"errors": [{"field", "message"}, …]`` too.
Validation errors never echo the input back; fields are named as the caller spells them (a
JSON key, a query parameter, a header such as ``Idempotency-Key``).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

_PREFIXES = ("Value error, ", "Assertion failed, ")
_WHERE = ("body", "query", "path", "header", "cookie")


class ApiError(Exception):
    """A refusal a route raises: HTTP ``status``, a reason, the field at fault."""

    def __init__(self, status: int, message: str, field: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.field = field
        self.headers = headers


def error_body(message: str, field: str | None = None,
               errors: list[dict[str, str]] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"error": f"{field}: {message}" if field else message}
    if field:
        body["field"] = field
    if errors and len(errors) > 1:
        body["errors"] = errors
    return body


def _field(loc: tuple[Any, ...], headers: dict[str, str]) -> str:
    parts = list(loc)
    where = parts.pop(0) if parts and parts[0] in _WHERE else None
    if where == "body" and parts and isinstance(parts[0], int):
        return "body"  # a JSON syntax error: loc is ("body", position)
    if where == "header" and parts:
        return headers.get(str(parts[0]), str(parts[0]))
    return ".".join(str(p) for p in parts) or (where or "request")


def _reason(problem: dict[str, Any]) -> str:
    kind = problem.get("type", "")
    if kind == "json_invalid":
        detail = (problem.get("ctx") or {}).get("error")
        return f"not valid JSON ({detail})" if detail else "not valid JSON"
    if kind == "missing" and tuple(problem.get("loc", ())) == ("body",):
        return "a JSON object is required"
    if kind == "extra_forbidden":
        return "not a field of this request"
    reason = str(problem.get("msg", "invalid value"))
    for prefix in _PREFIXES:
        if reason.startswith(prefix):
            reason = reason[len(prefix):]
    return reason


def validation_response(exc: RequestValidationError, headers: dict[str, str]) -> JSONResponse:
    problems = [{"field": _field(tuple(p.get("loc", ())), headers), "message": _reason(p)}
                for p in exc.errors()]
    if not problems:
        return JSONResponse(error_body("the request is not valid"), status_code=422)
    first = problems[0]
    return JSONResponse(error_body(first["message"], first["field"], problems), status_code=422)


def install(app: FastAPI, header_names: dict[str, str] | None = None) -> None:
    """JSON error handlers on ``app``; ``header_names`` maps lower-case header names to how
    errors spell them (``{"idempotency-key": "Idempotency-Key"}``)."""
    names = {k.replace("-", "_"): v for k, v in (header_names or {}).items()}
    names.update(header_names or {})

    async def on_validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        return validation_response(exc, names)

    async def on_http(request: Request, exc: HTTPException) -> JSONResponse:
        message = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        if exc.status_code == 404 and message == "Not Found":
            message = f"nothing at {request.url.path}"
        elif exc.status_code == 405:
            message = f"{request.method} is not allowed on {request.url.path}"
        return JSONResponse(error_body(message), status_code=exc.status_code,
                            headers=dict(exc.headers or {}))

    async def on_api(request: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(error_body(exc.message, exc.field), status_code=exc.status,
                            headers=exc.headers)

    app.add_exception_handler(RequestValidationError, on_validation)  # type: ignore[arg-type]
    app.add_exception_handler(HTTPException, on_http)  # type: ignore[arg-type]
    app.add_exception_handler(ApiError, on_api)  # type: ignore[arg-type]
