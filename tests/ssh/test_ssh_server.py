"""The built-in SSH server: a key logs in as its agent and drives the full TUI (screen read
through pyte), resizes, disconnects cleanly; wrong keys, commands and client environment
change nothing."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from pathlib import Path

import asyncssh
import pytest

from tests.helpers.ssh import Terminal, new_key, poll


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie waiting to be reaped counts as gone
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


async def _gone(pid: int) -> None:
    async def gone() -> bool:
        return not _alive(pid)

    assert await poll(gone), f"session process {pid} still running"


async def test_a_key_logs_in_as_its_agent_drives_the_tui_resizes_and_disconnects(desk):
    server, store = desk["server"], desk["store"]
    term = await Terminal.open(server.port, desk["keys"]["bob@example.com"],
                               username="ada@example.com")  # the user name decides nothing
    await term.wait_for("Bob Builder <bob@example.com>")
    (session,) = server.sessions
    pid = session.tui.pid
    assert session.agent.email == "bob@example.com"
    await term.wait_for("Printer on fire")
    term.send("\r")  # enter: open the ticket under the cursor
    await term.wait_for("It is still smoking")
    # presence of the SSH session reaches the store
    everyone = await store.presence(time.time())
    assert [(p.agent_email, p.via, p.state) for p in everyone] == [
        ("bob@example.com", "ssh", "viewing")]
    # a resize repaints at the new size: the status bar moves to the new last line
    term.resize(140, 40)
    await term.wait_for("#1 · ")

    async def moved() -> bool:
        return "#1 · " in term.display()[38]

    assert await poll(moved), term.text()
    await term.close()
    await _gone(pid)
    assert not server.sessions

    async def left() -> bool:
        return await store.presence(time.time()) == []

    assert await poll(left, limit=3)  # it left at once (its TTL would take longer)


async def test_quitting_the_tui_closes_the_connection(desk):
    term = await Terminal.open(desk["server"].port, desk["keys"]["ada@example.com"])
    await term.wait_for("Ada Admin <ada@example.com>")
    pid = next(iter(desk["server"].sessions)).tui.pid
    term.send("q")
    await asyncio.wait_for(term.proc.wait_closed(), 15)
    assert term.proc.exit_status == 0
    await _gone(pid)
    await term.close()


async def test_an_unknown_key_is_refused_with_a_log_line(desk, caplog):
    caplog.set_level(logging.INFO, "ticketty.ssh")
    stranger = new_key()
    with pytest.raises(asyncssh.PermissionDenied):
        await Terminal.open(desk["server"].port, stranger, username="bob@example.com")
    assert any(f"refused key {stranger.get_fingerprint('sha256')}" in r.getMessage()
               and "no agent has it" in r.getMessage() for r in caplog.records)
    assert not desk["server"].sessions


async def test_a_command_or_sftp_is_refused_and_no_session_starts(desk):
    key = desk["keys"]["bob@example.com"]
    async with asyncssh.connect("127.0.0.1", desk["server"].port, username="bob",
                                client_keys=[key], known_hosts=None, agent_path=None) as conn:
        with pytest.raises(asyncssh.ChannelOpenError):
            await conn.run("cat /etc/passwd", check=False)
        with pytest.raises((asyncssh.ChannelOpenError, asyncssh.SFTPError)):
            await conn.start_sftp_client()
        with pytest.raises(asyncssh.ChannelOpenError):
            await conn.create_connection(asyncssh.SSHTCPSession, "127.0.0.1", 22)
    assert not desk["server"].sessions


async def test_client_environment_never_reaches_the_session(desk):
    term = await Terminal.open(
        desk["server"].port, desk["keys"]["bob@example.com"],
        env={"TICKETTY_DB": "/tmp/elsewhere.db", "LD_PRELOAD": "/tmp/evil.so",
             "COLORTERM": "truecolor", "XDG_DATA_HOME": "/tmp/evil"}, term="screen-256color")
    await term.wait_for("Bob Builder <bob@example.com>")
    (session,) = desk["server"].sessions
    raw = await asyncio.to_thread(Path(f"/proc/{session.tui.pid}/environ").read_bytes)
    env = dict(v.split(b"=", 1) for v in raw.split(b"\0") if b"=" in v)
    assert b"LD_PRELOAD" not in env and env.get(b"TICKETTY_DB") != b"/tmp/elsewhere.db"
    assert env.get(b"XDG_DATA_HOME") != b"/tmp/evil"
    assert env[b"TERM"] == b"screen-256color" and env[b"COLORTERM"] == b"truecolor"
    await term.close()


async def test_sessions_beyond_the_cap_are_told_the_desk_is_full(desk):
    key = desk["keys"]["ada@example.com"]
    terms = [await Terminal.open(desk["server"].port, key) for _ in range(3)]
    for term in terms:
        await term.wait_for("Ada Admin <ada@example.com>")
    extra = await Terminal.open(desk["server"].port, key)
    await extra.wait_for("The desk is full")
    await asyncio.wait_for(extra.proc.wait_closed(), 10)
    assert extra.proc.exit_status == 1 and len(desk["server"].sessions) == 3
    for term in [*terms, extra]:
        await term.close()


async def test_an_idle_session_is_closed_after_idle_timeout(desk):
    from engine.ssh.server import SshServer
    from engine.ssh.settings import SshConfig

    server = desk["server"]
    settings = SshConfig(idle_timeout=1.5)
    async with SshServer(desk["store"], desk["db"], server.host_key, settings,
                         host="127.0.0.1", port=0) as idle:
        term = await Terminal.open(idle.port, desk["keys"]["bob@example.com"])

        async def started() -> bool:
            return any(s.tui is not None and s.tui.pid for s in idle.sessions)

        assert await poll(started)  # no key pressed from here on (on a busy machine the
        pid = next(iter(idle.sessions)).tui.pid  # limit may pass before the first paint)
        await term.wait_for("Closed after 1.5 s without a key", limit=15)
        await asyncio.wait_for(term.proc.wait_closed(), 10)
        await _gone(pid)
        await term.close()
