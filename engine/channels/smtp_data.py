"""SMTP DATA as a stream: undo dot-stuffing, find the end, spool to a file, never hold it whole.

:class:`DataDecoder` turns the bytes a client sends after ``354`` into the message bytes
(RFC 5321 §4.5.2: a line starting with ``.`` lost its first dot; ``CRLF . CRLF`` ends the
data) one chunk at a time, keeping only a partial line between chunks. :class:`Spool` writes
them to a private temporary file and counts them, so a size limit is enforced the moment it is
passed and a 20 MB mail costs a few hundred kilobytes of memory while it arrives.
"""

from __future__ import annotations

import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

_END = b"\r\n.\r\n"
MAX_CARRY = 8192  # a partial line longer than this is passed on without waiting for its end


class DataDecoder:
    """Incremental DATA decoder. ``feed(chunk)`` → ``(payload, rest)``; ``done`` once the end
    marker was seen, ``rest`` then holds what the client sent after it (pipelined commands)."""

    def __init__(self) -> None:
        self._carry = b"\r\n"  # the data starts at the beginning of a line
        self._lead = 2  # bytes of that virtual line break still to drop from the output
        self.done = False

    def _emit(self, segment: bytes) -> bytes:
        out = segment.replace(b"\r\n.", b"\r\n")
        if self._lead:
            drop = min(self._lead, len(out))
            out = out[drop:]
            self._lead -= drop
        return out

    def feed(self, chunk: bytes) -> tuple[bytes, bytes]:
        if self.done:
            return b"", chunk
        s = self._carry + chunk
        end = s.find(_END)
        if end >= 0:
            self.done = True
            self._carry = b""
            return self._emit(s[: end + 2]), s[end + len(_END):]
        cut = s.rfind(b"\r\n")  # keep the last line start: its dot and end are undecided
        if cut <= 0 and len(s) > MAX_CARRY:
            cut = len(s) - 1  # one long line: pass it on, keeping a possible CR
        if cut <= 0:
            self._carry = s
            return b"", b""
        self._carry = s[cut:]
        return self._emit(s[:cut]), b""

    @property
    def pending(self) -> int:
        """Bytes held back, not yet passed on (at most a partial line)."""
        return len(self._carry)


@dataclass
class SpooledMail:
    """One received mail on disk (``path``), with its envelope; the listener deletes the file
    after the callback returns, so keep nothing but what you read from it."""

    path: Path
    size: int
    mail_from: str
    rcpt_tos: list[str] = field(default_factory=list)
    peer: str = ""

    def read_bytes(self) -> bytes:
        return self.path.read_bytes()


class Spool:
    """A private (0600) temporary file in ``directory`` that counts what is written to it and
    stops keeping bytes once ``limit`` is passed (``over`` tells)."""

    def __init__(self, directory: Path, limit: int) -> None:
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, name = tempfile.mkstemp(prefix="mail-", suffix=".eml", dir=directory)
        self.path = Path(name)
        self._file = os.fdopen(fd, "wb")
        self.limit = limit
        self.size = 0
        self.over = False

    def write(self, data: bytes) -> None:
        if self.over or not data:
            return
        self.size += len(data)
        if self.size > self.limit:
            self.over = True
            self._file.close()
            return
        self._file.write(data)

    def close(self) -> None:
        if not self._file.closed:
            self._file.close()

    def discard(self) -> None:
        self.close()
        self.path.unlink(missing_ok=True)


def sweep(directory: Path, older_than: float = 3 * 3600) -> int:
    """Delete spool files a crashed process left behind (no transfer or parse lasts this long;
    a mail is acknowledged only once stored, so its sender sends it again)."""
    removed = 0
    cutoff = time.time() - older_than
    for path in directory.glob("*-*"):
        try:
            if path.name.startswith(("mail-", "part-")) and path.stat().st_mtime < cutoff:
                path.unlink()
                removed += 1
        except OSError:
            continue
    return removed
