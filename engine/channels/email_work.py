"""Mail parsing off the event loop: the job a worker process runs, and the engine's side of it.

:func:`parse_job` runs in a child process (:mod:`engine.workers`): it moves big attachments out
of the way (:mod:`engine.channels.email_offload`), calls the parser unchanged, and returns the
message — or the reason it must be quarantined. :class:`MailParsers` is the engine's side:
two worker processes, so a stream of small mails never waits behind one big mail (a mail over
:data:`HEAVY_OVER` bytes goes to the second), each under the engine's time and memory budget
(``[engine] parse_timeout`` and ``parse_memory_mb``). A mail over budget comes back as a
quarantine reason naming the budget, and its raw bytes go to quarantine like any mail that
cannot be parsed.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.models import InboundAttachment, InboundMessage
from engine.workers import BudgetExceeded, WorkerFailed, WorkerProcess

HEAVY_OVER = 256 * 1024  # raw bytes above which a mail is parsed by the second worker
OFFLOAD_OVER = 1024 * 1024  # raw bytes above which big attachments are moved to files first
RECYCLE_MB = 96  # a worker that grew past this after a job is replaced
PRELOAD = ("engine.channels.email_parse", "engine.channels.email_offload")


# ------------------------------------------------------------------------------- the child
def parse_job(source: str | bytes, channel_id: int | None, max_bytes: int | None,
              spill_dir: str | None) -> tuple[Any, ...]:
    """Parse one mail (a spooled file's path, or the bytes). Runs in a worker process.

    Returns ``("ok", message, [(attachment index, file path), ...])`` — the listed attachments
    carry no data; their bytes are in those files — or ``("quarantine", reason)``.
    """
    from engine.channels.email_offload import discard, offload_parts
    from engine.channels.email_parse import EmailParseError, parse_email

    size = len(source) if isinstance(source, bytes) else os.path.getsize(source)
    if max_bytes is not None and size > max_bytes:
        return "quarantine", f"message is {size} bytes, over the {max_bytes}-byte limit"
    off = None
    if isinstance(source, str) and spill_dir and size > OFFLOAD_OVER:
        off = offload_parts(Path(source), Path(spill_dir))
    raw = off.skeleton if off else (source if isinstance(source, bytes) else Path(source).read_bytes())
    try:
        msg = parse_email(raw, channel_id=channel_id)
    except EmailParseError as exc:
        if off:
            discard(off)
        if isinstance(exc.__cause__, MemoryError):
            raise MemoryError from exc
        return "quarantine", exc.reason
    if off is None:
        return "ok", msg, []
    moved: list[tuple[int, str]] = []
    attachments = list(msg.attachments)
    for i, att in enumerate(attachments):
        path = off.parts.get(att.data)
        if path is not None:
            moved.append((i, path))
            attachments[i] = att.model_copy(update={"data": b""})
    for path in set(off.parts.values()) - {p for _, p in moved}:
        Path(path).unlink(missing_ok=True)  # a part the parser did not keep
    update: dict[str, Any] = {"attachments": attachments}
    if msg.key.startswith("sha256:"):  # no Message-ID: the key is the hash of the real bytes
        update["key"] = "sha256:" + off.sha256
    return "ok", msg.model_copy(update=update), moved


# ------------------------------------------------------------------------- the engine side
@dataclass
class Parsed:
    """What became of one mail: a message to ingest, or why it goes to quarantine."""

    message: InboundMessage | None = None
    quarantine: str | None = None


def _restore(msg: InboundMessage, moved: list[tuple[int, str]]) -> InboundMessage:
    """Put the offloaded attachments' bytes back (runs in a thread: it reads files)."""
    attachments = list(msg.attachments)
    try:
        for i, path in moved:
            attachments[i] = InboundAttachment(
                filename=attachments[i].filename, content_type=attachments[i].content_type,
                data=Path(path).read_bytes())
    finally:
        for _, path in moved:
            Path(path).unlink(missing_ok=True)
    return msg.model_copy(update={"attachments": attachments})


class MailParsers:
    """The two parsing workers of one engine (see the module docstring).

    ``workers(name)`` returns a shared :class:`~engine.workers.WorkerProcess` (the engine's,
    so several channels share two processes); without one, this object starts and owns its own.
    """

    def __init__(self, *, timeout: float = 60.0, memory_mb: int = 256,
                 workers: Callable[..., WorkerProcess] | None = None,
                 spill_dir: Path | None = None) -> None:
        self.timeout = timeout
        self.memory_mb = memory_mb
        self.spill_dir = spill_dir or Path(tempfile.gettempdir()) / "ticketty-spool"
        self._own: dict[str, WorkerProcess] = {}
        self._workers = workers or self._own_worker

    def _own_worker(self, name: str, *, preload: tuple[str, ...] = (),
                    recycle_mb: int | None = None) -> WorkerProcess:
        if name not in self._own:
            self._own[name] = WorkerProcess(name, memory_mb=self.memory_mb,
                                            recycle_mb=recycle_mb, preload=preload)
        return self._own[name]

    def worker(self, size: int) -> WorkerProcess:
        """The worker for a mail of ``size`` bytes: big ones have their own."""
        name = "mail-parse-big" if size > HEAVY_OVER else "mail-parse"
        return self._workers(name, preload=PRELOAD, recycle_mb=RECYCLE_MB)

    async def start(self) -> None:
        """Start the small-mail worker now, so the first mail does not wait for it."""
        await self.worker(0).start()

    async def parse(self, source: str | bytes, size: int, *, channel_id: int | None,
                    max_bytes: int | None) -> Parsed:
        """Parse one mail (a spooled file's path, or its bytes) in a worker."""
        worker = self.worker(size)
        try:
            result = await worker.call("email.parse", source, channel_id, max_bytes,
                                       str(self.spill_dir), timeout=self.timeout)
        except BudgetExceeded as exc:
            return Parsed(quarantine=f"not parsed: {exc.reason}")
        except WorkerFailed as exc:
            return Parsed(quarantine=f"not parsed: {exc}")
        if result[0] == "quarantine":
            return Parsed(quarantine=result[1])
        _, msg, moved = result
        if moved:
            msg = await asyncio.to_thread(_restore, msg, moved)
        return Parsed(message=msg)

    async def close(self) -> None:
        for worker in self._own.values():
            await worker.close()
        self._own.clear()
