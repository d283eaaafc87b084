"""Pydantic validation errors in words: one ``<field>: <reason>`` line per problem.

Shared by the CLI (``ticketty: error: …`` lines) and by anything else that turns a
:class:`pydantic.ValidationError` into text a person reads (the TUI's forms, working hours).
"""

from __future__ import annotations

from pydantic import ValidationError

#: pydantic puts these in front of the message a validator raised
_PYDANTIC_PREFIXES = ("Value error, ", "Assertion failed, ")


def validation_lines(exc: ValidationError) -> list[str]:
    """One ``<field>: <reason>`` per problem pydantic found (dotted field path)."""
    lines = []
    for problem in exc.errors():
        field = ".".join(str(part) for part in problem.get("loc", ())) or "value"
        reason = str(problem.get("msg", "invalid value"))
        for prefix in _PYDANTIC_PREFIXES:
            if reason.startswith(prefix):
                reason = reason[len(prefix):]
        lines.append(f"{field}: {reason}")
    return lines or [str(exc).splitlines()[0]]
