"""``ticketty agents keys add|list|remove`` and ``ticketty serve ssh`` from the shell."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess

from engine.desk import ensure_first_admin
from engine.models import Agent
from engine.store import Store
from tests.helpers.cli import BIN, run_cli


async def _seed(db, *, admin_os_user=None):
    async with Store(db) as store:
        await ensure_first_admin(store, "ada@example.com", "Ada Admin", os_user=admin_os_user)
        await store.add_agent(Agent(email="bob@example.com", name="Bob"))


def _keygen(path):
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "bob laptop", "-f",
                    str(path)], check=True)
    out = subprocess.run(["ssh-keygen", "-lf", f"{path}.pub"], capture_output=True, text=True)
    return out.stdout.split()[1]  # SHA256:…


def test_keys_add_list_remove_and_the_errors(tmp_path):
    db = tmp_path / "t.db"
    asyncio.run(_seed(db))
    fingerprint = _keygen(tmp_path / "bob")
    added = run_cli(db, "agents", "keys", "add", "bob@example.com", str(tmp_path / "bob.pub"))
    assert added.returncode == 0 and fingerprint in added.stdout, added.stderr
    listed = run_cli(db, "agents", "keys", "list", "bob@example.com", "--json")
    assert f'"fingerprint": "{fingerprint}"' in listed.stdout and "bob laptop" in listed.stdout
    # one key is one agent; a private key or garbage is refused in one line
    again = subprocess.run([BIN, "--db", str(db), "agents", "keys", "add", "ada@example.com",
                            "-"], input=(tmp_path / "bob.pub").read_text(),
                           capture_output=True, text=True)
    assert again.returncode == 1 and "already bob@example.com's" in again.stderr
    private = run_cli(db, "agents", "keys", "add", "bob@example.com", str(tmp_path / "bob"))
    assert private.returncode == 1 and "private key" in private.stderr
    (tmp_path / "junk.pub").write_text("ssh-ed25519 notbase64 x\n")
    junk = run_cli(db, "agents", "keys", "add", "bob@example.com", str(tmp_path / "junk.pub"))
    assert junk.returncode == 1 and "junk.pub:1: not an OpenSSH public key" in junk.stderr
    removed = run_cli(db, "agents", "keys", "remove", "bob@example.com", fingerprint)
    assert removed.returncode == 0
    assert "has no SSH key" in run_cli(db, "agents", "keys", "list", "bob@example.com").stdout


def test_an_agent_adds_their_own_key_but_not_anyone_elses(tmp_path):
    from engine.identity import os_user

    db = tmp_path / "t.db"
    asyncio.run(_seed(db, admin_os_user="someone-else"))
    asyncio.run(_map_bob(db, os_user().login))
    _keygen(tmp_path / "k")
    own = run_cli(db, "agents", "keys", "add", "me", str(tmp_path / "k.pub"))
    assert own.returncode == 0, own.stderr
    other = run_cli(db, "agents", "keys", "add", "ada@example.com", str(tmp_path / "k.pub"))
    assert other.returncode == 1 and "for admins only" in other.stderr


async def _map_bob(db, login):
    async with Store(db) as store:
        await store.update_agent("bob@example.com", os_user=login)


def test_serve_ssh_makes_a_0600_host_key_prints_its_fingerprint_and_reuses_it(tmp_path):
    db = tmp_path / "t.db"
    asyncio.run(_seed(db))
    key = tmp_path / "keys" / "host"
    fingerprints = []
    for _ in range(2):
        proc = subprocess.Popen([BIN, "--db", str(db), "serve", "ssh", "--listen",
                                 "127.0.0.1:0", "--host-key", str(key)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            line = proc.stdout.readline()
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(20)
        assert line.startswith("ticketty ssh: listening on 127.0.0.1:"), proc.stderr.read()
        fingerprints.append(line.split("host key ")[1].split()[0])
        assert proc.returncode == 0
    assert fingerprints[0] == fingerprints[1]
    assert os.stat(key).st_mode & 0o777 == 0o600
    out = subprocess.run(["ssh-keygen", "-lf", str(key)], capture_output=True, text=True)
    assert out.stdout.split()[1] == fingerprints[0]
    bad = run_cli(db, "serve", "ssh", "--listen", "nowhere")
    assert bad.returncode != 0 and "--listen" in bad.stderr



def test_serve_ssh_uses_an_existing_openssh_host_key(tmp_path):
    db = tmp_path / "t.db"
    asyncio.run(_seed(db))
    key = tmp_path / "ssh_host_ed25519_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    want = subprocess.run(["ssh-keygen", "-lf", str(key)], capture_output=True,
                          text=True).stdout.split()[1]
    proc = subprocess.Popen([BIN, "--db", str(db), "serve", "ssh", "--listen", "127.0.0.1:0",
                             "--host-key", str(key)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(20)
    assert f"host key {want} ({key})" in line, line
