"""The platforms' messaging windows, as pure functions of two times (tested at their edges).

Messenger: inside 24 h of the person's last message anything may be sent (``RESPONSE``); from
24 h to 7 days only a human agent's reply, sent with the ``HUMAN_AGENT`` tag, and never an
automated one (instant reply, bots, surveys); after 7 days nothing until they write again.
WhatsApp: inside 24 h free text; outside it only an approved template.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

HOUR = 3600.0
DAY = 24 * HOUR
HUMAN_AGENT_DAYS = 7

OUTSIDE_24H = "outside the 24-hour window"


@dataclass(frozen=True)
class Window:
    """May a message go now? ``tag``: the Messenger message tag it needs (``HUMAN_AGENT``);
    ``reason``: why not, or what is allowed, in words; ``closes_at``: epoch seconds."""

    allowed: bool
    reason: str = ""
    tag: str | None = None
    closes_at: float | None = None


def _when(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d %H:%M UTC")


def left(seconds: float) -> str:
    """A time left in words: ``3 h 20 min``, ``2 d 4 h``."""
    seconds = max(0, int(seconds))
    days, rest = divmod(seconds, int(DAY))
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return f"{days} d {hours} h"
    return f"{hours} h {minutes} min" if hours else f"{minutes} min"


def messenger(last: float | None, now: float, *, automated: bool = False) -> Window:
    """The Messenger window for a message at ``now`` to someone who last wrote at ``last``."""
    if last is None:
        return Window(False, "this person has not written to the Page: Messenger allows no "
                      "message before they do")
    age = now - last
    if age <= DAY:
        return Window(True, f"{left(last + DAY - now)} left in the 24-hour window",
                      closes_at=last + DAY)
    if automated:
        return Window(False, f"{OUTSIDE_24H}: automated messages (instant reply, bots, "
                      "surveys) may only be sent within 24 hours of the person's last message")
    end = last + HUMAN_AGENT_DAYS * DAY
    if now <= end:
        return Window(True, f"{OUTSIDE_24H}: a human agent may still reply (sent with the "
                      f"HUMAN_AGENT tag) for {left(end - now)}", tag="HUMAN_AGENT", closes_at=end)
    return Window(False, f"the Messenger window closed on {_when(end)}: a reply is allowed up "
                  "to 7 days after the person's last message, and they have not written since "
                  f"{_when(last)}")


def whatsapp(last: float | None, now: float, *, template: bool = False) -> Window:
    """The WhatsApp customer-service window; a template may always go."""
    if template:
        return Window(True, "approved template")
    if last is not None and now - last <= DAY:
        return Window(True, f"{left(last + DAY - now)} left in the 24-hour window",
                      closes_at=last + DAY)
    since = f" (they last wrote {_when(last)})" if last is not None else ""
    return Window(False, f"{OUTSIDE_24H}{since}: only an approved template may be sent")
