"""An SSH server on a seeded desk (the TUI tests' seed), in this test's event loop; each
session's TUI is a real ``ticketty`` process under a PTY."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from engine.ssh.keys import load_or_make_host_key
from engine.ssh.server import SshServer
from engine.ssh.settings import SshConfig
from engine.store import Store
from tests.helpers.seeding import copy_db
from tests.helpers.ssh import new_key


@pytest.fixture(scope="session")
def ssh_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import asyncio

    from tests.tui.conftest import seed

    path = tmp_path_factory.mktemp("ssh-template") / "seed.db"
    asyncio.run(seed(path))
    return path


@pytest.fixture
async def desk(ssh_template: Path, tmp_path: Path) -> AsyncIterator[dict]:
    """``{"server", "store", "db", "keys": {email: key}}`` — Bob and Ada have a key each."""
    db = copy_db(ssh_template, tmp_path)
    keys = {"bob@example.com": new_key(), "ada@example.com": new_key()}
    host_key, _ = load_or_make_host_key(tmp_path / "host_key")
    async with Store(db) as store:
        for email, key in keys.items():
            await store.add_agent_key(email, key.get_fingerprint("sha256"),
                                      key.export_public_key().decode().strip())
        settings = SshConfig(max_sessions=3, idle_timeout=0)
        async with SshServer(store, db, host_key, settings, host="127.0.0.1", port=0) as server:
            yield {"server": server, "store": store, "db": db, "keys": keys}
