"""The TOML configuration, validated by pydantic. Errors name the file and the key."""

from __future__ import annotations

import tomllib
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError


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
    """Address of the HTTP server (webhooks, chat, forms, API)."""
    http_port: int = Field(0, ge=0, le=65535)
    """Port of the HTTP server (0: no server)."""
    parse_timeout: float = Field(60.0, gt=0, le=3600)
    """Seconds one mail may take to parse (in a worker process); a slower one is quarantined."""
    parse_memory_mb: int = Field(256, ge=64, le=65536)
    """Memory a parsing worker process may use; a mail that needs more is quarantined."""


class UIConfig(_Section):
    theme: str | None = None
    """Textual theme name (remembered when switched in the app)."""


class Config(_Section):
    database: DatabaseConfig = Field(default_factory=DatabaseConfig)
    agent: AgentConfig = Field(default_factory=AgentConfig)
    engine: EngineConfig = Field(default_factory=EngineConfig)
    ui: UIConfig = Field(default_factory=UIConfig)
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
