"""The composer: a multi-line reply or internal note, with the signature shown as it will be sent.

Keys (ids): ``ctrl+s`` send (``composer.send``), ``ctrl+r`` insert a canned reply
(``composer.canned``), ``escape`` put the draft away (``composer.cancel``; the draft is kept
until sent).
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Static, TextArea


class Composer(Vertical):
    DEFAULT_CSS = """
    Composer { height: auto; max-height: 60%; border-top: heavy $primary; background: $surface;
        padding: 0 1; }
    Composer.-note { border-top: heavy $warning; }
    Composer #composer-title { text-style: bold; color: $primary; }
    Composer.-note #composer-title { color: $warning; }
    Composer TextArea, Composer TextArea:focus { height: 8; border: none; padding: 0; }
    Composer #composer-signature { color: $text-muted; max-height: 6; }
    """
    BINDINGS = [
        Binding("ctrl+s", "send", "Send", id="composer.send"),
        Binding("ctrl+r", "canned", "Canned reply", id="composer.canned"),
        Binding("escape", "cancel", "Put away", id="composer.cancel"),
    ]

    class Send(Message):
        def __init__(self, kind: str, body: str) -> None:
            super().__init__()
            self.kind = kind
            self.body = body

    class Cancelled(Message):
        pass

    class CannedWanted(Message):
        pass

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.kind = "reply"
        self.drafts: dict[str, str] = {"reply": "", "note": ""}

    def compose(self) -> ComposeResult:
        yield Static(Text(""), id="composer-title")
        yield TextArea(id="composer-text", soft_wrap=True, show_line_numbers=False)
        yield Static(Text(""), id="composer-signature")

    def open(self, kind: str, title: str, signature: str | None, send_key: str = "ctrl+s") -> None:
        """Show the composer for ``kind`` ("reply" or "note") and focus it."""
        if self.display and self.kind != kind:
            self.drafts[self.kind] = self.text_area.text
        self.kind = kind
        self.set_class(kind == "note", "-note")
        hint = f"  ({send_key} send · ctrl+r canned reply · esc put away)"
        self.query_one("#composer-title", Static).update(Text(title + hint))
        preview = self.query_one("#composer-signature", Static)
        if kind == "reply" and signature:
            preview.update(Text("-- \n" + signature))
            preview.display = True
        elif kind == "note":
            preview.update(Text("Internal: only agents see notes."))
            preview.display = True
        else:
            preview.display = bool(signature is None)
            preview.update(Text("No email channel: this reply cannot be sent." if signature is None
                                else ""))
        self.text_area.text = self.drafts.get(kind, "")
        self.display = True
        self.text_area.focus()
        self.text_area.move_cursor(self.text_area.document.end)

    @property
    def text_area(self) -> TextArea:
        return self.query_one("#composer-text", TextArea)

    def insert(self, text: str) -> None:
        self.text_area.insert(text)
        self.text_area.focus()

    def clear(self) -> None:
        self.drafts[self.kind] = ""
        self.text_area.text = ""

    def action_send(self) -> None:
        self.post_message(self.Send(self.kind, self.text_area.text))

    def action_canned(self) -> None:
        self.post_message(self.CannedWanted())

    def action_cancel(self) -> None:
        self.drafts[self.kind] = self.text_area.text
        self.display = False
        self.post_message(self.Cancelled())
