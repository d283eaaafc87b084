"""The engine's web front door: one ASGI app (FastAPI), served by uvicorn in the engine's loop.

Only the holder of the runner lease serves it (``engine.engine`` starts it when it takes the
lead and stops it when the lead is lost or the engine exits). The app knows no channel: web
channels hand it :class:`~engine.web.mounts.WebMount` objects (their routes and static files
under a path prefix) through a provider the engine passes in. Every route sits behind the same
limits (``engine.web.limits``): body size, per-address and per-visitor rates, timeouts, and
client addresses believed only from trusted proxies.

Modules: ``mounts`` (the mount contract, light to import), ``server`` (binding the port,
running uvicorn, starting and stopping with the lead), ``app`` (the FastAPI app: health, the
mounts, the tickets API under ``/api/v1``), ``limits`` and ``ratelimit`` (the limits),
``errors`` (JSON errors that name the field), ``api/`` (the tickets API).

Importing this package does not import FastAPI or uvicorn; the server imports them off the
event loop when it starts.
"""

from __future__ import annotations

from engine.web.mounts import MountProvider, WebMount, channel_mounts

__all__ = ["MountProvider", "WebMount", "channel_mounts"]
