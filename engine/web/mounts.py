"""The mount contract: how a web channel puts its routes on the front door.

A channel that serves web routes (chat's widget socket, a form's page, a platform's webhook)
returns :class:`WebMount` objects; the app serves each under its ``prefix``. The engine hands
the server a *provider* — a cheap callable returning the mounts in force now — and the app asks
it whenever a request does not match its own routes, so channels connected, edited or removed
while the server runs are served (or no longer served) at once, without a restart.
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fastapi import APIRouter

_PREFIX = re.compile(r"^(/[A-Za-z0-9._~-]+)+$")
#: paths the front door keeps for itself
RESERVED = ("/healthz", "/api", "/demo")


@dataclass(frozen=True, eq=False)
class WebMount:
    """Routes (and static files) served under ``prefix``.

    - ``prefix``: where the routes live, e.g. ``/chat/support`` (no trailing slash; never
      ``/healthz`` or under ``/api``).
    - ``router``: a FastAPI ``APIRouter`` whose paths are relative to ``prefix``.
    - ``static``: a directory served read-only under ``<prefix>/static/`` (widget scripts,
      styles), or None.
    - ``max_body``: this mount's request body limit in bytes (a form taking file uploads needs
      more than the front door's ``[engine] http_max_body``), or None for that default.
    - ``name``: who mounted it, for logs (a channel's name).
    """

    prefix: str
    router: APIRouter | None = None
    static: Path | None = None
    max_body: int | None = None
    name: str = ""

    def __post_init__(self) -> None:
        if not _PREFIX.match(self.prefix):
            raise ValueError(f"mount prefix {self.prefix!r}: a path like /chat/support"
                             " (letters, digits, . _ ~ -; no trailing slash)")
        if any(self.prefix == r or self.prefix.startswith(r + "/") for r in RESERVED):
            raise ValueError(f"mount prefix {self.prefix!r} is the front door's own")
        if self.router is None and self.static is None:
            raise ValueError(f"mount {self.prefix!r} has neither routes nor static files")

    def covers(self, path: str) -> bool:
        """Whether a request for ``path`` belongs to this mount."""
        return path == self.prefix or path.startswith(self.prefix + "/")


#: What the engine passes the server: the mounts in force now. Called on requests the app's own
#: routes do not match, so it must be cheap (no I/O).
MountProvider = Callable[[], Sequence[WebMount]]


_cache: weakref.WeakKeyDictionary[Any, tuple[WebMount, ...]] = weakref.WeakKeyDictionary()


def channel_mounts(adapters: Iterable[Any]) -> list[WebMount]:
    """The mounts of the running channel adapters that declare the ``web_routes`` ability.

    The engine's provider: ``lambda: channel_mounts(engine's running adapters)``. An adapter
    declaring ``web_routes`` (``adapter.can("web_routes")``; ``Ability`` is a ``StrEnum``)
    answers ``routes()`` with a :class:`WebMount` or a list of them; each adapter is asked once
    (its mounts are kept while the adapter lives, so a restarted channel — a new adapter — is
    asked again).
    """
    mounts: list[WebMount] = []
    for adapter in adapters:
        can = getattr(adapter, "can", None)
        if can is None or not can("web_routes"):
            continue
        try:
            got = _cache.get(adapter)
        except TypeError:  # not weakly referenceable or hashable: ask every time
            got = None
        if got is None:
            made = adapter.routes()
            got = (made,) if isinstance(made, WebMount) else tuple(made)
            try:
                _cache[adapter] = got
            except TypeError:
                pass
        mounts.extend(got)
    return mounts
