"""What Messenger and WhatsApp share: the Graph API client and Graph errors in words.

(Meta's webhook checks — ``X-Hub-Signature-256`` and the ``GET`` handshake — are pure functions
in :mod:`engine.channels.meta_signature`, kept apart so they are tested without any I/O.)

- :class:`GraphClient`: httpx to ``graph_base_url`` (Meta's versioned URL, or a local stand-in),
  a Graph error body raised as :class:`GraphError`, media downloads with a size limit.
- :func:`error_words`: Graph error codes in words for the thread, and whether retrying can
  help (a permanent error is failed at once, never retried).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine.httpclient import httpx

TIMEOUT = 20.0


# ------------------------------------------------------------------------- errors
OUTSIDE_WINDOW = "outside the 24-hour window"
TOKEN_EXPIRED = "token expired — reconnect the page"
NOT_ON_WHATSAPP = "recipient not on WhatsApp"

#: code (, subcode) → (words, permanent)
_WORDS: dict[tuple[int, int | None], tuple[str, bool]] = {
    (190, None): (TOKEN_EXPIRED, True),
    (10, 2018278): (OUTSIDE_WINDOW, True),
    (10, None): ("the app lacks a permission Meta requires for this message", True),
    (551, None): ("this person is not available on Messenger (blocked the Page or left)", True),
    (551, 1545041): ("this person is not available on Messenger (blocked the Page or left)",
                     True),
    (100, 1545041): (OUTSIDE_WINDOW, True),
    (131047, None): (OUTSIDE_WINDOW + " — send an approved template", True),
    (131026, None): (NOT_ON_WHATSAPP, True),
    (131049, None): ("WhatsApp held this marketing message back", True),
    (132000, None): ("the template's parameters do not match it", True),
    (132001, None): ("no approved template by that name and language", True),
    (131008, None): ("Meta refused the message: a required part is missing", True),
    (613, None): ("Meta's rate limit: sending again shortly", False),
    (130429, None): ("WhatsApp's rate limit: sending again shortly", False),
    (131056, None): ("too many messages to this person in a short time: sending again shortly",
                     False),
    (131000, None): ("Meta had a problem sending this: trying again", False),
    (2, None): ("Meta's service is unavailable: trying again", False),
    (1, None): ("Meta had an unknown error: trying again", False),
}


def error_words(code: int | None, subcode: int | None, message: str = "",
                http_status: int = 400) -> tuple[str, bool]:
    """``(words, permanent)`` for a Graph error. Unknown codes: a 5xx or 429 is retried, any
    other client error is permanent and quotes Meta's own message."""
    if code is not None:
        for key in ((code, subcode), (code, None)):
            if key in _WORDS:
                return _WORDS[key]
    if http_status >= 500 or http_status == 429:
        return (f"Meta answered {http_status}: trying again", False)
    said = f": {message}" if message else ""
    return (f"Meta refused the message (error {code}{'/' + str(subcode) if subcode else ''})"
            f"{said}", True)


class GraphError(Exception):
    """A Graph API error body (or an HTTP error without one), with its words."""

    def __init__(self, code: int | None, subcode: int | None, message: str,
                 http_status: int) -> None:
        self.code, self.subcode, self.message, self.http_status = code, subcode, message, \
            http_status
        self.words, self.permanent = error_words(code, subcode, message, http_status)
        super().__init__(self.words)


def _raise_for(resp: httpx.Response) -> None:
    if resp.status_code < 400:
        return
    try:
        err = resp.json().get("error") or {}
    except ValueError:
        err = {}
    raise GraphError(err.get("code"), err.get("error_subcode") or (err.get("error_data") or {}
                                                                      ).get("subcode"),
                     str(err.get("message") or resp.reason_phrase), resp.status_code)


class TooLarge(Exception):
    """A media file over the channel's size limit."""


@dataclass
class Media:
    data: bytes
    content_type: str


class GraphClient:
    """The Graph API at ``base_url`` with ``token`` (as ``Authorization: Bearer``; Messenger's
    Send API also takes it so). One httpx client per adapter, closed with it."""

    def __init__(self, base_url: str, token: str, *, timeout: float = TIMEOUT) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self._client: httpx.AsyncClient | None = None
        self._timeout = timeout

    @property
    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self._timeout, headers={
                "Authorization": f"Bearer {self.token}"})
        return self._client

    def url(self, path: str) -> str:
        return path if path.startswith(("http://", "https://")) else \
            f"{self.base_url}/{path.lstrip('/')}"

    async def get(self, path: str, **params: Any) -> dict[str, Any]:
        resp = await self.client.get(self.url(path), params=params or None)
        _raise_for(resp)
        return dict(resp.json())

    async def post(self, path: str, body: dict[str, Any] | None = None, *,
                   files: dict[str, Any] | None = None,
                   data: dict[str, Any] | None = None) -> dict[str, Any]:
        if files is not None:
            resp = await self.client.post(self.url(path), files=files, data=data)
        else:
            resp = await self.client.post(self.url(path), json=body or {})
        _raise_for(resp)
        return dict(resp.json())

    async def download(self, url: str, max_bytes: int) -> Media:
        """Fetch ``url`` (with the token) into memory, refusing more than ``max_bytes``."""
        async with self.client.stream("GET", self.url(url)) as resp:
            _raise_for(resp)
            declared = int(resp.headers.get("content-length") or 0)
            if declared > max_bytes:
                raise TooLarge(f"{declared / 1e6:.1f} MB")
            chunks: list[bytes] = []
            size = 0
            async for chunk in resp.aiter_bytes():
                size += len(chunk)
                if size > max_bytes:
                    raise TooLarge(f"more than {max_bytes / 1e6:.1f} MB")
                chunks.append(chunk)
            ctype = resp.headers.get("content-type", "application/octet-stream")
            return Media(b"".join(chunks), ctype.split(";")[0].strip())

    async def close(self) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            await client.aclose()
