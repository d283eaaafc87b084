"""``ticketty demo --ssh PORT``: the demo desk over SSH, to try it as a team.

The local user's public keys (``~/.ssh/*.pub`` of the real uid's home) are let in, and —
unlike a real desk, where the key alone decides — each login picks the demo agent it works as
by its SSH user name: ``ssh -p PORT omar@localhost`` is Omar Haddad (an agent's email, the
part before the ``@``, or a first name; anything else is you, the demo's admin). So two
terminals with the same key can be two colleagues on the same ticket. Keys an admin added
with ``ticketty agents keys add`` still decide their agent as usual.
"""

from __future__ import annotations

import logging
import os
import pwd
from pathlib import Path

from engine.models import Agent
from engine.ssh.keys import BadKey, load_or_make_host_key, parse_public_keys
from engine.ssh.server import SshServer
from engine.ssh.settings import SshConfig
from engine.store import Store

log = logging.getLogger("ticketty.ssh")


def local_public_keys(home: Path | None = None) -> dict[str, str]:
    """Fingerprint → file of every public key in ``~/.ssh/*.pub`` (unreadable ones skipped)."""
    home = home or Path(pwd.getpwuid(os.getuid()).pw_dir)
    found: dict[str, str] = {}
    for path in sorted((home / ".ssh").glob("*.pub")):
        try:
            for key in parse_public_keys(path.read_text(), str(path)):
                found[key.fingerprint] = path.name
        except (OSError, UnicodeDecodeError, BadKey) as exc:
            log.info("demo ssh: skipped %s (%s)", path, exc)
    return found


def pick_agent(agents: list[Agent], username: str, you: str) -> Agent | None:
    """The demo agent a login's user name names (see the module docstring)."""
    wanted = username.strip().lower()
    for agent in agents:
        first = agent.name.split()[0].lower() if agent.name.split() else ""
        if wanted in (agent.email, agent.email.split("@")[0], first):
            return agent
    return next((a for a in agents if a.email == you), None)


async def start_demo_ssh(store: Store, db: Path, port: int, you: str,
                         home: Path | None = None) -> tuple[SshServer, dict[str, str]]:
    """Start the demo's SSH server on ``port`` (127.0.0.1 and every address); returns it
    and the local keys it lets in (fingerprint → file)."""
    keys = local_public_keys(home)

    async def agent_for(fingerprint: str, username: str) -> Agent | None:
        if fingerprint in keys:
            return pick_agent(await store.agents(), username, you)
        return await store.agent_for_key(fingerprint)

    host_key, _ = load_or_make_host_key(db.parent / "ssh_host_ed25519_key")
    server = SshServer(store, db, host_key, SshConfig(idle_timeout=0), host="0.0.0.0",
                       port=port, agent_for=agent_for)
    await server.start()
    log.info("demo ssh on port %d; keys let in: %s", server.port,
             ", ".join(sorted(set(keys.values()))) or "none (~/.ssh/*.pub)")
    return server, keys
