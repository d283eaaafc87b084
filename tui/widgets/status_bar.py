"""The bottom line: who you are, your availability, who else is online, and what the screen
shows."""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from engine.presence import online_names
from tui.text import line


class StatusBar(Widget):
    DEFAULT_CSS = """
    StatusBar { height: 1; background: $panel; color: $text-muted; }
    StatusBar > .status-bar--available { color: $success; text-style: bold; }
    StatusBar > .status-bar--away { color: $warning; text-style: bold; }
    StatusBar > .status-bar--me { color: $text; }
    """
    COMPONENT_CLASSES = {"status-bar--available", "status-bar--away", "status-bar--me"}

    info: reactive[str] = reactive("")

    def on_mount(self) -> None:
        self.watch(self.app, "agent", self._agent_changed, init=False)

    def _agent_changed(self) -> None:
        self.refresh()

    def render(self) -> Text:
        agent = getattr(self.app, "agent", None)
        left = Text(no_wrap=True)
        if agent is None:
            left.append(" starting…")
        else:
            state = agent.availability.value
            left.append(" ● " if state == "available" else " ○ ",
                        self.get_component_rich_style(f"status-bar--{state}"))
            left.append(line(agent.name), self.get_component_rich_style("status-bar--me"))
            left.append(f" <{agent.email}> · ")
            left.append(state, self.get_component_rich_style(f"status-bar--{state}"))
            others = getattr(self.app, "others", None)
            names = online_names(others()) if others is not None else []
            if names:
                left.append(" · online: ")
                left.append(", ".join(line(n) for n in names),
                            self.get_component_rich_style("status-bar--me"))
        right = Text(f"{self.info} ", no_wrap=True)
        gap = max(1, self.size.width - left.cell_len - right.cell_len)
        return Text.assemble(left, " " * gap, right)
