"""Signing in to a Gmail or Microsoft 365 mailbox from the TUI (wizard and edit screen).

The flows are the engine's (:mod:`engine.channels.email_signin`); this panel only shows them
and runs them in a worker:

- Microsoft — the code to type and the address to type it at, then waits for the sign-in;
- Google — the address to open in a browser on this machine (also copied to the clipboard on
  request); the browser comes back to a listener on 127.0.0.1. Over SSH that cannot work, so
  the address the browser ended on can be pasted into the field below and Enter uses it.

When the sign-in succeeds the panel posts :class:`SignInPanel.SignedIn` with the refresh
token; the screen stores it as the channel's secret ``oauth_refresh_token``.

| key | action |
|---|---|
| Enter on the button | sign in (again) |
| Enter in the paste field | use the pasted address |
"""

from __future__ import annotations

from collections.abc import Callable

from rich.style import Style
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Button, Input, Label, Static

from engine.channels.email_settings import EmailSettings
from engine.channels.email_signin import (
    PROVIDER_NAMES,
    BrowserSignIn,
    SignInError,
    Tokens,
    method_for,
    poll_device_code,
    request_device_code,
)
from tui.text import line


class SignInPanel(Vertical):
    """A sign-in button, what to do next, and (browser flow) a field for the pasted address.

    ``settings()`` gives the settings to sign in with (provider, client, endpoints); it may
    raise ``ValueError`` (shown on the panel) when something is missing.
    """

    DEFAULT_CSS = """
    SignInPanel { height: auto; margin: 0 0 1 0; }
    SignInPanel #signin-buttons { height: 1; }
    SignInPanel #signin-buttons Button { height: 1; border: none; min-width: 16; margin: 0 2 0 0; }
    SignInPanel #signin-status { height: auto; margin: 1 0 0 0; }
    SignInPanel #signin-paste-row { height: auto; margin: 1 0 0 0; }
    SignInPanel #signin-paste-row Label { width: 24; text-style: bold; }
    SignInPanel #signin-paste { width: 1fr; height: 1; border: none; padding: 0 1;
        background: $boost; }
    SignInPanel #signin-paste:focus { background: $primary 25%; }
    SignInPanel .-error { color: $error; }
    """

    class SignedIn(Message):
        def __init__(self, tokens: Tokens) -> None:
            super().__init__()
            self.tokens = tokens

    def __init__(self, provider: str, settings: Callable[[], EmailSettings], *,
                 signed_in: bool = False, id: str | None = None) -> None:
        super().__init__(id=id)
        self.provider = provider
        self.settings = settings
        self.signed_in = signed_in
        self.browser: BrowserSignIn | None = None
        self.url = ""

    @property
    def who(self) -> str:
        return PROVIDER_NAMES.get(self.provider, "the provider")

    def compose(self) -> ComposeResult:
        with Horizontal(id="signin-buttons"):
            yield Button(f"Sign in again with {self.who}" if self.signed_in
                         else f"Sign in with {self.who}", id="signin-start", variant="primary")
            yield Button("Copy the address", id="signin-copy")
        yield Static(Text("✓ Signed in.", "green") if self.signed_in else "",
                      id="signin-status")
        with Horizontal(id="signin-paste-row"):
            yield Label("Address it ended on")
            yield Input(placeholder="http://127.0.0.1:…/?code=…", id="signin-paste")

    def on_mount(self) -> None:
        self.query_one("#signin-copy").display = False
        self.query_one("#signin-paste-row").display = False

    def say(self, text: Text | str, *, error: bool = False) -> None:
        status = self.query_one("#signin-status", Static)
        status.set_class(error, "-error")
        status.update(text if isinstance(text, Text) else Text(text))

    # ------------------------------------------------------------------ actions
    @on(Button.Pressed, "#signin-start")
    def start(self) -> None:
        self.run_worker(self._sign_in(), group="signin", exclusive=True, exit_on_error=False)

    @on(Button.Pressed, "#signin-copy")
    def _copy(self) -> None:
        if self.url:
            self.app.copy_to_clipboard(self.url)
            self.notify("Sign-in address copied.", markup=False)

    @on(Input.Submitted, "#signin-paste")
    def _pasted(self, event: Input.Submitted) -> None:
        event.stop()  # Enter here uses the address; it is not the wizard's Next
        if self.browser is None:
            return
        try:
            self.browser.paste(event.value)
        except SignInError as exc:
            self.say(f"✗ {exc.reason}", error=True)

    async def _sign_in(self) -> None:
        try:
            settings = self.settings()
            method = method_for(settings)
        except (ValueError, SignInError) as exc:
            self.say(f"✗ {getattr(exc, 'reason', None) or exc}", error=True)
            return
        try:
            tokens = await (self._device(settings) if method == "device"
                            else self._browser(settings))
        except SignInError as exc:
            self.say(f"✗ {exc.reason}", error=True)
            self.query_one("#signin-start", Button).label = f"Sign in with {self.who} again"
            return
        self.signed_in = True
        self.query_one("#signin-paste-row").display = False
        self.query_one("#signin-copy").display = False
        self.say(Text("✓ Signed in. Next tests reading and sending mail with it.", "green"))
        self.post_message(self.SignedIn(tokens))

    async def _device(self, settings: EmailSettings) -> Tokens:
        self.say(Text("Asking for a sign-in code…", "dim"))
        code = await request_device_code(settings)
        text = Text()
        text.append("On any device, open ")
        text.append(line(code.verification_uri), Style(bold=True, link=code.verification_uri))
        text.append(" and enter the code ")
        text.append(line(code.user_code), "bold reverse")
        text.append(f"\nSign in as {line(settings.address)}. Waiting for you to finish"
                    f" (the code works for {max(1, round(code.expires_in / 60))} minutes)…",
                    "dim")
        self.say(text)
        return await poll_device_code(settings, code)

    async def _browser(self, settings: EmailSettings) -> Tokens:
        self.browser = BrowserSignIn(settings)
        try:
            self.url = await self.browser.start()
            text = Text()
            text.append("Open this address in a browser on this machine and sign in as ")
            text.append(line(settings.address), "bold")
            text.append(":\n")
            text.append(line(self.url), Style(link=self.url))
            text.append("\nThe browser comes back to ticketty by itself. Working over SSH? The "
                        "browser then ends on a page that does not load: copy that page's "
                        "address from the address bar and paste it below.", "dim")
            self.say(text)
            self.query_one("#signin-copy").display = True
            self.query_one("#signin-paste-row").display = True
            self.query_one("#signin-paste", Input).value = ""
            self.query_one("#signin-paste-row").scroll_visible()
            return await self.browser.wait()
        finally:
            await self.browser.close()
            self.browser = None
