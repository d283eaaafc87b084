"""ticketty's own Textual themes and the shared app stylesheet (``themes/app.tcss``).

Widgets carry their structural CSS (``DEFAULT_CSS``); colours come from theme variables, so any
Textual theme works too. ``ticketty-dark`` is the default.
"""

from __future__ import annotations

from pathlib import Path

from textual.theme import Theme

STYLESHEET = Path(__file__).with_name("app.tcss")
DEFAULT_THEME = "ticketty-dark"

TICKETTY_DARK = Theme(
    name="ticketty-dark",
    primary="#5FA8D3",
    secondary="#8E7DBE",
    accent="#F2A65A",
    foreground="#D8DEE9",
    background="#15191F",
    surface="#1C2129",
    panel="#242B35",
    success="#7FB77E",
    warning="#E5C07B",
    error="#E06C75",
    dark=True,
    variables={
        "block-cursor-background": "#2E4A62",
        "block-cursor-foreground": "#FFFFFF",
        "block-cursor-blurred-background": "#26313D",
        "footer-key-foreground": "#F2A65A",
    },
)

TICKETTY_LIGHT = Theme(
    name="ticketty-light",
    primary="#1F6FA8",
    secondary="#6A4FB3",
    accent="#B35C00",
    foreground="#1E2228",
    background="#FAFAF7",
    surface="#F0F1EC",
    panel="#E3E6E0",
    success="#2E7D32",
    warning="#9A6B00",
    error="#B3261E",
    dark=False,
    variables={
        "block-cursor-background": "#CFE3F3",
        "block-cursor-foreground": "#0B1F33",
        "block-cursor-blurred-background": "#E1E8EE",
        "footer-key-foreground": "#B35C00",
    },
)

THEMES = [TICKETTY_DARK, TICKETTY_LIGHT]
