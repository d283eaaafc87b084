"""Who calls the tickets API: a bearer token (``ticketty tokens create``) acting as one agent.

No token, or one that is unknown or revoked: 401 with ``WWW-Authenticate: Bearer``. An
agent's token on an admin route: 403. Each token is also a *visitor* for the rate limits
(``[engine] http_visitor_rate``), so one script cannot starve the others. A token's
``last_used_at`` is written at most once a minute (not a write per request).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from engine.models import Agent, Role
from engine.web.errors import ApiError
from engine.web.ratelimit import retry_after

TOUCH_EVERY = 60.0  # seconds between two writes of a token's last_used_at

bearer = HTTPBearer(auto_error=False, scheme_name="token",
                    description="A token from `ticketty tokens create --name NAME`")

_touched: dict[str, float] = {}


@dataclass(frozen=True)
class Caller:
    """The agent a request acts as, and the name of the token it came with."""

    agent: Agent
    token: str

    @property
    def is_admin(self) -> bool:
        return self.agent.role == Role.admin

    @property
    def agent_id(self) -> int:
        assert self.agent.id is not None  # an agent read from the store
        return self.agent.id


def _refuse(message: str) -> ApiError:
    return ApiError(401, message, "Authorization",
                    headers={"WWW-Authenticate": 'Bearer realm="ticketty"'})


async def caller(request: Request,
                 creds: HTTPAuthorizationCredentials | None = Depends(bearer)) -> Caller:
    """The dependency every API route takes: the token's agent, or a refusal."""
    if creds is None:
        raise _refuse("a bearer token is required (Authorization: Bearer <token>; make one"
                      " with `ticketty tokens create --name NAME`)")
    ctx = request.app.state.ctx
    found = await ctx.store.api_token_agent(creds.credentials)
    if found is None:
        raise _refuse("this token is not valid (unknown, mistyped or revoked)")
    agent, name = found
    wait = ctx.limits.visitor.hit(f"token:{name}")
    if wait:
        raise ApiError(429, f"too many requests with token {name!r}; try again in"
                            f" {retry_after(wait)} s", headers={"Retry-After": retry_after(wait)})
    now = time.time()
    if now - _touched.get(name, 0.0) >= TOUCH_EVERY:
        _touched[name] = now
        await ctx.store.touch_api_token(name, now)
    return Caller(agent=agent, token=name)


async def admin(who: Caller = Depends(caller)) -> Caller:
    """Admin routes: an agent's token is refused with 403."""
    if not who.is_admin:
        raise ApiError(403, f"this route is for admins ({who.agent.email}'s token"
                            f" {who.token!r} acts as an agent)")
    return who
