"""The composer: a multi-line reply or internal note, shown as it will be sent.

A reply shows its recipient and the exact subject that goes out (the reply channel's
``composer_spec``: for email the rule the mail is built with), the signature (its
``signature_preview``) or why it cannot be sent now, and the status the ticket takes when it
is sent — "send as: pending" — which ``ctrl+o`` cycles through the pipeline's statuses before sending
(Zendesk's "submit as"). A canned reply lands at the cursor as a paragraph of its own.

Keys (ids): ``ctrl+s`` send (``composer.send``), ``ctrl+r`` insert a canned reply
(``composer.canned``), ``ctrl+o`` next send-as status (``composer.send_as``), ``escape`` put
the draft away (``composer.cancel``; the draft is kept until sent).

A reply whose ticket changed since the composer opened (a customer's message, another
agent's reply, a reassignment or close) is held: :meth:`Composer.hold` lists what changed, and
the send key again sends it anyway (the ticket screen decides; see tui/screens/ticket.py).
"""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Static, TextArea

from tui.text import line


def as_paragraph(before: str, after: str, text: str) -> str:
    """``text`` made ready to go between ``before`` and ``after`` as a paragraph of its own:
    a blank line separates it from any text on either side (none is doubled)."""
    body = text.strip("\n")
    if before.strip():
        trailing = len(before) - len(before.rstrip("\n"))
        body = "\n" * max(0, 2 - trailing) + body
    if after.strip():
        leading = len(after) - len(after.lstrip("\n"))
        body += "\n" * max(0, 2 - leading)
    return body


class Composer(Vertical):
    DEFAULT_CSS = """
    Composer { height: auto; max-height: 60%; border-top: heavy $primary; background: $surface;
        padding: 0 1; }
    Composer.-note { border-top: heavy $warning; }
    Composer #composer-title { text-style: bold; color: $primary; }
    Composer.-note #composer-title { color: $warning; }
    Composer #composer-subject { color: $text-muted; }
    Composer TextArea, Composer TextArea:focus { height: 8; border: none; padding: 0; }
    Composer #composer-signature { color: $text-muted; max-height: 6; }
    Composer #composer-send-as { color: $text-muted; }
    Composer #composer-held { color: $warning; text-style: bold; }
    """
    BINDINGS = [
        Binding("ctrl+s", "send", "Send", id="composer.send"),
        Binding("ctrl+r", "canned", "Canned reply", id="composer.canned"),
        Binding("ctrl+o", "send_as", "Send as", id="composer.send_as",
                tooltip="Change the status the ticket takes when the reply is sent"),
        Binding("escape", "cancel", "Put away", id="composer.cancel"),
    ]

    class Send(Message):
        def __init__(self, kind: str, body: str, status: str | None = None,
                     attachments: tuple[Path, ...] = ()) -> None:
            super().__init__()
            self.kind = kind
            self.body = body
            self.status = status
            self.attachments = attachments

    class Cancelled(Message):
        pass

    class CannedWanted(Message):
        pass

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.kind = "reply"
        self.drafts: dict[str, str] = {"reply": "", "note": ""}
        self.attachments: list[Path] = []  # files sent with the reply (:attach FILE)
        self.statuses: list[str] = []
        self.send_as: str | None = None
        self.keys = {"send": "ctrl+s", "canned": "ctrl+r", "send_as": "ctrl+o"}

    def compose(self) -> ComposeResult:
        yield Static(Text(""), id="composer-title")
        yield Static(Text(""), id="composer-subject")
        held = Static(Text(""), id="composer-held")
        held.display = False
        yield held
        yield TextArea(id="composer-text", soft_wrap=True, show_line_numbers=False)
        yield Static(Text(""), id="composer-files")
        yield Static(Text(""), id="composer-signature")
        yield Static(Text(""), id="composer-send-as")

    def open(self, kind: str, title: str, signature: str | None, send_key: str = "ctrl+s", *,
             subject: str = "", statuses: list[str] | None = None,
             send_as: str | None = None, closed: str = "") -> None:
        """Show the composer for ``kind`` ("reply" or "note") and focus it.

        For a reply: ``subject`` is the subject as sent (empty: the channel's kind has none),
        ``statuses`` the pipeline's statuses ``ctrl+o`` cycles through, ``send_as`` the one
        preselected (the pipeline's status after a reply; None: the status stays);
        ``signature`` None means the reply cannot be sent now and ``closed`` says why.
        """
        if self.display and self.kind != kind:
            self.drafts[self.kind] = self.text_area.text
        self.kind = kind
        self.keys["send"] = send_key
        self.set_class(kind == "note", "-note")
        hint = f"  ({send_key} send · {self.keys['canned']} canned reply · esc put away)"
        self.query_one("#composer-title", Static).update(Text(title + hint))
        subject_line = self.query_one("#composer-subject", Static)
        subject_line.display = kind == "reply" and bool(subject)
        subject_line.update(Text("Subject: " + line(subject)))
        preview = self.query_one("#composer-signature", Static)
        if kind == "reply" and signature:
            preview.update(Text("-- \n" + signature))
            preview.display = True
        elif kind == "note":
            preview.update(Text("Internal: only agents see notes."))
            preview.display = True
        else:
            preview.display = bool(signature is None)
            preview.update(Text(closed if signature is None else ""))
        if kind == "reply":
            self.statuses = list(statuses or [])
            self.send_as = send_as
        self._show_send_as()
        self.release()
        self._show_files()
        self.text_area.text = self.drafts.get(kind, "")
        self.display = True
        self.text_area.focus()
        self.text_area.move_cursor(self.text_area.document.end)

    def _show_send_as(self) -> None:
        label = self.query_one("#composer-send-as", Static)
        label.display = self.kind == "reply" and bool(self.statuses)
        text = Text("send as: ")
        text.append(self.send_as or "(status unchanged)", "bold")
        if len(self.statuses) > 1:
            text.append(f"  ({self.keys['send_as']} changes it)")
        label.update(text)

    @property
    def text_area(self) -> TextArea:
        return self.query_one("#composer-text", TextArea)

    def insert(self, text: str) -> None:
        """Insert ``text`` at the cursor as a paragraph of its own (see :func:`as_paragraph`)."""
        area = self.text_area
        start, end = area.selection.start, area.selection.end
        first, last = min(start, end), max(start, end)
        before = area.get_text_range((0, 0), first)
        after = area.get_text_range(last, area.document.end)
        area.replace(as_paragraph(before, after, text), first, last)
        area.focus()

    def clear(self) -> None:
        self.drafts[self.kind] = ""
        self.text_area.text = ""
        self.release()
        self.attachments = []
        self._show_files()

    @property
    def held(self) -> bool:
        """Whether a send is held because the ticket changed (see :meth:`hold`)."""
        return bool(self.query_one("#composer-held", Static).display)

    def hold(self, changes: list[str]) -> None:
        """Hold the send: say what changed on the ticket since the composer opened; the send
        key again sends anyway (or the agent edits first)."""
        text = Text("Not sent — the ticket changed since you started:\n")
        for change in changes:
            text.append(f"  • {line(change)}\n")
        text.append(f"{self.keys['send']} again sends anyway, or edit first.")
        held = self.query_one("#composer-held", Static)
        held.update(text)
        held.display = True
        self.text_area.focus()

    def release(self) -> None:
        """Nothing held any more (sent, or the composer opened afresh)."""
        self.query_one("#composer-held", Static).display = False

    def attach(self, path: Path) -> None:
        """Send ``path`` with the reply (``:attach FILE``); shown under the text."""
        if path not in self.attachments:
            self.attachments.append(path)
        self._show_files()

    def _show_files(self) -> None:
        files = self.query_one("#composer-files", Static)
        files.display = self.kind == "reply" and bool(self.attachments)
        files.update(Text("  ".join(f"📎 {line(p.name)}" for p in self.attachments)))

    def action_send(self) -> None:
        status = self.send_as if self.kind == "reply" else None
        files = tuple(self.attachments) if self.kind == "reply" else ()
        self.post_message(self.Send(self.kind, self.text_area.text, status, files))

    def action_send_as(self) -> None:
        if self.kind != "reply" or not self.statuses:
            return
        index = self.statuses.index(self.send_as) if self.send_as in self.statuses else -1
        self.send_as = self.statuses[(index + 1) % len(self.statuses)]
        self._show_send_as()

    def action_canned(self) -> None:
        self.post_message(self.CannedWanted())

    def action_cancel(self) -> None:
        self.drafts[self.kind] = self.text_area.text
        self.display = False
        self.post_message(self.Cancelled())
