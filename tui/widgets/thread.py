"""A ticket's conversation as one Line-API view: long threads scroll without a widget each.

Messages are rendered to :class:`~textual.strip.Strip` lines once per width (and theme) and
``render_line`` slices them. Customer messages, agent replies, internal notes and system events
look different: a coloured bar per direction, notes on a tinted background with an "internal
note" label, system events as one dim line. HTML-only mail is shown as text. A failed reply says
so on its header line together with the retry key.

Keys: ``j``/``k`` line, ``space``/``b`` page, ``ctrl+d``/``ctrl+u`` half page, ``g``/``G``
top/bottom (ids ``thread.*``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, tzinfo

from rich.console import Group, RenderableType
from rich.padding import Padding
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.binding import Binding
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from engine.models import Message
from tui.text import clean, line
from tui.timefmt import ago, stamp, system_clock


def html_to_text(html: str) -> str:
    """Readable text from an HTML mail body (links kept as ``text (url)``)."""
    import html2text

    converter = html2text.HTML2Text()
    converter.body_width = 0
    converter.ignore_images = True
    converter.inline_links = True
    return converter.handle(html).strip()


def body_of(message: Message) -> str:
    if message.text and message.text.strip():
        return message.text
    if message.html:
        return html_to_text(message.html)
    return ""


LABELS = {"inbound": "customer", "outbound": "reply", "note": "internal note", "system": "event"}


class ThreadView(ScrollView, can_focus=True):
    DEFAULT_CSS = """
    ThreadView { height: 1fr; overflow-x: hidden; padding: 0 1; }
    ThreadView > .thread--inbound-bar { color: $primary; }
    ThreadView > .thread--outbound-bar { color: $success; }
    ThreadView > .thread--note-bar { color: $warning; }
    ThreadView > .thread--note { background: $warning 12%; }
    ThreadView > .thread--header { text-style: bold; }
    ThreadView > .thread--meta { color: $text-muted; }
    ThreadView > .thread--system { color: $text-muted; text-style: italic; }
    ThreadView > .thread--failed { color: $error; text-style: bold; }
    ThreadView > .thread--pending { color: $warning; }
    ThreadView > .thread--sent { color: $success; }
    """
    COMPONENT_CLASSES = {
        "thread--inbound-bar", "thread--outbound-bar", "thread--note-bar", "thread--note",
        "thread--header", "thread--meta", "thread--system", "thread--failed", "thread--pending",
        "thread--sent",
    }
    BINDINGS = [
        Binding("j,down", "scroll_lines(1)", "Scroll down", show=False, id="thread.down"),
        Binding("k,up", "scroll_lines(-1)", "Scroll up", show=False, id="thread.up"),
        Binding("space,pagedown", "scroll_lines(0.9)", "Page down", show=False, id="thread.page_down"),
        Binding("b,pageup", "scroll_lines(-0.9)", "Page up", show=False, id="thread.page_up"),
        Binding("ctrl+d", "scroll_lines(0.5)", "Half page down", show=False, id="thread.half_down"),
        Binding("ctrl+u", "scroll_lines(-0.5)", "Half page up", show=False, id="thread.half_up"),
        Binding("g,home", "top", "Top", show=False, id="thread.top"),
        Binding("G,end", "bottom", "Bottom", show=False, id="thread.bottom"),
    ]

    def __init__(self, *, clock: Callable[[], datetime] = system_clock, tz: tzinfo | None = None,
                 retry_key: str = "R", id: str | None = None) -> None:
        super().__init__(id=id)
        self.clock = clock
        self.tz = tz
        self.retry_key = retry_key
        self.messages: list[Message] = []
        self.channel_names: dict[int, str] = {}
        self._lines: list[Strip] = []
        self._built_width = -1

    def set_messages(self, messages: list[Message], channel_names: dict[int, str] | None = None,
                     *, follow: bool = False) -> None:
        at_bottom = self.scroll_offset.y >= self.max_scroll_y - 1
        self.messages = messages
        self.channel_names = channel_names or {}
        self._built_width = -1
        self._build()
        if follow or at_bottom:
            self.scroll_end(animate=False, immediate=True)
        self.refresh()

    # ---------------------------------------------------------------- building
    def _build(self) -> None:
        width = self.scrollable_content_region.width
        if width <= 0:
            return
        self._built_width = width
        lines: list[Strip] = []
        for message in self.messages:
            lines.extend(self._render_message(message, width))
            if message.direction.value != "system":
                lines.append(Strip.blank(width, self.rich_style))
        if not self.messages:
            lines.append(Strip([Segment("  (no messages)", self._style("thread--meta"))], width)
                         .adjust_cell_length(width, self.rich_style))
        self._lines = lines
        self.virtual_size = Size(width, len(lines))

    def _style(self, component: str) -> Style:
        return self.rich_style + self.get_component_rich_style(component)

    def _lines_of(self, renderable: RenderableType, width: int, style: Style) -> list[Strip]:
        console = self.app.console
        options = console.options.update_width(max(1, width))
        return [Strip(line_, width) for line_ in
                console.render_lines(renderable, options, style=style, pad=True)]

    def _event_text(self, m: Message, when: str, width: int) -> Text:
        """An event line, continued lines indented under its text; its time ("2025-03-04
        12:06 (now)") is never split: it ends the last line when it fits there, else it takes
        a line of its own."""
        lead = "  ── "
        head = Text(clean(m.text, multiline=False))
        if m.author_name:
            head.append(f" · {line(m.author_name)}")
        tail = f" · {when}"
        if len(lead) + head.cell_len + len(tail) <= width:
            return Text(lead) + head + tail
        inner = max(8, width - len(lead))
        lines = list(head.wrap(self.app.console, inner))
        last = lines[-1]
        last.rstrip()
        if last.cell_len + len(tail) <= inner:
            last.append(tail)
        else:
            lines.append(Text(when))
        return Text("\n").join(Text(lead if i == 0 else " " * len(lead)) + piece
                               for i, piece in enumerate(lines))

    def _render_message(self, m: Message, width: int) -> list[Strip]:
        kind = m.direction.value
        now = self.clock()
        when = f"{stamp(m.created_at, self.tz)} ({ago(m.created_at, now)})"
        if kind == "system":
            return self._lines_of(self._event_text(m, when, width), width,
                                  self._style("thread--system"))
        base = self._style("thread--note") if kind == "note" else self.rich_style
        header = Text(no_wrap=True, overflow="ellipsis")
        author = line(m.author_name) or line(m.author_email) or "unknown"
        header.append(author, self.get_component_rich_style("thread--header"))
        if m.author_email and m.author_name:
            header.append(f" <{line(m.author_email)}>", self.get_component_rich_style("thread--meta"))
        meta = [LABELS.get(kind, kind)]
        if m.channel_id is not None and m.channel_id in self.channel_names:
            meta.append(line(self.channel_names[m.channel_id]))
        meta.append(when)
        header.append(" · " + " · ".join(meta), self.get_component_rich_style("thread--meta"))
        parts: list[RenderableType] = [header]
        state = m.delivery_state.value
        if kind == "outbound" and state != "none":
            status = Text()
            if state == "failed":
                status.append(f"✗ not sent: {line(m.delivery_error) or 'failed'}"
                              f" — press {self.retry_key} to retry",
                              self.get_component_rich_style("thread--failed"))
            elif state == "sent":
                status.append("✓ sent", self.get_component_rich_style("thread--sent"))
            elif state in ("delivered", "read"):  # messaging apps' receipts
                status.append("✓✓ " + state, self.get_component_rich_style("thread--sent"))
            else:
                status.append(f"… {state}", self.get_component_rich_style("thread--pending"))
            parts.append(status)
        body = clean(body_of(m)).rstrip() or "(empty)"
        parts.append(Padding(Text(body), (0, 0, 0, 1)))
        for attachment in m.attachments:
            parts.append(Text(f" 📎 {line(attachment.filename)} ({attachment.size:,} bytes)",
                              self.get_component_rich_style("thread--meta")))
        bar_style = self._style(f"thread--{kind}-bar") + (base if kind == "note" else Style())
        inner = self._lines_of(Group(*parts), width - 2, base)
        bar = Segment("▌ ", bar_style)
        return [Strip([bar, *strip]) for strip in inner]

    # --------------------------------------------------------------- rendering
    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._built_width = -1

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        if width != self._built_width:
            self._build()
        index = y + int(self.scroll_offset.y)
        if 0 <= index < len(self._lines):
            return self._lines[index]
        return Strip.blank(width, self.rich_style)

    def on_resize(self) -> None:
        self._built_width = -1
        self._build()

    @property
    def line_count(self) -> int:
        return len(self._lines)

    def plain_lines(self) -> list[str]:
        """The rendered thread as plain text lines (for tests and copy)."""
        return [strip.text for strip in self._lines]

    # -------------------------------------------------------------------- keys
    def action_scroll_lines(self, amount: float) -> None:
        step = amount if abs(amount) >= 1 else amount * max(1, self.size.height)
        self.scroll_to(y=self.scroll_offset.y + int(step), animate=False, immediate=True)

    def action_top(self) -> None:
        self.scroll_home(animate=False, immediate=True)

    def action_bottom(self) -> None:
        self.scroll_end(animate=False, immediate=True)
