"""Files only their owner can read: the data dir, the database, blobs, anything raw.

Customer mail, attachments and (encrypted) channel secrets live under the data dir, so
whatever ticketty creates there is private from the start — directories 0700, files 0600 —
set when the file is created (``os.open`` with a mode, not a ``chmod`` afterwards that leaves
a window). SQLite creates the database's ``-wal`` and ``-shm`` files with the database file's
own mode, so a 0600 database keeps them 0600 too. Existing files keep the mode they have: an
administrator who shares a database with a group on purpose is not overruled.
"""

from __future__ import annotations

import os
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600


def private_dir(path: Path) -> None:
    """Create ``path`` (and missing parents) if needed; the directories ticketty creates for
    itself are 0700 (parents it has to create on the way are too)."""
    missing: list[Path] = []
    p = path
    while not p.exists():
        missing.append(p)
        if p.parent == p:
            break
        p = p.parent
    for d in reversed(missing):
        try:
            d.mkdir(mode=DIR_MODE)
        except FileExistsError:
            continue
        os.chmod(d, DIR_MODE)  # mkdir's mode is reduced by the umask; 0700 is what we want


def create_private(path: Path) -> bool:
    """Create an empty 0600 file at ``path`` unless one exists; True when it was created."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        return False
    os.close(fd)
    return True


def write_private(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (a 0600 temporary file renamed into place)."""
    private_dir(path.parent)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
