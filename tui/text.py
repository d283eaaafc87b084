"""Customer text is data: shown only after :mod:`engine.text` cleaned it, never as markup.

Everything a customer (or a mail client) wrote — subjects, names, message bodies — goes through
:func:`clean` or :func:`line` (the engine's one sanitiser, shared with the CLI: escape
sequences, control and invisible format characters removed) and is shown as a
:class:`rich.text.Text` built with ``Text(...)``, never ``Text.from_markup``, so ``[bold]``
stays literal and ``\\x1b[31m`` never reaches the terminal. There is no second sanitiser here:
this module only re-exports the engine's.
"""

from __future__ import annotations

from engine.text import clean, line

__all__ = ["clean", "line", "plural"]


def plural(count: int, noun: str, many: str | None = None) -> str:
    """``1 message``, ``2 messages``, ``1,204 messages`` (``many``: an irregular plural)."""
    return f"{count:,} {noun if count == 1 else many or noun + 's'}"
