"""Files: private from creation (0700 dirs, 0600 files), a warning for exposed secrets, and a
database that cannot be written failing at once instead of hanging."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from engine.desk import ensure_first_admin
from engine.ingest import ingest
from engine.models import InboundAttachment, InboundMessage
from engine.store import Store

BIN = str(Path(sys.executable).parent / "ticketty")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def loose_umask():
    """The umask most desktops run with: new files 0644, directories 0755."""
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


async def test_database_wal_shm_and_blobs_are_0600_in_0700_dirs(tmp_path, loose_umask):
    db = tmp_path / "new" / "place" / "desk.db"
    async with Store(db) as store:
        await ensure_first_admin(store, "admin@example.com", "Ada Admin")
        await ingest(store, InboundMessage(
            channel_id=None, key="k1", sender="c@example.com", subject="file",
            attachments=[InboundAttachment(filename="a.txt", data=b"private bytes")]))
        for suffix in ("-wal", "-shm"):
            assert mode(Path(f"{db}{suffix}")) == 0o600, suffix
        assert mode(db) == 0o600
        assert mode(db.parent) == 0o700 and mode(db.parent.parent) == 0o700
        blobs = [p for p in store.blob_dir.rglob("*")]
        assert blobs, "the attachment was stored"
        for p in [store.blob_dir, *blobs]:
            assert mode(p) == (0o700 if p.is_dir() else 0o600), p


def test_default_data_dir_is_created_0700(tmp_path):
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path / "xdg-data"),
           "XDG_CONFIG_HOME": str(tmp_path / "xdg-config")}
    proc = subprocess.run([BIN, "tickets", "list"], capture_output=True, text=True, env=env,
                          timeout=60, preexec_fn=lambda: os.umask(0o022))
    assert proc.returncode == 0, proc.stderr
    data_dir = tmp_path / "xdg-data" / "ticketty"
    assert mode(data_dir) == 0o700
    assert mode(data_dir / "ticketty.db") == 0o600


def test_a_config_holding_a_secret_readable_by_others_warns(tmp_path, db_path):
    cfg = tmp_path / "config.toml"
    cfg.write_text('[database]\npath = "postgresql://ticketty:s3cret@db.example/ticketty"\n')
    cfg.chmod(0o644)
    proc = subprocess.run([BIN, "--config", str(cfg), "--db", str(db_path), "tickets", "list"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    warning = [x for x in proc.stderr.splitlines() if "warning" in x]
    assert len(warning) == 1 and str(cfg) in warning[0] and f"chmod 600 {cfg}" in warning[0]
    assert "s3cret" not in proc.stderr
    cfg.chmod(0o600)
    proc = subprocess.run([BIN, "--config", str(cfg), "--db", str(db_path), "tickets", "list"],
                          capture_output=True, text=True, timeout=60)
    assert "warning" not in proc.stderr
    plain = tmp_path / "plain.toml"  # no secret in it: no warning, whatever its mode
    plain.write_text("[ui]\ntheme = 'nord'\n")
    plain.chmod(0o644)
    proc = subprocess.run([BIN, "--config", str(plain), "--db", str(db_path), "tickets", "list"],
                          capture_output=True, text=True, timeout=60)
    assert "warning" not in proc.stderr


def _unprivileged() -> list[str]:
    """A prefix that runs a command without root's power to write any file (the tests run as
    root in CI): the capabilities that bypass file modes are dropped."""
    if os.geteuid() != 0:
        return []
    if shutil.which("setpriv") is None:
        pytest.skip("setpriv (util-linux) is needed to drop root's file-override capabilities")
    return ["setpriv", "--bounding-set", "-dac_override,-dac_read_search", "--"]


@pytest.mark.parametrize("what", ["file", "directory"])
def test_a_database_that_cannot_be_written_fails_at_once(tmp_path, db_path, what):
    """A write command on a read-only database file, or in a read-only directory (no room for
    -wal/-shm): one line and exit 1 at once — it used to print SQLite's message and hang."""
    created = subprocess.run([BIN, "--db", str(db_path), "tickets", "list"], capture_output=True,
                             text=True, timeout=60)
    assert created.returncode == 0, created.stderr
    target = db_path if what == "file" else db_path.parent
    target.chmod(0o444 if what == "file" else 0o555)
    try:
        proc = subprocess.run([*_unprivileged(), BIN, "--db", str(db_path), "tickets", "create",
                               "--subject", "x", "--from", "c@example.com"],
                              capture_output=True, text=True, timeout=15)
    finally:
        target.chmod(0o644 if what == "file" else 0o755)
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith(f"ticketty: error: cannot write the database {db_path}")
