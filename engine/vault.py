"""Channel secrets at rest: encrypted in the database with a key kept outside it.

Which settings are secret is declared once, by their type on the kind's settings model:
:data:`Secret` (pydantic's ``SecretStr``: passwords, OAuth client secrets and refresh tokens,
API tokens). :func:`secret_fields` reads that type, and everything that treats secrets
differently goes through it: the store seals them when a channel is written
(:func:`seal_settings`), :func:`engine.channels.build_adapter` opens them when it builds an
adapter (:func:`open_settings`, which also keeps them out of the logs), ``--json`` and lists
mask them (:func:`redact`), forms show them as password fields
(:func:`engine.channels.setup.model_keys`). So a copy of the database alone reveals no
secret, and nothing else — lists, ``--json``, events, logs, a settings model's ``repr`` —
ever holds more than the sealed text or ``********``.

The key is a Fernet key (``cryptography``: AES-128-CBC + HMAC-SHA256, authenticated):
``TICKETTY_SECRET_KEY`` if set, else ``secrets.key`` in the config dir, created 0600 the first
time a secret is sealed. A sealed value reads ``fernet:<token>``. Losing the key loses the
secrets (not the desk): re-enter them with ``ticketty channels edit NAME --set KEY=VALUE``.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import logging
import os
import stat
import sys
import types
import typing
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Annotated, Any

import platformdirs
from pydantic import Field, PlainSerializer, SecretStr

PREFIX = "fernet:"
ENV = "TICKETTY_SECRET_KEY"
MASK = "********"
#: only for a kind no registry entry describes (a database from a newer version): key names
#: that may hold secrets, so such settings are still sealed and masked
SECRET_HINTS = ("password", "secret", "token")


class SecretError(ValueError):
    """A secret cannot be sealed or opened; the message names the channel and the fix."""


# ------------------------------------------------------------------- which keys are secret
def reveal(value: SecretStr | str) -> str:
    """The plain text of a secret setting, for the one call that needs it (a login). A plain
    ``str`` passes through (a model copied with ``model_copy(update=…)`` is not validated)."""
    return value.get_secret_value() if isinstance(value, SecretStr) else value


#: The type of a secret setting: a ``SecretStr`` (``********`` in ``repr`` and logs; the code
#: that uses it calls ``get_secret_value()``) whose JSON form is the plain value, so
#: ``model_dump(mode="json")`` hands the store what it seals. Its default is validated too,
#: so an unset secret is ``SecretStr("")``, never a plain ``str``.
Secret = Annotated[SecretStr, PlainSerializer(reveal, return_type=str, when_used="json"),
                   Field(validate_default=True)]


#: the default of a secret setting nobody entered
NO_SECRET = SecretStr("")


def _is_secret_type(annotation: Any) -> bool:
    if annotation is SecretStr:
        return True
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):  # Secret | None
        return any(_is_secret_type(a) for a in typing.get_args(annotation))
    return False


def secret_fields(model: Any) -> frozenset[str]:
    """The fields a settings model (or config section) declares secret: typed :data:`Secret`
    (``SecretStr``)."""
    return frozenset(name for name, f in model.model_fields.items()
                     if _is_secret_type(f.annotation))


def _by_hint(key: str) -> bool:
    return any(h in key for h in SECRET_HINTS) and not key.endswith(("_url", "_host", "_port"))


@cache
def _declared(kind: str) -> frozenset[str] | None:
    from engine.channels.registry import REGISTRY, settings_model

    if kind not in REGISTRY:
        return None
    return secret_fields(settings_model(kind))


def is_secret(kind: str, key: str) -> bool:
    """Whether setting ``key`` of a ``kind`` channel is a secret."""
    declared = _declared(kind)
    return key in declared if declared is not None else _by_hint(key)


def redact(kind: str, settings: Mapping[str, Any]) -> dict[str, Any]:
    """Settings fit to show (``--json``, lists): every non-empty secret is ``********``."""
    return {k: (MASK if v and is_secret(kind, k) else v) for k, v in settings.items()}


def is_sealed(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(PREFIX)


# ---------------------------------------------------------------------------------- key
def key_path() -> Path:
    return Path(platformdirs.user_config_dir("ticketty")) / "secrets.key"


class Vault:
    """Seals and opens secret values with the key of this machine (env or ``secrets.key``)."""

    def __init__(self, path: Path | None = None) -> None:
        self._path = path

    @property
    def path(self) -> Path:
        return self._path or key_path()

    def where(self) -> str:
        """Where the key comes from, for messages."""
        return ENV if os.environ.get(ENV) else str(self.path)

    def _fernet(self, create: bool) -> Any:
        from cryptography.fernet import Fernet

        env = os.environ.get(ENV, "").strip()
        if env:
            return _fernet_of(env, ENV)
        path = self.path
        if not path.exists():
            if not create:
                return None
            _create_key(path, Fernet.generate_key())
        warn_if_exposed(path, "holds the key of the channel secrets")
        try:
            text = path.read_text(encoding="ascii").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise SecretError(f"cannot read the secrets key {path}: {exc}") from None
        return _fernet_of(text, str(path))

    def seal(self, value: str) -> str:
        """``value`` encrypted (``fernet:…``); the key is made on first use."""
        return PREFIX + self._fernet(create=True).encrypt(value.encode()).decode("ascii")

    def open(self, value: str) -> str:
        """The plain text of a sealed value; raises ``LookupError`` (no key) or
        ``cryptography.fernet.InvalidToken`` (another key, or damaged text)."""
        fernet = self._fernet(create=False)
        if fernet is None:
            raise LookupError(self.where())
        return fernet.decrypt(value[len(PREFIX):].encode("ascii")).decode()


@cache
def _fernet_of(text: str, source: str) -> Any:
    from cryptography.fernet import Fernet

    try:
        if len(base64.urlsafe_b64decode(text.encode("ascii"))) != 32:
            raise ValueError("not 32 bytes")
        return Fernet(text.encode("ascii"))
    except (ValueError, binascii.Error, UnicodeEncodeError):
        raise SecretError(f"{source} is not a secrets key (44 characters of URL-safe base64,"
                          " 32 bytes)") from None


def _create_key(path: Path, key: bytes) -> None:
    """Write a new key 0600 (in a 0700 directory) without ever exposing a partial file:
    a temporary file linked into place, so two processes racing agree on one key."""
    from engine.store.files import private_dir

    private_dir(path.parent)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(key + b"\n")
            fh.flush()
            os.fsync(fh.fileno())
        with contextlib.suppress(FileExistsError):  # another process made one first: use it
            os.link(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


_warned: set[str] = set()


def warn_if_exposed(path: Path, what: str) -> None:
    """One stderr line (once per file) when a file holding secrets is group/world-readable."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return
    if mode & (stat.S_IRWXG | stat.S_IRWXO) and str(path) not in _warned:
        _warned.add(str(path))
        print(f"ticketty: warning: {path} {what} and is readable by others"
              f" (mode {stat.S_IMODE(mode):03o}): chmod 600 {path}", file=sys.stderr)


# ----------------------------------------------------------------------- whole settings
def seal_settings(kind: str, settings: Mapping[str, Any], vault: Vault) -> dict[str, Any]:
    """``settings`` with every plain, non-empty secret sealed (sealed ones are kept)."""
    out = dict(settings)
    for key, value in settings.items():
        if value and isinstance(value, str) and not is_sealed(value) and is_secret(kind, key):
            out[key] = vault.seal(value)
    return out


def open_settings(channel: Any, vault: Vault | None = None) -> dict[str, Any]:
    """A channel's settings with its secrets in plain text, for the adapter that uses them.
    Raises :class:`SecretError` naming the channel, the setting and the fix."""
    from cryptography.fernet import InvalidToken

    vault = vault or Vault()
    out = dict(channel.settings)
    for key, value in channel.settings.items():
        if not is_sealed(value):
            if value and isinstance(value, str) and is_secret(channel.kind, key):
                keep_out_of_logs(value)  # typed in just now (a connection test): same rule
            continue
        again = f"or enter it again: ticketty channels edit {channel.name!r} --set {key}=…"
        try:
            out[key] = vault.open(value)
            keep_out_of_logs(out[key])
        except LookupError:
            raise SecretError(
                f"channel {channel.name!r}: cannot decrypt {key}: no secrets key ({vault.path}"
                f" is missing and {ENV} is unset); restore the key file it was sealed with,"
                f" {again}") from None
        except SecretError:  # the key itself is unusable: that message says why
            raise
        except (InvalidToken, ValueError):  # another key, or damaged sealed text
            raise SecretError(
                f"channel {channel.name!r}: cannot decrypt {key} with the key from"
                f" {vault.where()} (not the key it was sealed with); restore that key,"
                f" {again}") from None
    return out


# ------------------------------------------------------------------------ out of the logs
_revealed: set[str] = set()
_forms: list[str] = []  # every written form of every revealed secret, longest first
_installed = False


def keep_out_of_logs(secret: str) -> None:
    """From now on, log records of this process show ``********`` wherever ``secret`` (or the
    quoted/escaped form a protocol library logs it in) would appear."""
    global _installed
    if len(secret) < 4 or secret in _revealed:
        return  # too short to tell apart from ordinary text
    _revealed.add(secret)
    quoted = secret.replace("\\", "\\\\").replace('"', '\\"')  # IMAP quoted string
    forms = {secret, quoted, repr(secret)[1:-1], repr(quoted)[1:-1], repr(quoted.encode())[2:-1],
             repr(secret.encode())[2:-1]}
    _forms.extend(f for f in forms if f and f not in _forms)
    _forms.sort(key=len, reverse=True)
    if not _installed:
        _installed = True
        base = logging.getLogRecordFactory()

        def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            return _redact_record(base(*args, **kwargs))

        logging.setLogRecordFactory(factory)


def scrub(text: str) -> str:
    """``text`` with every revealed secret replaced by ``********``."""
    for form in _forms:
        if form in text:
            text = text.replace(form, MASK)
    return text


def _redact_record(record: logging.LogRecord) -> logging.LogRecord:
    try:
        message = record.getMessage()
    except Exception:  # a broken record is logging's to report, not ours
        return record
    clean = scrub(message)
    if clean != message:
        record.msg, record.args = clean, None
    if record.exc_info and not record.exc_text:
        text = logging.Formatter().formatException(record.exc_info)
        record.exc_text = scrub(text)
    return record
