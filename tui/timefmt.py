"""Times as agents read them: compact relative ages and local timestamps.

The app holds an injectable clock (``TickettyApp(clock=...)``) so tests and snapshots freeze
"now"; these helpers take ``now`` explicitly and never read the wall clock.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, tzinfo

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)


def ago(when: datetime | None, now: datetime) -> str:
    """``now``, ``5m``, ``3h``, ``2d``, ``5w`` or a date for anything older than a year."""
    if when is None:
        return "-"
    secs = int((now - when).total_seconds())
    if secs < 60:
        return "now"
    for unit, size in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60)):
        if secs >= size:
            if unit == "w" and secs >= 365 * 86400:
                return f"{when:%Y-%m-%d}"
            return f"{secs // size}{unit}"
    return "now"  # pragma: no cover - unreachable


def stamp(when: datetime | None, tz: tzinfo | None = None) -> str:
    """``2025-03-04 14:05`` in the agent's time zone (``tz`` None: the system's)."""
    if when is None:
        return "-"
    return when.astimezone(tz).strftime("%Y-%m-%d %H:%M")
