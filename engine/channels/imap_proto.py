"""IMAP protocol helpers without a connection: sync state, errors, mailbox names, UID sets.

Pure functions and small types :mod:`engine.channels.imap_client` builds on: the
:class:`SyncState` protocol (``(UIDVALIDITY, last_uid)`` per folder) and its in-memory
version, :class:`ImapError`, modified-UTF-7 mailbox names, compact UID sets, and the walk over
aioimaplib's raw ``UID FETCH`` response lines. Importing this module does not import aioimaplib.
"""

from __future__ import annotations

import re
from typing import Any, Protocol

_UIDVALIDITY_RE = re.compile(rb"\[UIDVALIDITY (\d+)\]")
_UIDNEXT_RE = re.compile(rb"\[UIDNEXT (\d+)\]")
_FETCH_RE = re.compile(rb"^\d+ FETCH \(")
_UID_RE = re.compile(rb"UID (\d+)")
_EXISTS_RE = re.compile(rb"^\d+ EXISTS")


class SyncState(Protocol):
    """Where the ``(uidvalidity, last_uid)`` of each folder is kept (the store, in the engine)."""

    async def get_sync_state(self, folder: str) -> tuple[int, int] | None: ...

    async def put_sync_state(self, folder: str, uidvalidity: int, last_uid: int) -> None: ...


class MemorySyncState:
    """A :class:`SyncState` in a dict — for tests and one-shot tools."""

    def __init__(self) -> None:
        self.data: dict[str, tuple[int, int]] = {}

    async def get_sync_state(self, folder: str) -> tuple[int, int] | None:
        return self.data.get(folder)

    async def put_sync_state(self, folder: str, uidvalidity: int, last_uid: int) -> None:
        self.data[folder] = (uidvalidity, last_uid)


class ImapError(Exception):
    """An IMAP problem. ``needs_reauth``: credentials/token refused — the user must act."""

    def __init__(self, reason: str, *, needs_reauth: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.needs_reauth = needs_reauth


def _text(resp: Any) -> str:
    lines = [bytes(x) for x in getattr(resp, "lines", []) if isinstance(x, bytes | bytearray)]
    return " ".join(x.decode("utf-8", "replace") for x in lines).strip()


def encode_mailbox(name: str) -> str:
    """A mailbox name as an IMAP astring: modified UTF-7 (RFC 3501 §5.1.3), quoted."""
    out: list[str] = []
    buf: list[str] = []

    def flush() -> None:
        if buf:
            import base64

            b = base64.b64encode("".join(buf).encode("utf-16-be")).decode().rstrip("=")
            out.append("&" + b.replace("/", ",") + "-")
            buf.clear()

    for ch in name:
        if 0x20 <= ord(ch) <= 0x7E:
            flush()
            out.append("&-" if ch == "&" else ch)
        else:
            buf.append(ch)
    flush()
    enc = "".join(out)
    return '"' + enc.replace("\\", "\\\\").replace('"', '\\"') + '"'


def uid_set(uids: list[int]) -> str:
    """``[1,2,3,7,9,10]`` → ``"1:3,7,9:10"`` (compact IMAP sequence set)."""
    parts: list[str] = []
    start: int | None = None
    prev = 0
    for u in sorted(uids):
        if start is None:
            start = prev = u
        elif u == prev + 1:
            prev = u
        else:
            parts.append(f"{start}:{prev}" if start != prev else str(start))
            start = prev = u
    if start is not None:
        parts.append(f"{start}:{prev}" if start != prev else str(start))
    return ",".join(parts)


def parse_fetch(lines: list[Any]) -> list[tuple[int, bytes]]:
    """``(uid, raw)`` pairs from aioimaplib's raw ``UID FETCH (UID BODY.PEEK[])`` lines."""
    out: list[tuple[int, bytes]] = []
    uid: int | None = None
    pending: bytes | None = None
    for line in lines:
        if isinstance(line, bytearray):
            pending = bytes(line)
            continue
        if _FETCH_RE.match(line):
            if uid is not None and pending is not None:
                out.append((uid, pending))
            m = _UID_RE.search(line)
            uid = int(m.group(1)) if m else None
            pending = None
        elif uid is None and pending is not None:
            m = _UID_RE.search(line)  # some servers put UID after the literal
            if m:
                uid = int(m.group(1))
    if uid is not None and pending is not None:
        out.append((uid, pending))
    return out
