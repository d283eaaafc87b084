"""A stdlib ``sqlite3`` connection with the one thread that uses it.

``sqlite3`` calls block, so every connection of the store lives on a thread of its own and the
event loop hands it whole *synchronous* functions (a transaction, a page of the queue): one
thread hop per call, not per statement. That is what aiosqlite does too, but its public API only
offers statement-at-a-time calls; handing a function to its thread needs its private
``_execute``/``_conn``. This class is the same few lines, owned by the store.

The thread is not a daemon (a write in progress finishes before the interpreter exits), so
:meth:`SqliteConnection.close` must always run; it stops the thread even when the task closing
it is cancelled halfway (:meth:`stop` never blocks).

The PRAGMAs every connection of the store gets, and the way an opening error is put in words,
are here as well: they are SQLite's and nobody else's.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeAlias, TypeVar

T = TypeVar("T")

#: the errors a database operation may raise (the CLI turns them into one line)
DatabaseError: TypeAlias = sqlite3.Error

_WRITER_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA busy_timeout=30000",
    "PRAGMA cache_size=-64000",
    "PRAGMA temp_store=MEMORY",
)
_READER_PRAGMAS = (
    "PRAGMA busy_timeout=30000",
    "PRAGMA cache_size=-64000",
    "PRAGMA query_only=ON",
)


def open_error(path: Path, exc: sqlite3.Error) -> str:
    """One line saying why a database cannot be opened, and what to check."""
    text = str(exc)
    if "readonly" in text or "read-only" in text or "unable to open" in text:
        return (f"cannot write the database {path}: {text} (ticketty needs write access to the"
                " file and its directory, for the -wal and -shm files; check their owner and"
                " permissions)")
    return f"cannot open the database {path}: {text}"


def is_read_only_error(exc: BaseException) -> bool:
    """Whether a failed write says the file became read-only while open."""
    return isinstance(exc, sqlite3.OperationalError) and "readonly" in str(exc)


def prepare_writer(conn: sqlite3.Connection, migrate: Callable[[sqlite3.Connection], Any] | None
                   ) -> None:
    """WAL and the writer's PRAGMAs; run the migrations; prove the file is writable.

    SQLite quietly opens a file it cannot write read-only; a write lock is what every writer
    needs, so taking one (and giving it back) is the true test, made now, not at the first write.
    """
    for pragma in _WRITER_PRAGMAS:
        conn.execute(pragma)
    if migrate is not None:
        migrate(conn)
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("ROLLBACK")


def prepare_reader(conn: sqlite3.Connection) -> None:
    """A read-only connection for paging: it can never take the write lock by mistake."""
    for pragma in _READER_PRAGMAS:
        conn.execute(pragma)


def data_version(conn: sqlite3.Connection) -> int:
    """A number that changes whenever *another* connection commits (no table is read)."""
    return conn.execute("PRAGMA data_version").fetchone()[0]


def checkpoint(conn: sqlite3.Connection) -> None:
    """Copy the WAL into the database file and empty it (best effort)."""
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()


def secure_delete(conn: sqlite3.Connection, on: bool) -> None:
    """Overwrite freed pages with zeros (per connection, so the caller turns it off again)."""
    conn.execute(f"PRAGMA secure_delete={'ON' if on else 'OFF'}")


def _settle(future: asyncio.Future[Any], result: Any, exc: BaseException | None) -> None:
    if future.done():  # the caller was cancelled meanwhile
        return
    if exc is not None:
        future.set_exception(exc)
    else:
        future.set_result(result)


class SqliteConnection:
    """One ``sqlite3`` connection (autocommit mode, ``Row`` rows) and its thread.

    ``await conn.run(fn, *args)`` calls ``fn(connection, *args)`` on the thread and returns its
    result; calls run one at a time, in the order they were made.
    """

    def __init__(self, path: Path, name: str = "ticketty-db") -> None:
        self.path = path
        self._conn: sqlite3.Connection | None = None
        self._jobs: queue.SimpleQueue[tuple[asyncio.Future[Any], Callable[[], Any]] | None] = \
            queue.SimpleQueue()
        self.thread = threading.Thread(target=self._serve, name=name)
        self._stopped = False

    # ---------------------------------------------------------------- the thread
    def _serve(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                break
            future, fn = job
            try:
                result, exc = fn(), None
            except BaseException as error:  # handed to the awaiting task
                result, exc = None, error
            with contextlib.suppress(RuntimeError):  # the loop closed: nobody is waiting
                future.get_loop().call_soon_threadsafe(_settle, future, result, exc)
        with contextlib.suppress(sqlite3.Error):  # stopped without close(): close it here
            self._close_connection()

    def _close_connection(self) -> None:
        """Close the ``sqlite3`` connection (on this connection's thread)."""
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()

    async def _call(self, fn: Callable[[], T]) -> T:
        if self._stopped:
            raise ValueError("the database connection is closed")
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._jobs.put((future, fn))
        return await future

    # ------------------------------------------------------------------- public
    async def open(self, prepare: Callable[[sqlite3.Connection], Any]) -> SqliteConnection:
        """Connect (on the thread) and run ``prepare(connection)``; raises ``sqlite3.Error``."""
        self.thread.start()

        def connect() -> None:
            conn = sqlite3.connect(str(self.path), isolation_level=None, timeout=30)
            self._conn = conn
            conn.row_factory = sqlite3.Row
            prepare(conn)

        await self._call(connect)
        return self

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """``fn(connection, *args, **kwargs)`` on this connection's thread."""
        def call() -> T:
            assert self._conn is not None, "the database connection is not open"
            return fn(self._conn, *args, **kwargs)

        return await self._call(call)

    async def close(self) -> None:
        """Close the connection and end the thread; returns once the connection is closed
        (SQLite has checkpointed and removed the WAL if it was the last one), after the calls
        queued before it."""
        if self._stopped:
            return
        if self.thread.ident is None:  # never opened: no thread to stop
            self._stopped = True
            return
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._jobs.put((done, self._close_connection))
        self.stop()
        await done

    def stop(self) -> None:
        """End the thread once the calls queued so far have run; never blocks. The connection
        is closed by the thread itself on its way out."""
        if not self._stopped:
            self._stopped = True
            self._jobs.put(None)
