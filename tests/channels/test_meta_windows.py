"""The Messenger and WhatsApp messaging windows as pure functions of two times, at their exact
edges: whether a message may go, the Messenger tag it needs, when the window closes, and the
words the composer shows the agent (how long is left, or why nothing may go) — in UTC whatever
the machine's own time zone."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from engine.channels.meta_windows import DAY, HOUR, Window, left, messenger, whatsapp

MIN = 60.0
LAST = datetime(2026, 11, 30, 9, 15, tzinfo=UTC).timestamp()  # a Monday, 09:15 UTC


@pytest.fixture(autouse=True)
def far_from_utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The machine runs in New York: the windows still speak UTC."""
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.parametrize(("seconds", "words"), [
    (0, "0 min"), (-30, "0 min"), (59.9, "0 min"), (60, "1 min"), (600, "10 min"),
    (3599, "59 min"), (3600, "1 h 0 min"), (3700, "1 h 1 min"), (7200, "2 h 0 min"),
    (3 * HOUR + 20 * MIN + 59, "3 h 20 min"), (DAY - 1, "23 h 59 min"), (DAY, "1 d 0 h"),
    (2 * DAY + 4 * HOUR + 59 * MIN, "2 d 4 h"),
])
def test_time_left_in_words(seconds: float, words: str) -> None:
    assert left(seconds) == words


def test_messenger_inside_24_hours_anything_may_go() -> None:
    now = LAST + 20 * HOUR + 40 * MIN
    want = Window(True, "3 h 20 min left in the 24-hour window", None, LAST + DAY)
    assert messenger(LAST, now) == want
    assert messenger(LAST, now, automated=True) == want
    assert messenger(LAST, LAST) == Window(True, "1 d 0 h left in the 24-hour window", None,
                                           LAST + DAY)


def test_messenger_at_exactly_24_hours_is_still_inside() -> None:
    assert messenger(LAST, LAST + DAY) == Window(True, "0 min left in the 24-hour window",
                                                 None, LAST + DAY)
    assert messenger(LAST, LAST + DAY, automated=True).allowed


def test_messenger_after_24_hours_a_human_agent_may_reply_with_the_tag() -> None:
    now = LAST + DAY + 1
    assert messenger(LAST, now) == Window(
        True, "outside the 24-hour window: a human agent may still reply (sent with the "
        "HUMAN_AGENT tag) for 5 d 23 h", "HUMAN_AGENT", LAST + 7 * DAY)
    last_minutes = messenger(LAST, LAST + 7 * DAY - 90 * MIN)
    assert last_minutes.reason.endswith("for 1 h 30 min") and last_minutes.tag == "HUMAN_AGENT"


def test_messenger_after_24_hours_nothing_automated() -> None:
    assert messenger(LAST, LAST + DAY + 1, automated=True) == Window(
        False, "outside the 24-hour window: automated messages (instant reply, bots, surveys) "
        "may only be sent within 24 hours of the person's last message")


def test_messenger_at_exactly_7_days_the_agent_may_still_reply() -> None:
    assert messenger(LAST, LAST + 7 * DAY) == Window(
        True, "outside the 24-hour window: a human agent may still reply (sent with the "
        "HUMAN_AGENT tag) for 0 min", "HUMAN_AGENT", LAST + 7 * DAY)


def test_messenger_after_7_days_nothing_until_they_write() -> None:
    assert messenger(LAST, LAST + 7 * DAY + 1) == Window(
        False, "the Messenger window closed on 2026-12-07 09:15 UTC: a reply is allowed up to "
        "7 days after the person's last message, and they have not written since "
        "2026-11-30 09:15 UTC")


def test_messenger_before_they_ever_wrote() -> None:
    want = Window(False, "this person has not written to the Page: Messenger allows no message "
                  "before they do")
    assert messenger(None, LAST) == want
    assert messenger(None, LAST, automated=True) == want


def test_whatsapp_inside_24_hours_free_text() -> None:
    assert whatsapp(LAST, LAST + 30 * MIN) == Window(
        True, "23 h 30 min left in the 24-hour window", None, LAST + DAY)
    assert whatsapp(LAST, LAST + DAY) == Window(True, "0 min left in the 24-hour window", None,
                                                LAST + DAY)


def test_whatsapp_outside_24_hours_only_a_template() -> None:
    assert whatsapp(LAST, LAST + DAY + 1) == Window(
        False, "outside the 24-hour window (they last wrote 2026-11-30 09:15 UTC): only an "
        "approved template may be sent")
    assert whatsapp(None, LAST) == Window(
        False, "outside the 24-hour window: only an approved template may be sent")


@pytest.mark.parametrize("last", [None, LAST, LAST - 30 * DAY])
def test_a_whatsapp_template_may_always_go(last: float | None) -> None:
    assert whatsapp(last, LAST + 1, template=True) == Window(True, "approved template")
