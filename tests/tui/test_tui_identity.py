"""The TUI applies the identity rules of the CLI: the real uid's agent, or a one-line refusal
and exit 1 — never someone else's identity; --as for admins only (Pilot, and the real binary
in tmux)."""

from __future__ import annotations

import asyncio
import json
import os
import pwd
import shutil
import subprocess
import sys
import time
from datetime import UTC
from pathlib import Path

import pytest

from engine.config import Config
from engine.desk import ensure_first_admin
from engine.models import Agent
from engine.store import Store
from tui.app import TickettyApp

ME = pwd.getpwuid(os.getuid()).pw_name


async def seed(db: Path, *, admin_os_user: str, agents: list[Agent] = ()) -> None:
    async with Store(db) as store:
        await ensure_first_admin(store, "ada@example.com", "Ada Admin", os_user=admin_os_user)
        for agent in agents:
            await store.add_agent(agent)


async def exit_of(app: TickettyApp) -> tuple[int | None, str]:
    """Run the app headless until it exits by itself; its return code and exit message."""
    async with app.run_test() as pilot:
        deadline = time.monotonic() + 15
        while app.return_code is None and time.monotonic() < deadline:
            await pilot.pause(0.05)
    return app.return_code, app.exit_message or ""


async def test_an_os_user_without_agent_cannot_open_the_tui(db_path):
    await seed(db_path, admin_os_user="someone-else")
    app = TickettyApp(Config(), db_path, tz=UTC, run_channels=False)
    code, message = await exit_of(app)
    assert code == 1
    assert message.startswith(f"ticketty: error: OS user {ME!r} is not an agent")
    assert f"--os-user {ME}" in message
    assert app.agent is None


async def test_a_database_it_cannot_open_ends_the_tui_with_one_line(tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the data directory should be")
    app = TickettyApp(Config(), blocker / "desk.db", tz=UTC, run_channels=False)
    code, message = await exit_of(app)
    assert code == 1
    assert message.startswith(f"ticketty: error: cannot create the database {blocker}/desk.db")


async def test_as_in_the_tui_is_for_admins_only(db_path):
    await seed(db_path, admin_os_user="someone-else",
               agents=[Agent(email="bob@example.com", name="Bob", os_user=ME)])
    app = TickettyApp(Config(), db_path, agent_email="ada@example.com", tz=UTC,
                      run_channels=False)
    code, message = await exit_of(app)
    assert code == 1 and "--as ada@example.com is for admins only" in message
    assert app.agent is None


async def test_an_admin_works_on_behalf_in_the_tui(db_path):
    await seed(db_path, admin_os_user=ME, agents=[Agent(email="bob@example.com", name="Bob")])
    app = TickettyApp(Config(), db_path, agent_email="bob@example.com", tz=UTC,
                      run_channels=False)
    async with app.run_test() as pilot:
        deadline = time.monotonic() + 15
        while app.agent is None and time.monotonic() < deadline:
            await pilot.pause(0.05)
        assert app.agent.email == "bob@example.com"
        who = {"actor": "ada@example.com", "on_behalf_of": "bob@example.com"}
        assert app.desk.acting == who
        # a screen's direct store write is recorded the same way; the engine's own is not
        await app.store.add_canned("Hello", "Hello there")
        await app.engine.store.add_canned("Bye", "Bye now")
        events = await app.engine.store.read(lambda c: [
            json.loads(r[0]) for r in c.execute(
                "SELECT data FROM events WHERE kind='canned.saved' ORDER BY id")])
        assert [(e["title"], e.get("actor"), e.get("on_behalf_of")) for e in events] == [
            ("Hello", who["actor"], who["on_behalf_of"]), ("Bye", None, None)]


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
def test_the_real_tui_refuses_a_stranger_in_tmux(tmp_path, db_path):
    asyncio.run(seed(db_path, admin_os_user="someone-else"))
    ticketty = Path(sys.executable).with_name("ticketty")
    sock = f"ticketty-identity-{os.getpid()}"
    out = tmp_path / "out.txt"
    cmd = f"'{ticketty}' --db '{db_path}'; echo \"rc=$?\" > '{out}'"
    env = {**os.environ, "TERM": "xterm-256color"}
    subprocess.run(["tmux", "-L", sock, "-f", "/dev/null", "new-session", "-d", "-s", "t",
                    "-x", "250", "-y", "30", "bash", "--norc", "--noprofile", "-c",
                    f"{cmd}; sleep 30"], check=True, env=env, timeout=10)
    try:
        deadline = time.monotonic() + 20
        while not out.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        screen = subprocess.run(["tmux", "-L", sock, "capture-pane", "-p", "-t", "t"],
                                capture_output=True, text=True, timeout=10).stdout
    finally:
        subprocess.run(["tmux", "-L", sock, "kill-server"], capture_output=True, timeout=10)
    assert out.read_text().strip() == "rc=1"
    lines = [x for x in screen.splitlines() if "ticketty: error:" in x]
    assert len(lines) == 1 and f"ticketty: error: OS user {ME!r} is not an agent" in lines[0]
    assert f"--os-user {ME}" in lines[0]
