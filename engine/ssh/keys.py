"""Public keys and the host key of the SSH server.

A public key is read from OpenSSH text (``ssh-ed25519 AAAA… comment``, one per line as in
``~/.ssh/id_ed25519.pub`` or ``authorized_keys``) and known by its SHA-256 fingerprint, the
one ``ssh-keygen -lf`` prints. The host key is read from ``--host-key PATH`` if the file
exists (OpenSSH private key format), else generated there as Ed25519 with mode 0600.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import asyncssh

from engine.store.files import write_private


class BadKey(ValueError):
    """Text that is not a public key we accept (the message says why, in one line)."""


@dataclass(frozen=True)
class PublicKey:
    """One parsed public key: its canonical OpenSSH text, fingerprint and comment."""

    text: str
    fingerprint: str
    comment: str


def parse_public_keys(text: str, source: str = "-") -> list[PublicKey]:
    """Every key in ``text`` (blank lines and ``#`` comments skipped); a line that is not a
    key is an error naming ``source`` and the line number. Private keys are refused."""
    if "PRIVATE KEY" in text:
        raise BadKey(f"{source}: this is a private key; give the public one (.pub)")
    keys: list[PublicKey] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        try:
            key = asyncssh.import_public_key(line)
        except (asyncssh.KeyImportError, ValueError) as exc:
            raise BadKey(f"{source}:{number}: not an OpenSSH public key ({exc})") from None
        parts = line.split(None, 2)
        comment = parts[2] if len(parts) > 2 else ""
        canonical = key.export_public_key("openssh").decode().strip()
        keys.append(PublicKey(canonical, key.get_fingerprint("sha256"), comment))
    if not keys:
        raise BadKey(f"{source}: no public key in it")
    return keys


def fingerprint_of(key: asyncssh.SSHKey) -> str:
    """``SHA256:…`` of a key offered by a client."""
    return key.get_fingerprint("sha256")


def load_or_make_host_key(path: Path) -> tuple[asyncssh.SSHKey, bool]:
    """The host key at ``path`` (OpenSSH format); made there (Ed25519, 0600, in a 0700
    directory if it makes one) when the file does not exist. Returns (key, made)."""
    if path.exists():
        try:
            return asyncssh.read_private_key(str(path)), False
        except (asyncssh.KeyImportError, OSError) as exc:
            raise BadKey(f"--host-key {path}: cannot read it as an OpenSSH private key"
                            f" ({exc})") from None
    key = asyncssh.generate_private_key("ssh-ed25519", comment="ticketty host key")
    write_private(path, key.export_private_key("openssh"))
    return key, True
