"""Office hours of a channel: when a team answers (chat availability, calls).

One model for every channel that opens and closes: per ISO weekday (1 = Monday) a list of
``(start, end)`` intervals in one time zone. No interval at all means *always open*, so a channel
added with no settings is open at all hours. The text form is what the CLI's ``--set`` and the
settings forms read and write::

    mon-fri 09:00-17:00, sat 10:00-14:00 Europe/Paris
    mon-thu 08:00-12:00 13:00-17:00, fri 08:00-12:00 UTC

An interval is half-open: ``09:00-17:00`` is open at 09:00 and closed from 17:00. One whose
end is before its start runs past midnight (``22:00-06:00``); ``24:00`` ends one at midnight.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
_DAY = {d: i for i, d in enumerate(DAYS, 1)}
_MIDNIGHT_END = time(23, 59, 59, 999999)


class OfficeHoursError(ValueError):
    """Office hours that cannot be read; the message says why (callers name their field)."""


class OfficeHours(BaseModel):
    """Weekly opening hours in ``tz``; ``days`` maps an ISO weekday to its intervals."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    tz: str = "UTC"
    days: dict[int, list[tuple[time, time]]] = Field(default_factory=dict)

    @field_validator("tz")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ValueError, KeyError):
            raise ValueError(f"unknown time zone {value!r} (e.g. Europe/Paris)") from None
        return value

    @field_validator("days")
    @classmethod
    def _weekdays(cls, value: dict[int, list[tuple[time, time]]]) -> dict[int, list[tuple[time, time]]]:
        for day in value:
            if day not in range(1, 8):
                raise ValueError(f"weekday {day} is not 1 (Monday) … 7 (Sunday)")
        return value

    @property
    def always(self) -> bool:
        return not any(self.days.values())

    def is_open(self, at: datetime) -> bool:
        """Whether the team answers at ``at`` (an aware datetime)."""
        if self.always:
            return True
        local = at.astimezone(ZoneInfo(self.tz))
        now = local.time().replace(tzinfo=None)
        today, yesterday = local.isoweekday(), (local.isoweekday() - 2) % 7 + 1
        for start, end in self.days.get(today, []):
            if start <= end and start <= now < end:
                return True
            if start > end and now >= start:  # runs past midnight: the evening part
                return True
        return any(start > end and now < end for start, end in self.days.get(yesterday, []))

    def next_change(self, at: datetime) -> datetime | None:
        """When the channel next opens (if closed at ``at``) or closes (if open); None: never.
        The first of the coming week's interval edges at which the state differs."""
        if self.always:
            return None
        zone = ZoneInfo(self.tz)
        local = at.astimezone(zone)
        state = self.is_open(at)
        edges: list[datetime] = []
        for offset in range(-1, 8):  # from yesterday: its night may end this morning
            day = (local + timedelta(days=offset)).date()
            for start, end in self.days.get(day.isoweekday(), []):
                edges.append(datetime.combine(day, start, zone))
                end_day = day + timedelta(days=1) if start > end else day
                edges.append(datetime.combine(end_day, end, zone) if end != _MIDNIGHT_END else
                             datetime.combine(end_day + timedelta(days=1), time(0), zone))
        for edge in sorted(e for e in edges if e > local):
            if self.is_open(edge) != state:
                return edge
        return None

    def spec(self) -> str:
        """The text form (what :func:`parse_office_hours` reads); empty for always open."""
        if self.always:
            return ""
        groups: list[tuple[list[int], list[tuple[time, time]]]] = []
        for day in sorted(d for d, spans in self.days.items() if spans):
            spans = self.days[day]
            if groups and groups[-1][1] == spans and groups[-1][0][-1] == day - 1:
                groups[-1][0].append(day)
            else:
                groups.append(([day], spans))
        parts = []
        for days, spans in groups:
            name = DAYS[days[0] - 1] if len(days) == 1 else f"{DAYS[days[0] - 1]}-{DAYS[days[-1] - 1]}"
            parts.append(name + " " + " ".join(f"{_hhmm(s)}-{_hhmm(e)}" for s, e in spans))
        return ", ".join(parts) + f" {self.tz}"


def _hhmm(value: time) -> str:
    return "24:00" if value == _MIDNIGHT_END else f"{value:%H:%M}"


def _parse_time(text: str) -> time:
    if text == "24:00":
        return _MIDNIGHT_END
    try:
        hours, minutes = text.split(":")
        return time(int(hours), int(minutes))
    except ValueError:
        raise OfficeHoursError(f"{text!r} is not a time like 09:00") from None


def _parse_days(text: str) -> list[int]:
    days: list[int] = []
    for chunk in text.lower().split("+"):
        first, _, last = chunk.partition("-")
        if first not in _DAY or (last and last not in _DAY):
            raise OfficeHoursError(f"unknown day {chunk!r} (mon … sun)")
        a, b = _DAY[first], _DAY[last or first]
        days.extend(range(a, b + 1) if a <= b else [*range(a, 8), *range(1, b + 1)])
    return days


def parse_office_hours(spec: str) -> OfficeHours:
    """``mon-fri 09:00-17:00, sat 10:00-14:00 Europe/Paris`` → OfficeHours (UTC by default).

    An empty spec (or ``always``) is always open. Groups are separated by commas; each group is
    a day or day range (``mon``, ``mon-fri``, ``sat+sun``) and one or more ``HH:MM-HH:MM``.
    """
    text = spec.strip()
    if text.lower() in ("", "always", "24/7"):
        return OfficeHours()
    words = text.replace(",", " , ").split()
    tz = "UTC"
    if words and ("/" in words[-1] or words[-1].upper() == "UTC"):
        tz = words.pop()
    days: dict[int, list[tuple[time, time]]] = {}
    group: list[str] = []
    for word in [*words, ","]:
        if word != ",":
            group.append(word)
            continue
        if not group:
            continue
        if len(group) < 2:
            raise OfficeHoursError(f"{group[0]!r} needs hours, e.g. 'mon-fri 09:00-17:00'")
        for day in _parse_days(group[0]):
            for span in group[1:]:
                start, sep, end = span.partition("-")
                if not sep:
                    raise OfficeHoursError(f"hours must look like 09:00-17:00, not {span!r}")
                days.setdefault(day, []).append((_parse_time(start), _parse_time(end)))
        group = []
    try:
        return OfficeHours(tz=tz, days={d: sorted(s) for d, s in days.items()})
    except ValidationError as exc:
        raise OfficeHoursError(exc.errors()[0]["msg"].removeprefix("Value error, ")) from None
