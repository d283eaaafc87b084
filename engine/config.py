"""The TOML configuration, validated by pydantic. Errors name the file and the key."""

from __future__ import annotations

import tomllib
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from engine.ssh.settings import SshConfig


class ConfigError(Exception):
    """A config file that cannot be used; the message names the file and the key."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DatabaseConfig(_Section):
    path: str | None = None
    """Database file (default: the XDG data dir, or ``TICKETTY_DB``); a URL with a password
    in it (``postgresql://user:password@host/db``, later) makes the file hold a secret."""


class AgentConfig(_Section):
    email: str | None = None
    """Who is working in this TUI (default: the OS user's agent)."""


class EngineConfig(_Section):
    lease_seconds: float = Field(6.0, gt=0.5, le=60)
    """How long the channel runner's lease lasts without renewal (takeover delay)."""
    outbox_interval: float = Field(1.0, gt=0, le=60)
    """Seconds between outbox passes."""
    run_channels: bool = True
    """Whether this process may run the channels and the outbox (else it only follows)."""
    http_host: str = "127.0.0.1"
    """Address the web front door listens on (webhooks, chat, forms, the tickets API)."""
    http_port: int = Field(8780, ge=0, le=65535)
    """Port of the web front door (0: no HTTP server). Served by the runner-lease holder."""
    public_url: str | None = None
    """The address customers and platforms reach (``https://help.example.com``), used in
    embed codes and webhook URLs; default ``http://<http_host>:<http_port>``."""
    trusted_proxies: list[str] = Field(default_factory=list)
    """Addresses or networks (``127.0.0.1``, ``10.0.0.0/8``) whose ``X-Forwarded-For`` and
    ``X-Forwarded-Proto`` headers are believed; from anyone else they are ignored."""
    http_max_body: int = Field(1_048_576, ge=1024, le=1 << 30)
    """Largest request body in bytes (413 past it, checked while the body streams in)."""
    http_timeout: float = Field(30.0, gt=0, le=3600)
    """Seconds a request may take, body included (408 while receiving, 503 after)."""
    http_ip_rate: float = Field(600.0, ge=0)
    """Requests a minute one client address may make (0: no limit); 429 with Retry-After."""
    http_ip_burst: int = Field(100, ge=1)
    """Requests one address may make at once before ``http_ip_rate`` applies."""
    http_visitor_rate: float = Field(120.0, ge=0)
    """Requests a minute one visitor (a token or header a route names) may make (0: none)."""
    http_visitor_burst: int = Field(30, ge=1)
    """Requests one visitor may make at once before ``http_visitor_rate`` applies."""
    http_max_connections: int = Field(2000, ge=1)
    """Open HTTP and WebSocket connections at most (503 past it)."""
    parse_timeout: float = Field(60.0, gt=0, le=3600)
    """Seconds one mail may take to parse (in a worker process); a slower one is quarantined."""
    parse_memory_mb: int = Field(256, ge=64, le=65536)
    """Memory a parsing worker process may use; a mail that needs more is quarantined."""

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, v: str | None) -> str | None:
        if v is None or not v.strip():
            return None
        from urllib.parse import urlsplit

        v = v.strip().rstrip("/")
        parts = urlsplit(v)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"must be an http:// or https:// address, not {v!r}")
        return v

    @field_validator("trusted_proxies")
    @classmethod
    def _trusted_proxies(cls, v: list[str]) -> list[str]:
        import ipaddress

        for item in v:
            try:
                ipaddress.ip_network(item.strip(), strict=False)
            except ValueError:
                raise ValueError(f"{item!r} is not an IP address or network") from None
        return [item.strip() for item in v]

    def public_base(self) -> str:
        """``public_url``, or the address the front door listens on."""
        if self.public_url:
            return self.public_url
        host = f"[{self.http_host}]" if ":" in self.http_host else self.http_host
        return f"http://{host}:{self.http_port}"


class UIConfig(_Section):
    theme: str | None = None
    """Textual theme name (remembered when switched in the app)."""


class Config(_Section):
    database: DatabaseConfig = Field(default_factory=DatabaseConfig)
    agent: AgentConfig = Field(default_factory=AgentConfig)
    engine: EngineConfig = Field(default_factory=EngineConfig)
    ui: UIConfig = Field(default_factory=UIConfig)
    ssh: SshConfig = Field(default_factory=SshConfig)
    """The built-in SSH server (``ticketty serve ssh``; engine/ssh/settings.py)."""
    keymap: dict[str, str] = Field(default_factory=dict)
    """Binding id → key(s), e.g. ``"ticket.reply" = "R"`` (docs/keys.md)."""
    path: str | None = Field(default=None, exclude=True)


def user_config(path: str | Path | None = None) -> Config:
    """The config a command runs with: ``--config PATH`` (which must exist), else the default
    file (``~/.config/ticketty/config.toml``; missing means the defaults)."""
    if path:
        return load_config(path, required=True)
    from engine.paths import config_file

    return load_config(config_file())


def load_config(path: str | Path | None, required: bool = False) -> Config:
    """Read and validate a config file; a missing optional file gives the defaults."""
    if path is None:
        return Config()
    p = Path(path).expanduser()
    if not p.exists():
        if required:
            raise ConfigError(f"{p}: config file not found")
        return Config()
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{p}: not valid TOML: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{p}: cannot read: {exc}") from None
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(x) for x in first["loc"])
        raise ConfigError(f"{p}: key '{key}': {first['msg']}") from None
    config.path = str(p)
    if holds_secrets(config):
        from engine.vault import warn_if_exposed

        warn_if_exposed(p, "holds secrets")
    return config


def holds_secrets(config: Config) -> bool:
    """Whether a config carries a secret: a password in the database URL, or a value of a
    field declared secret (typed :data:`engine.vault.Secret`, see
    :func:`engine.vault.secret_fields`)."""
    from urllib.parse import urlsplit

    from engine.vault import secret_fields

    path = config.database.path or ""
    if "://" in path:
        try:
            if urlsplit(path).password:
                return True
        except ValueError:
            return True  # unparseable URL: assume the worst
    for section in (config.database, config.agent, config.engine, config.ui):
        if any(getattr(section, name) for name in secret_fields(type(section))):
            return True
    return False
