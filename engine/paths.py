"""Where ticketty keeps its data and config (XDG via platformdirs), in one small module."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP = "ticketty"


def data_dir() -> Path:
    return Path(platformdirs.user_data_dir(APP))


def config_file() -> Path:
    return Path(platformdirs.user_config_dir(APP)) / "config.toml"


def default_db(explicit: str | None = None) -> Path:
    """``--db`` wins, then ``TICKETTY_DB``, then the XDG data dir."""
    if explicit:
        return Path(explicit).expanduser()
    env = os.environ.get("TICKETTY_DB")
    if env:
        return Path(env).expanduser()
    return data_dir() / "ticketty.db"
