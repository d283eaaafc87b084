"""``ticketty demo --ssh PORT``: the local user's keys log in as the demo agent their SSH user
name picks; other keys still need to be an agent's."""

from __future__ import annotations

import subprocess

import asyncssh
import pytest

from engine.ssh.demo import start_demo_ssh
from engine.store import Store
from tests.helpers.seeding import copy_db
from tests.helpers.ssh import Terminal, new_key, poll


async def test_local_keys_pick_their_demo_agent_by_user_name(ssh_template, tmp_path):
    db = copy_db(ssh_template, tmp_path)
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    mine = new_key()
    (home / ".ssh" / "id_ed25519.pub").write_bytes(mine.export_public_key())
    (home / ".ssh" / "broken.pub").write_text("not a key\n")
    async with Store(db) as store:
        server, keys = await start_demo_ssh(store, db, 0, "ada@example.com", home=home)
        try:
            assert keys == {mine.get_fingerprint("sha256"): "id_ed25519.pub"}
            bob = await Terminal.open(server.port, mine, username="bob")
            carol = await Terminal.open(server.port, mine, username="Carol")
            anyone = await Terminal.open(server.port, mine, username="nobody-here")
            await bob.wait_for("Bob Builder <bob@example.com>")
            await carol.wait_for("Carol Chen <carol@example.com>")
            await anyone.wait_for("Ada Admin <ada@example.com>")
            # both colleagues see each other online, then on the same ticket
            await bob.wait_for("online: ")
            await bob.wait_for("Carol Chen")
            bob.send("\r")
            await bob.wait_for("It is still smoking")
            carol.send("\r")
            await carol.wait_for("Bob Builder is viewing")
            bob.send("r")
            await carol.wait_for("Bob Builder is replying…")
            # carol starts a reply, bob sends his first: carol's send is held, then confirmed
            carol.send("r")
            await carol.wait_for("Reply to")
            carol.send("Carol here")
            bob.send("Bob here")
            await bob.wait_for("Bob here")
            bob.send("\x13")  # ctrl+s

            async def bob_sent() -> bool:
                return any(m.text == "Bob here" for m in await store.messages(1))

            assert await poll(bob_sent, limit=20)
            carol.send("\x13")
            await carol.wait_for("Not sent — the ticket changed since you started")
            await carol.wait_for("Bob Builder replied")
            carol.send("\x13")  # the same key again: sent
            await carol.wait_for("Reply queued on #1")
            for term in (bob, carol, anyone):
                await term.close()
            with pytest.raises(asyncssh.PermissionDenied):
                await Terminal.open(server.port, new_key(), username="bob")
        finally:
            await server.stop()


def test_headless_demo_with_ssh_says_how_to_connect(tmp_path):
    from tests.helpers.cli import BIN

    out = subprocess.run([BIN, "demo", "--headless", "--seconds", "1", "--ssh", "0", "--db",
                          str(tmp_path / "demo.db")], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "demo ssh: ssh -p " in out.stdout and "omar@localhost" in out.stdout
