"""Office hours (chat availability, calls) and phone numbers as contact identities."""

from __future__ import annotations

from datetime import UTC, datetime, time

import pytest

from engine.office_hours import OfficeHours, OfficeHoursError, parse_office_hours
from engine.phones import PhoneError, normalize_phone

PARIS = "mon-fri 09:00-17:00, sat 10:00-14:00 Europe/Paris"


def at(text: str) -> datetime:
    """A UTC instant; 2026-11-30 is a Monday (Paris is UTC+1 in winter)."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_no_hours_is_always_open():
    hours = parse_office_hours("")
    assert hours.always and hours.is_open(at("2026-12-06 03:00"))
    assert hours.next_change(at("2026-12-06 03:00")) is None
    assert parse_office_hours("always") == OfficeHours()


def test_weekday_and_saturday_hours_in_their_time_zone():
    hours = parse_office_hours(PARIS)
    assert hours.days[1] == [(time(9), time(17))] and hours.days[6] == [(time(10), time(14))]
    assert 7 not in hours.days
    assert not hours.is_open(at("2026-11-30 07:59"))  # 08:59 in Paris
    assert hours.is_open(at("2026-11-30 08:00"))      # 09:00 in Paris
    assert hours.is_open(at("2026-11-30 15:59"))
    assert not hours.is_open(at("2026-11-30 16:00"))  # 17:00 in Paris: closed from then
    assert hours.is_open(at("2026-12-05 12:00")) and not hours.is_open(at("2026-12-06 12:00"))


def test_next_change_says_when_it_opens_or_closes():
    hours = parse_office_hours(PARIS)
    friday_evening = at("2026-12-04 18:00")  # 19:00 Friday in Paris: closed until Saturday 10:00
    assert hours.next_change(friday_evening) == at("2026-12-05 09:00")
    assert hours.next_change(at("2026-11-30 10:00")) == at("2026-11-30 16:00")
    saturday_late = at("2026-12-05 14:00")  # closed Sunday: next is Monday 09:00 Paris
    assert hours.next_change(saturday_late) == at("2026-12-07 08:00")


def test_intervals_past_midnight_and_until_midnight():
    night = parse_office_hours("fri 22:00-06:00 UTC")
    assert night.is_open(at("2026-12-04 23:30")) and night.is_open(at("2026-12-05 05:59"))
    assert not night.is_open(at("2026-12-05 06:00")) and not night.is_open(at("2026-12-04 21:59"))
    assert night.next_change(at("2026-12-04 23:30")) == at("2026-12-05 06:00")
    late = parse_office_hours("mon 18:00-24:00 UTC")
    assert late.is_open(at("2026-11-30 23:59")) and not late.is_open(at("2026-12-01 00:00"))
    assert late.spec() == "mon 18:00-24:00 UTC"


def test_spec_round_trips_and_groups_days():
    for spec in (PARIS, "mon-thu 08:00-12:00 13:00-17:00, fri 08:00-12:00 UTC", "sat-sun 10:00-12:00 UTC"):
        assert parse_office_hours(parse_office_hours(spec).spec()) == parse_office_hours(spec)
    assert parse_office_hours("mon 09:00-17:00, tue 09:00-17:00 UTC").spec() == "mon-tue 09:00-17:00 UTC"
    assert parse_office_hours("sat+sun 10:00-12:00 UTC").days.keys() == {6, 7}


@pytest.mark.parametrize(("spec", "words"), [
    ("mon-fry 09:00-17:00", "unknown day 'mon-fry'"),
    ("mon 9-17", "not a time like 09:00"),
    ("mon 09:00", "09:00-17:00"),
    ("mon", "needs hours"),
    ("mon 09:00-17:00 Mars/Olympus", "unknown time zone 'Mars/Olympus'"),
])
def test_bad_hours_say_why(spec: str, words: str):
    with pytest.raises(OfficeHoursError, match=words):
        parse_office_hours(spec)


def test_phone_numbers_become_e164():
    assert normalize_phone("+1 (415) 555-0123") == "+14155550123"
    assert normalize_phone("14155550123") == "+14155550123"  # a WhatsApp wa_id
    assert normalize_phone("030 1234567", region="DE") == "+49301234567"
    for bad in ("", "hello", "+1 23"):
        with pytest.raises(PhoneError):
            normalize_phone(bad)


# ---------------------------------------------------------------- edges (issue 17: mutation)
@pytest.fixture(params=["Pacific/Auckland", "Pacific/Honolulu"])
def server_far_away(monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest):
    """The engine's machine a day ahead of or behind UTC: the hours follow their own zone."""
    import time as clock

    monkeypatch.setenv("TZ", request.param)
    clock.tzset()
    yield
    monkeypatch.undo()
    clock.tzset()


def test_the_night_from_sunday_into_monday():
    night = parse_office_hours("sun 22:00-06:00 UTC")
    assert night.is_open(at("2026-11-30 03:00"))  # Monday 03:00: Sunday's night, wrapping the week
    assert not night.is_open(at("2026-11-30 06:00"))
    assert night.next_change(at("2026-11-30 03:00")) == at("2026-11-30 06:00")
    friday = parse_office_hours("fri 22:00-06:00 UTC")  # said when open after midnight
    assert friday.next_change(at("2026-12-05 03:00")) == at("2026-12-05 06:00")


def test_a_night_opens_at_its_first_minute():
    night = parse_office_hours("fri 22:00-06:00 UTC")
    assert night.is_open(at("2026-12-04 22:00"))
    assert night.next_change(at("2026-12-04 21:00")) == at("2026-12-04 22:00")


def test_an_empty_interval_is_never_open():
    hours = parse_office_hours("mon 09:00-09:00 UTC")
    for moment in ("2026-11-30 08:59", "2026-11-30 09:00", "2026-11-30 23:00",
                   "2026-12-01 03:00", "2026-12-01 09:00"):
        assert not hours.is_open(at(moment)), moment


def test_back_to_back_intervals_are_one_opening():
    hours = parse_office_hours("mon 09:00-12:00 12:00-17:00 UTC")
    assert hours.is_open(at("2026-11-30 12:00"))
    assert hours.next_change(at("2026-11-30 10:00")) == at("2026-11-30 17:00")


def test_open_until_midnight_closes_at_midnight():
    late = parse_office_hours("mon 18:00-24:00 UTC")
    assert late.next_change(at("2026-11-30 20:00")) == at("2026-12-01 00:00")
    assert late.next_change(at("2026-12-01 00:00")) == at("2026-12-07 18:00")


def test_next_change_ignores_the_servers_time_zone(server_far_away):
    hours = parse_office_hours("mon 09:00-17:00 UTC")
    assert hours.next_change(at("2026-11-30 12:00")) == at("2026-11-30 17:00")
    assert hours.next_change(at("2026-11-30 08:00")) == at("2026-11-30 09:00")
    early = parse_office_hours("mon 08:00-09:00 UTC")  # Sunday evening in Honolulu
    assert early.next_change(at("2026-11-30 09:30")) == at("2026-12-07 08:00")


def test_closed_until_the_same_weekday_next_week():
    hours = parse_office_hours("mon 09:00-10:00 UTC")
    assert hours.next_change(at("2026-11-30 11:00")) == at("2026-12-07 09:00")


def test_minutes_and_day_ranges_across_the_weekend():
    hours = parse_office_hours("fri-mon 08:30-12:45")
    assert hours.tz == "UTC"
    assert sorted(hours.days) == [1, 5, 6, 7]
    assert hours.days[7] == [(time(8, 30), time(12, 45))]
    assert parse_office_hours("sun-tue 10:00-11:00 UTC").days.keys() == {7, 1, 2}
    assert parse_office_hours("sat-fri 10:00-11:00 UTC").days.keys() == set(range(1, 8))
    assert parse_office_hours("sat-sun 10:00-11:00 UTC").days.keys() == {6, 7}


def test_always_open_spellings_and_stray_commas():
    for spec in ("", "  ", "always", "ALWAYS", "24/7"):
        assert parse_office_hours(spec) == OfficeHours()
    assert OfficeHours().spec() == ""
    hours = parse_office_hours("mon 09:00-17:00,, tue 10:00-12:00,")
    assert hours.spec() == "mon 09:00-17:00, tue 10:00-12:00 UTC"


def test_a_bad_zone_is_one_plain_sentence():
    with pytest.raises(OfficeHoursError) as caught:
        parse_office_hours("mon 09:00-17:00 Mars/Olympus")
    assert str(caught.value) == "unknown time zone 'Mars/Olympus' (e.g. Europe/Paris)"
    with pytest.raises(OfficeHoursError) as lone:
        parse_office_hours("mon-fri 09:00-17:00, sat")
    assert str(lone.value) == "'sat' needs hours, e.g. 'mon-fri 09:00-17:00'"
