"""Big attachments out of the way before a mail is parsed: a streaming MIME pre-pass.

The standard library parser holds a mail several times over while it parses it (the text, its
lines, the payload, the decoded bytes): a 20 MB mail with a 15 MB PDF needed ~170 MB. Before
:func:`~engine.channels.email_parse.parse_email` sees a big mail, :func:`offload_parts` reads
it line by line and, for every large non-text leaf part (PDFs, images, archives — never text,
and never inside an attached ``message/rfc822``, whose bytes are kept as they came), decodes the
body straight into a file and leaves a short token in its place. The parser then works on a
skeleton of a few kilobytes and returns attachments whose data is the token;
:func:`restore` (in the engine process) swaps the file's bytes back in.

The parser is not changed or second-guessed: the skeleton is the mail with some bodies
replaced, so everything it decides from headers and text stays the same. A mail whose
structure the pre-pass does not follow exactly (no closing boundary, an unknown encoding…)
is parsed as it came.
"""

from __future__ import annotations

import binascii
import hashlib
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import policy
from email.parser import BytesHeaderParser
from pathlib import Path
from typing import IO, Any

MIN_PART = 256 * 1024  # encoded bytes above which a part's body is moved to a file
_ENCODINGS = {"base64", "quoted-printable", "7bit", "8bit", "binary", ""}
_B64_JUNK = re.compile(rb"[^A-Za-z0-9+/=]")  # anything but the alphabet and padding
_headers = BytesHeaderParser(policy=policy.compat32)


class _Unfollowed(Exception):
    """The mail's structure is not what the pre-pass can rewrite safely: parse it as it is."""


@dataclass
class Offloaded:
    """A skeleton mail plus the files holding the bodies taken out of it."""

    skeleton: bytes
    parts: dict[bytes, str] = field(default_factory=dict)  # token → file path
    sha256: str = ""  # of the original bytes (the idempotency key of a mail without Message-ID)
    size: int = 0


class _Lines:
    """The mail's lines, hashed and counted as they are read, with one line of look-back."""

    def __init__(self, f: IO[bytes]) -> None:
        self._it: Iterator[bytes] = iter(f)
        self._back: bytes | None = None
        self.digest = hashlib.sha256()
        self.size = 0

    def next(self) -> bytes | None:
        if self._back is not None:
            back, self._back = self._back, None
            return back
        line = next(self._it, None)
        if line is not None:
            self.digest.update(line)
            self.size += len(line)
        return line

    def push_back(self, line: bytes) -> None:
        self._back = line


def _is_boundary(line: bytes, stack: list[bytes]) -> bool:
    if not line.startswith(b"--"):
        return False
    bare = line.rstrip(b"\r\n").rstrip(b" \t")
    return any(bare in (b"--" + b, b"--" + b + b"--") for b in stack)


class _Decoder:
    """Decodes one transfer encoding incrementally into a file, as the parser would decode the
    whole body (whose last line break belongs to the boundary that follows it)."""

    def __init__(self, encoding: str, out: IO[bytes]) -> None:
        self.encoding = encoding
        self.out = out
        self._rest = b""
        self._held: bytes | None = None

    def _text(self, line: bytes) -> bytes:
        return binascii.a2b_qp(line) if self.encoding == "quoted-printable" else line

    def feed(self, line: bytes) -> None:
        if self.encoding == "base64":
            # only well-formed base64 is decoded here: on anything else the parser's own
            # leniencies decide, so the mail is parsed as it came
            data = line.rstrip(b"\r\n")
            if _B64_JUNK.search(data) or (b"=" in self._rest) or (b"=" in data.rstrip(b"=")):
                raise _Unfollowed("irregular base64")
            data = self._rest + data
            cut = len(data) - len(data) % 4
            if b"=" in data:
                cut = len(data)  # the padded end: nothing may follow
            self._rest = data[cut:]
            if cut:
                self.out.write(binascii.a2b_base64(data[:cut]))
            return
        if self._held is not None:
            self.out.write(self._text(self._held))
        self._held = line

    def close(self) -> None:
        if self.encoding == "base64":
            if len(self._rest) % 4 == 1:
                raise _Unfollowed("base64 of an impossible length")
            if self._rest:
                self.out.write(binascii.a2b_base64(self._rest + b"=" * (-len(self._rest) % 4)))
        elif self._held is not None:
            self.out.write(self._text(self._held.rstrip(b"\r\n")))


class _Splitter:
    def __init__(self, lines: _Lines, spill_dir: Path, min_part: int) -> None:
        self.lines = lines
        self.spill_dir = spill_dir
        self.min_part = min_part
        self.out = bytearray()
        self.parts: dict[bytes, str] = {}

    def entity(self, stack: list[bytes]) -> None:
        """Copy (or offload) one entity: its header block, then its body up to a boundary."""
        head = bytearray()
        while True:
            line = self.lines.next()
            if line is None:
                self.out += head
                return
            if _is_boundary(line, stack):  # no header block at all
                self.lines.push_back(line)
                self.out += head
                return
            head += line
            if line in (b"\r\n", b"\n"):
                break
        self.out += head
        msg = _headers.parsebytes(bytes(head))
        ctype = msg.get_content_type()
        maintype = ctype.partition("/")[0]
        if maintype == "multipart":
            boundary = msg.get_boundary()
            if not boundary:
                raise _Unfollowed("multipart without a boundary")
            self._multipart(boundary.encode("utf-8", "surrogateescape"), stack)
            return
        encoding = str(msg.get("content-transfer-encoding", "")).strip().lower()
        if maintype in ("text", "message") or encoding not in _ENCODINGS:
            self._copy_body(stack)  # text is the parser's to read; attached mails stay whole
        else:
            self._leaf(stack, encoding)

    def _multipart(self, boundary: bytes, stack: list[bytes]) -> None:
        inner = [*stack, boundary]
        self._copy_body(inner)  # preamble
        while True:
            line = self.lines.next()
            if line is None:
                raise _Unfollowed("no closing boundary")
            if not _is_boundary(line, inner):
                raise _Unfollowed("expected a boundary")
            if not _is_boundary(line, [boundary]):  # an outer boundary: ours never closed
                self.lines.push_back(line)
                return
            self.out += line
            if line.rstrip(b"\r\n").rstrip(b" \t").endswith(b"--"):
                self._copy_body(stack)  # epilogue
                return
            self.entity(inner)

    def _copy_body(self, stack: list[bytes]) -> None:
        while (line := self.lines.next()) is not None:
            if _is_boundary(line, stack):
                self.lines.push_back(line)
                return
            self.out += line

    def _leaf(self, stack: list[bytes], encoding: str) -> None:
        held: list[bytes] = []
        size = 0
        while (line := self.lines.next()) is not None:
            if _is_boundary(line, stack):
                self.lines.push_back(line)
                break
            held.append(line)
            size += len(line)
            if size > self.min_part:
                self._spill(held, stack, encoding)
                return
        for line in held:
            self.out += line

    def _spill(self, held: list[bytes], stack: list[bytes], encoding: str) -> None:
        digest = hashlib.sha256()
        with tempfile.NamedTemporaryFile(dir=self.spill_dir, prefix="part-", delete=False) as f:
            try:
                decoder = _Decoder(encoding, f)
                for line in held:
                    digest.update(line)
                    decoder.feed(line)
                eol = held[-1][len(held[-1].rstrip(b"\r\n")):] or b"\r\n"
                held.clear()
                while (more := self.lines.next()) is not None:
                    if _is_boundary(more, stack):
                        self.lines.push_back(more)
                        break
                    digest.update(more)
                    decoder.feed(more)
                decoder.close()
            except _Unfollowed:
                Path(f.name).unlink(missing_ok=True)
                raise
        token = b"ticketty-offloaded-part-" + digest.hexdigest()[:40].encode()
        self.parts[token] = f.name
        encoded = binascii.b2a_base64(token, newline=False) if encoding == "base64" else token
        self.out += encoded + eol


def offload_parts(path: Path, spill_dir: Path, min_part: int | None = None) -> Offloaded | None:
    """A skeleton of the mail in ``path`` with non-text bodies over ``min_part`` (default
    :data:`MIN_PART`) encoded bytes moved into files in ``spill_dir``; ``None`` when nothing
    was moved (parse the mail as it is)."""
    spill_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    with open(path, "rb") as f:
        lines = _Lines(f)
        splitter = _Splitter(lines, spill_dir, MIN_PART if min_part is None else min_part)
        try:
            splitter.entity([])
            if lines.next() is not None:
                raise _Unfollowed("bytes after the end of the outer entity")
        except _Unfollowed:
            discard({"parts": splitter.parts})
            return None
    if not splitter.parts:
        return None
    return Offloaded(bytes(splitter.out), splitter.parts, lines.digest.hexdigest(), lines.size)


def discard(found: dict[str, Any] | Offloaded) -> None:
    """Delete the files of an offload (after ingest, or when it was abandoned)."""
    parts = found.parts if isinstance(found, Offloaded) else found["parts"]
    for name in parts.values():
        Path(name).unlink(missing_ok=True)
