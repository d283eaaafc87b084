"""The lifecycle the asyncio-stream stand-ins share (the OAuth provider, Twilio): bind on
``host``/``port`` (0: a free port, written back), stop, and ``async with``."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Self
from urllib.parse import SplitResult, urlsplit

MAX_BODY = 64 * 1024  # the largest request body a stand-in reads


async def read_request(reader: asyncio.StreamReader
                       ) -> tuple[str, SplitResult, dict[str, str], bytes]:
    """One HTTP/1.1 request: method, URL, headers (lower-case names) and body (at most
    :data:`MAX_BODY`). A slow or cut request raises ``TimeoutError`` /
    ``IncompleteReadError``, a malformed one ``ValueError``."""
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
    request_line, *header_lines = head.decode("latin-1").split("\r\n")
    method, target, _ = request_line.split(" ", 2)
    headers = {k.strip().lower(): v.strip() for k, _, v in
               (h.partition(":") for h in header_lines if h)}
    length = min(int(headers.get("content-length", "0") or 0), MAX_BODY)
    body = await reader.readexactly(length) if length else b""
    return method, urlsplit(target), headers, body


async def answer(writer: asyncio.StreamWriter, response: bytes) -> None:
    """Send ``response`` and close the connection."""
    try:
        writer.write(response)
        await writer.drain()
    finally:
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()


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
