"""Customer text is data: the one sanitiser every terminal surface uses (TUI and CLI alike).

Whatever a customer (or a mail client) wrote — subjects, names, message bodies — may carry
terminal escape sequences, control characters and invisible format characters. Before it is
shown, :func:`clean` removes:

- escape sequences whole (CSI, OSC, DCS/SOS/PM/APC, two-character escapes, 8-bit CSI/OSC), so
  no colour, title or hyperlink change ever reaches the terminal;
- C0 and C1 control characters and DEL (newlines kept when ``multiline``; tabs become four
  spaces; CR LF and lone CR become LF);
- every Unicode *format* character (category Cf): zero-width space/joiners (U+200B–U+200D),
  the byte-order mark / zero-width no-break space (U+FEFF), word joiners (U+2060–U+2064), the
  soft hyphen, bidi marks, embeddings and overrides (U+200E/F, U+202A–U+202E) and isolates
  (U+2066–U+2069), Unicode tag characters … They draw nothing, so they can only hide or
  reorder text an agent reads ("Trojan Source" spoofing, ``pay\u200bpal``), and terminals
  disagree about their width, which breaks column alignment;
- line and paragraph separators (U+2028/2029) become newlines.

The TUI wraps the result in ``rich.text.Text`` (never markup); the CLI prints it. Both go
through this module, so the same text looks the same in both.
"""

from __future__ import annotations

import re

# CSI (ESC [ ... final), OSC (ESC ] ... BEL/ST), DCS/SOS/PM/APC (ESC P|X|^|_ ... ST), 2-char
# escapes, and the 8-bit C1 forms of CSI/OSC.
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

#: Unicode format characters (category Cf, Unicode 14 / Python 3.11), as inclusive ranges.
FORMAT_RANGES: tuple[tuple[int, int], ...] = (
    (0x00AD, 0x00AD), (0x0600, 0x0605), (0x061C, 0x061C), (0x06DD, 0x06DD),
    (0x070F, 0x070F), (0x0890, 0x0891), (0x08E2, 0x08E2), (0x180E, 0x180E),
    (0x200B, 0x200F), (0x202A, 0x202E), (0x2060, 0x2064), (0x2066, 0x206F),
    (0xFEFF, 0xFEFF), (0xFFF9, 0xFFFB), (0x110BD, 0x110BD), (0x110CD, 0x110CD),
    (0x13430, 0x13438), (0x1BCA0, 0x1BCA3), (0x1D173, 0x1D17A), (0xE0001, 0xE0001),
    (0xE0020, 0xE007F),
)

_TABLE: dict[int, str | None] = dict.fromkeys(
    [*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F, *range(0x80, 0xA0),
     *(cp for lo, hi in FORMAT_RANGES for cp in range(lo, hi + 1))]
)
_TABLE.update({0x09: "    ", 0x2028: "\n", 0x2029: "\n"})


def clean(value: object, *, multiline: bool = True) -> str:
    """Text without escape sequences, control or format characters (see the module docstring).

    Newlines are kept when ``multiline``; otherwise every run of white space (newlines
    included) becomes one space.
    """
    if value is None:
        return ""
    text = str(value)
    if "\x1b" in text or "\x9b" in text or "\x9d" in text:
        text = _ESCAPES.sub("", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n").translate(_TABLE)
    if not multiline:
        text = " ".join(text.split())
    return text


def line(value: object) -> str:
    """One line of customer text (subjects, names): whitespace runs become one space."""
    return clean(value, multiline=False)
