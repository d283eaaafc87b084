"""Heavy work in a child process, under a time and a memory budget, never on the event loop.

Parsing an 8 MB HTML mail took ~13 s of pure Python; on the engine's loop that stopped every
channel and the lease renewal. :class:`WorkerProcess` runs such jobs in a child Python process
(``python -m engine.workers``) that it starts on first use and keeps for the next job:

- one job at a time, sent and answered as length-prefixed pickles over the child's stdin and
  stdout (a pipe between this process and the child it started — nothing else writes there);
- a **time budget** per job: past it the child is killed (the next job starts a fresh one) and
  the caller gets :class:`BudgetExceeded`;
- a **memory budget**: the child's data segment is capped (``RLIMIT_DATA``); a job that needs
  more raises ``MemoryError`` in the child, which answers and exits, and the caller gets
  :class:`BudgetExceeded`;
- a child that grew past ``recycle_mb`` after a job is replaced before the next one, so one big
  mail does not keep its memory for the life of the engine.

Jobs are named in :data:`JOBS` (``name → "module:function"``) and imported in the child.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import os
import pickle
import struct
import sys
from typing import Any

log = logging.getLogger(__name__)

JOBS: dict[str, str] = {
    "email.parse": "engine.channels.email_work:parse_job",
    "warm": "engine.workers:warm_job",
}
_FRAME = struct.Struct("!Q")
MB = 1024 * 1024


class BudgetExceeded(Exception):
    """A job went over its time or memory budget; ``reason`` says which, in words."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class WorkerFailed(Exception):
    """The job raised, or the child died under it; the message says what happened."""


def warm_job(*modules: str) -> int:
    """Import ``modules`` in the child, so the first real job does not pay for it."""
    for name in modules:
        importlib.import_module(name)
    return os.getpid()


def _describe_exit(rc: int | None) -> str:
    if rc is None:
        return "still running"
    if rc < 0:
        import signal

        with contextlib.suppress(ValueError):
            return f"killed by {signal.Signals(-rc).name}"
        return f"killed by signal {-rc}"
    return f"exit status {rc}"


class WorkerProcess:
    """One child process running jobs one at a time (see the module docstring)."""

    def __init__(self, name: str, *, memory_mb: int | None = None,
                 recycle_mb: int | None = None, preload: tuple[str, ...] = ()) -> None:
        self.name = name
        self.memory_mb = memory_mb
        self.recycle_mb = recycle_mb
        self.preload = preload
        self._proc: asyncio.subprocess.Process | None = None
        self._lock = asyncio.Lock()
        self.jobs = 0
        self.restarts = 0

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def rss_mb(self) -> float:
        """Resident memory of the child now (0 when there is none)."""
        pid = self.pid
        if pid is None:
            return 0.0
        try:
            with open(f"/proc/{pid}/statm") as f:
                return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / MB
        except (OSError, ValueError, IndexError):
            return 0.0

    async def start(self) -> None:
        """Start the child now (and import ``preload`` in it) instead of on the first job."""
        async with self._lock:
            await self._ensure()
            if self.preload:
                await self._call("warm", self.preload, timeout=60)

    async def _ensure(self) -> asyncio.subprocess.Process:
        if self._proc is not None and self._proc.returncode is None:
            return self._proc
        args = [sys.executable, "-m", "engine.workers"]
        if self.memory_mb:
            args += ["--memory-mb", str(self.memory_mb)]
        self._proc = await asyncio.create_subprocess_exec(
            *args, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            start_new_session=True,  # a ctrl+c meant for the engine is not the child's
            limit=64 * 1024)
        self.restarts += 1
        log.debug("worker %s: started pid %d", self.name, self._proc.pid)
        return self._proc

    async def call(self, job: str, *args: Any, timeout: float) -> Any:  # noqa: ASYNC109
        """Run ``job(*args)`` in the child; its return value, or an exception (see module)."""
        async with self._lock:
            await self._ensure()
            try:
                return await self._call(job, args, timeout)
            finally:
                if (self._proc is not None and self.recycle_mb
                        and self.rss_mb() > self.recycle_mb):
                    log.debug("worker %s: %.0f MB after a job, replacing it", self.name,
                              self.rss_mb())
                    await self._stop()

    async def _call(self, job: str, args: tuple[Any, ...], timeout: float) -> Any:  # noqa: ASYNC109
        proc = self._proc
        assert proc is not None and proc.stdin is not None and proc.stdout is not None
        payload = pickle.dumps((job, args), protocol=pickle.HIGHEST_PROTOCOL)
        self.jobs += 1
        try:
            async with asyncio.timeout(timeout):
                proc.stdin.write(_FRAME.pack(len(payload)))
                proc.stdin.write(payload)
                await proc.stdin.drain()
                size = _FRAME.unpack(await proc.stdout.readexactly(_FRAME.size))[0]
                status, value = pickle.loads(await proc.stdout.readexactly(size))
        except TimeoutError:
            await self._stop(kill=True)
            raise BudgetExceeded(f"it took longer than the {timeout:g} s time budget") from None
        except (asyncio.IncompleteReadError, ConnectionError) as exc:
            rc = await self._reap()
            raise WorkerFailed(f"the worker process died ({_describe_exit(rc)})") from exc
        except BaseException:  # cancelled half-way: the stream is out of step, start afresh
            await asyncio.shield(self._stop(kill=True))
            raise
        if status == "ok":
            return value
        if status == "memory":
            await self._reap()
            raise BudgetExceeded(f"it needed more than the {self.memory_mb} MB memory budget")
        raise WorkerFailed(str(value))

    async def _reap(self) -> int | None:
        proc, self._proc = self._proc, None
        if proc is None:
            return None
        with contextlib.suppress(Exception):
            async with asyncio.timeout(2):
                return await proc.wait()
        proc.kill()
        return await proc.wait()

    async def _stop(self, kill: bool = False) -> None:
        proc = self._proc
        if proc is None:
            return
        if kill:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
        elif proc.stdin is not None:
            proc.stdin.close()  # EOF: the child leaves its loop
        await self._reap()

    async def close(self) -> None:
        async with self._lock:
            await self._stop()


# ------------------------------------------------------------------------------- the child
def _run_job(job: str, args: tuple[Any, ...]) -> tuple[str, Any]:
    try:
        module, _, func = JOBS[job].partition(":")
        return "ok", getattr(importlib.import_module(module), func)(*args)
    except MemoryError:
        return "memory", None
    except Exception as exc:  # reported to the parent, which decides
        return "error", f"{type(exc).__name__}: {exc}"


def main(argv: list[str] | None = None) -> int:
    """The child: read jobs from stdin, answer on stdout, until stdin closes."""
    import argparse
    import resource

    p = argparse.ArgumentParser(prog="python -m engine.workers")
    p.add_argument("--memory-mb", type=int)
    opts = p.parse_args(argv)
    if opts.memory_mb:
        _, hard = resource.getrlimit(resource.RLIMIT_DATA)
        want = opts.memory_mb * MB
        resource.setrlimit(resource.RLIMIT_DATA, (want if hard < 0 else min(want, hard), hard))
    inp = sys.stdin.buffer
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # a stray print goes to stderr, never into the answers
    while True:
        head = inp.read(_FRAME.size)
        if len(head) < _FRAME.size:
            return 0
        job, args = pickle.loads(inp.read(_FRAME.unpack(head)[0]))
        status, value = _run_job(job, args)
        try:
            answer = pickle.dumps((status, value), protocol=pickle.HIGHEST_PROTOCOL)
        except MemoryError:
            status, answer = "memory", pickle.dumps(("memory", None))
        except Exception as exc:  # a result that cannot be pickled
            answer = pickle.dumps(("error", f"unpicklable result: {exc}"))
        out.write(_FRAME.pack(len(answer)) + answer)
        out.flush()
        if status == "memory":
            return 3  # the heap may be in pieces: the parent starts a fresh child


if __name__ == "__main__":
    sys.exit(main())
