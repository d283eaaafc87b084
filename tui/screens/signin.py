"""Signing an existing Gmail or Microsoft 365 channel in again (the channel edit screen's
``Sign in…``), e.g. when its health reads "needs re-authorisation".

A dialog around :class:`tui.widgets.signin_panel.SignInPanel`; it answers the granted refresh
token, or None when closed first. Esc closes it (binding id ``signin.close``).
"""

from __future__ import annotations

from collections.abc import Callable

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from engine.channels.email_settings import EmailSettings
from engine.channels.email_signin import PROVIDER_NAMES
from tui.widgets.signin_panel import SignInPanel


class SignInScreen(ModalScreen[str | None]):
    DEFAULT_CSS = """
    SignInScreen { align: center middle; }
    SignInScreen > Vertical { width: 100; max-width: 95%; height: auto; border: round $primary;
        background: $surface; padding: 0 1; }
    SignInScreen .signin-title { text-style: bold; color: $primary; padding-bottom: 1; }
    SignInScreen #signin-close-row { height: 3; align-horizontal: right; }
    """
    BINDINGS = [Binding("escape", "close", "Close", id="signin.close")]

    def __init__(self, channel_name: str, provider: str,
                 settings: Callable[[], EmailSettings]) -> None:
        super().__init__()
        self.channel_name = channel_name
        self.provider = provider
        self.settings = settings

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text(f"Sign channel {self.channel_name} in with "
                              f"{PROVIDER_NAMES.get(self.provider, self.provider)}"),
                         classes="signin-title")
            yield SignInPanel(self.provider, self.settings, id="signin")
            with Horizontal(id="signin-close-row"):
                yield Button("Close", id="signin-close")

    def on_mount(self) -> None:
        self.query_one("#signin-start", Button).focus()

    @on(SignInPanel.SignedIn)
    def _signed_in(self, event: SignInPanel.SignedIn) -> None:
        self.dismiss(event.tokens.refresh_token)

    @on(Button.Pressed, "#signin-close")
    def action_close(self) -> None:
        self.dismiss(None)
