"""Working hours written as text: ``mon-fri 09:00-17:00 [Europe/Paris]``.

One syntax for the CLI's ``--hours`` and the TUI's agent form; :func:`parse_hours` reads it and
:func:`hours_spec` writes it back. A bad spec raises :class:`HoursError` whose message is the
reason alone (each caller names its own field: ``--hours``, ``working_hours``).
"""

from __future__ import annotations

from pydantic import ValidationError

from engine.models import WorkingHours
from engine.validation import validation_lines

DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


class HoursError(ValueError):
    """A working-hours spec that cannot be read; the message says why."""


def parse_hours(spec: str) -> WorkingHours:
    """``mon-fri 09:00-17:00 [Europe/Paris]`` → WorkingHours (the time zone defaults to UTC)."""
    days_map = {d: i for i, d in enumerate(DAYS, 1)}
    parts = spec.split()
    if len(parts) < 2:
        raise HoursError("must look like 'mon-fri 09:00-17:00 [TIMEZONE]'")
    day_part, time_part = parts[0].lower(), parts[1]
    days: list[int] = []
    for chunk in day_part.split(","):
        if "-" in chunk:
            a, b = chunk.split("-", 1)
            if a not in days_map or b not in days_map:
                raise HoursError(f"unknown day {chunk!r} (mon … sun)")
            days.extend(range(days_map[a], days_map[b] + 1))
        elif chunk in days_map:
            days.append(days_map[chunk])
        else:
            raise HoursError(f"unknown day {chunk!r} (mon … sun)")
    tz = parts[2] if len(parts) > 2 else "UTC"
    try:
        from zoneinfo import ZoneInfo

        ZoneInfo(tz)
    except (ValueError, KeyError):  # ZoneInfoNotFoundError is a KeyError
        raise HoursError(f"unknown time zone {tz!r} (e.g. Europe/Paris)") from None
    start, sep, end = time_part.partition("-")
    if not sep:
        raise HoursError(f"the hours must look like 09:00-17:00, not {time_part!r}")
    try:
        return WorkingHours(days=days, start=start, end=end, tz=tz)
    except ValidationError as exc:
        raise HoursError("; ".join(validation_lines(exc))) from None


def hours_spec(wh: WorkingHours | None) -> str:
    """WorkingHours → ``mon-fri 09:00-17:00 TZ`` (what :func:`parse_hours` reads)."""
    if wh is None or not wh.days:
        return ""
    days = sorted(set(wh.days))
    chunks: list[str] = []
    i = 0
    while i < len(days):
        j = i
        while j + 1 < len(days) and days[j + 1] == days[j] + 1:
            j += 1
        first, last = DAYS[days[i] - 1], DAYS[days[j] - 1]
        chunks.append(first if i == j else f"{first}-{last}")
        i = j + 1
    return f"{','.join(chunks)} {wh.start:%H:%M}-{wh.end:%H:%M} {wh.tz}"
