"""How the CLI reports errors: one ``ticketty: error: …`` line each, or JSON with ``--json``.

Every error a command meets ends here. A pydantic validation error becomes one
``<field>: <reason>`` line per problem (never pydantic's multi-line dump); a usage error
(unknown flag, bad value for a flag) prints the usage of the (sub)command that was typed, then
its line. With ``--json`` anywhere on the command line, each error is instead one JSON object on
stderr: ``{"error": "...", "exit": N}`` — scripts read one format, whatever went wrong.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Callable, Sequence
from typing import NoReturn, TypeVar

from engine.cli.common import CLIError

T = TypeVar("T")


class FieldError(CLIError):
    """A bad value for one field or flag: printed as ``<field>: <reason>``."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class UsageError(Exception):
    """The command line itself is wrong; ``usage`` is that of the (sub)command typed."""

    def __init__(self, usage: str, message: str) -> None:
        super().__init__(message)
        self.usage = usage
        self.message = message


def field_value(field: str, convert: Callable[[str], T], value: str) -> T:
    """``convert(value)``, with a ``ValueError`` turned into a :class:`FieldError` for ``field``."""
    try:
        return convert(value)
    except ValueError as exc:
        raise FieldError(field, str(exc)) from None


def required_text(field: str, value: str | None, what: str) -> str:
    """``value`` stripped; blank is a :class:`FieldError` (``what``: "an agent needs a name")."""
    text = (value or "").strip()
    if not text:
        raise FieldError(field, what)
    return text


def number_arg(kind: type[int] | type[float], *, least: float, strict: bool = False,
               note: str = "") -> Callable[[str], int | float]:
    """An argparse ``type``: a finite number of ``kind``, at least ``least`` (above it with
    ``strict``); ``note`` explains the bound (``" (all tickets)"``)."""
    word = "a whole number" if kind is int else "a number"

    def convert(value: str) -> int | float:
        try:
            number = kind(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be {word}, not {value!r}") from None
        if not math.isfinite(number) or not (number > least if strict else number >= least):
            bound = f"more than {least:g}" if strict else f"{least:g}{note} or more"
            raise argparse.ArgumentTypeError(f"must be {bound}, not {value}")
        return number

    return convert


def wants_json(argv: Sequence[str]) -> bool:
    """``--json`` among the options (before a ``--``): errors are then reported as JSON."""
    for arg in argv:
        if arg == "--":
            return False
        if arg == "--json":
            return True
    return False


def report(lines: Sequence[str], code: int, *, as_json: bool, usage: str | None = None) -> int:
    """Print an error (text: usage, then one line each; JSON: one object) and return ``code``."""
    if as_json:
        print(json.dumps({"error": "; ".join(lines), "exit": code}, ensure_ascii=False),
              file=sys.stderr)
        return code
    if usage:
        sys.stderr.write(usage if usage.endswith("\n") else usage + "\n")
    for line in lines:
        print(f"ticketty: error: {line}", file=sys.stderr)
    return code


class Parser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose errors are raised (not printed) and whose subcommands
    refuse unknown arguments themselves, so the usage shown is the subcommand's own."""

    top_level = False

    def error(self, message: str) -> NoReturn:
        if message.startswith("argument "):
            message = message[len("argument "):]
        raise UsageError(self.format_usage(), message)

    def parse_known_args(self, args=None, namespace=None):  # argparse's
        parsed, extras = super().parse_known_args(args, namespace)
        if extras and not self.top_level:
            self.error(f"unrecognized arguments: {' '.join(extras)}")
        return parsed, extras
