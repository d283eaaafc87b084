"""The lifecycle the asyncio-stream stand-ins share (the OAuth provider, Twilio): bind on
``host``/``port`` (0: a free port, written back), stop, and ``async with``."""

from __future__ import annotations

import asyncio
from typing import Self


class StreamStandIn:
    """Mixed into a stand-in dataclass with ``host``, ``port`` and ``_server`` fields and a
    ``_serve(reader, writer)`` handler; ``start()`` answers its base URL."""

    host: str
    port: int
    _server: asyncio.base_events.Server | None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        raise NotImplementedError

    async def start(self) -> str:
        self._server = await asyncio.start_server(self._serve, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.base_url

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()
