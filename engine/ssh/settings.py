"""``[ssh]``: the SSH server's settings (docs/configuration.md)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class SshConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    listen: str = "0.0.0.0:2222"
    """Address and port ``ticketty serve ssh`` listens on (``--listen`` overrides it)."""
    host_key: str | None = None
    """The server's host key (OpenSSH format); made 0600 there if missing. Default:
    ``ssh_host_ed25519_key`` next to the database (``--host-key`` overrides it)."""
    idle_timeout: float = Field(3600.0, ge=0)
    """Seconds without a key press after which a session is closed (0: never)."""
    max_sessions: int = Field(50, ge=1)
    """Concurrent sessions at most; one more is told the desk is full and closed."""
    login_timeout: float = Field(30.0, gt=0)
    """Seconds a client has to authenticate."""


def parse_listen(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:2222`` for IPv6, ``:2222`` for every address) → (host, port)."""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"--listen must be HOST:PORT (e.g. 0.0.0.0:2222), not {text!r}")
    return host.strip("[]") or "0.0.0.0", int(port)
