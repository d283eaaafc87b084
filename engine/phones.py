"""Phone numbers as contact identities: one normal form (E.164) for every channel.

WhatsApp's ``wa_id``, a caller's ``From`` and an agent's own ``phone`` all become ``+<digits>``
through :func:`normalize_phone`, so a customer who calls and then writes on WhatsApp is one
contact. ``phonenumbers`` is imported on first use (it is large).
"""

from __future__ import annotations

from functools import lru_cache


class PhoneError(ValueError):
    """Not a phone number we can dial; the message says why."""


@lru_cache(maxsize=4096)
def normalize_phone(raw: str, region: str | None = None) -> str:
    """``raw`` as E.164 (``+14155550123``). A number without ``+`` needs ``region`` (ISO
    country code, e.g. ``"DE"``); WhatsApp ids are digits with the country code, so they are
    read as if prefixed with ``+``."""
    import phonenumbers

    text = raw.strip()
    if not text:
        raise PhoneError("empty phone number")
    if text.isdigit() and region is None:
        text = "+" + text  # wa_id and similar: country code first, no plus
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        raise PhoneError(f"{raw!r} is not a phone number ({exc})") from None
    if not phonenumbers.is_possible_number(number):
        raise PhoneError(f"{raw!r} is not a possible phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def is_phone(raw: str) -> bool:
    try:
        normalize_phone(raw)
    except PhoneError:
        return False
    return True
