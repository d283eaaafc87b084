"""Customer text is data: strip escape sequences and control characters before display.

Everything a customer (or a mail client) wrote — subjects, names, message bodies — goes through
:func:`clean` and is shown as a :class:`rich.text.Text` built with ``Text(...)``, never
``Text.from_markup``, so ``[bold]`` stays literal and ``\\x1b[31m`` never reaches the terminal.
"""

from __future__ import annotations

import re

from rich.style import Style
from rich.text import Text

# CSI (ESC [ ... final), OSC (ESC ] ... BEL/ST), DCS/SOS/PM/APC (ESC P|X|^|_ ... ST), 2-char escapes,
# and the 8-bit C1 forms of CSI/OSC.
_ESCAPES = re.compile(
    r"""
    \x1b\[[0-?]*[ -/]*[@-~]            # CSI
  | \x1b\][^\x07\x1b]*(?:\x07|\x1b\\)? # OSC
  | \x1b[PX^_][^\x1b]*(?:\x1b\\)?      # DCS, SOS, PM, APC
  | \x1b[@-Z\\-_]                      # other 2-character escapes
  | \x9b[0-?]*[ -/]*[@-~]              # 8-bit CSI
  | \x9d[^\x07\x9c]*[\x07\x9c]?        # 8-bit OSC
    """,
    re.VERBOSE,
)
# Bidi overrides/isolates can reorder what an agent sees ("Trojan Source"); drop them too.
_INVISIBLE = dict.fromkeys(
    [*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F, *range(0x80, 0xA0),
     0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A)]
)


def clean(value: object, *, multiline: bool = True) -> str:
    """Text without escape sequences or control characters (newlines kept when ``multiline``)."""
    if value is None:
        return ""
    text = _ESCAPES.sub("", str(value))
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", "    ")
    text = text.translate(_INVISIBLE)
    if not multiline:
        text = " ".join(text.split())
    return text


def line(value: object) -> str:
    """One line of customer text (subjects, names): whitespace runs become one space."""
    return clean(value, multiline=False)


def safe_text(value: object, style: str | Style = "", *, multiline: bool = True) -> Text:
    """A :class:`Text` of customer text, never parsed as markup."""
    return Text(clean(value, multiline=multiline), style=style, no_wrap=not multiline)


def plural(count: int, noun: str, many: str | None = None) -> str:
    """``1 message``, ``2 messages``, ``1,204 messages`` (``many``: an irregular plural)."""
    return f"{count:,} {noun if count == 1 else many or noun + 's'}"
