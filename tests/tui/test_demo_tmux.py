"""``ticketty demo --seconds N`` in a real terminal (tmux): the TUI ends on its own after N
seconds, the process with it, and the temporary workspace is removed unless ``--keep``
(issue 11, item 3). The start and ``q`` of the demo are in scripts/tmux-smoke.sh."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

BIN = str(Path(sys.executable).with_name("ticketty"))

pytestmark = pytest.mark.usefixtures("tmux")  # fails loudly when tmux is missing


class Tmux:
    """One private tmux server; the pane stays after its command ends, to read its last words.

    The command's exit status is written to a file by the pane's shell: tmux 3.3a sometimes
    never reaps the pane's process, so its ``pane_dead_status`` can stay empty.
    """

    def __init__(self, name: str, status: Path) -> None:
        self.sock = name
        self.status = status

    def tmux(self, *args: str) -> str:
        return subprocess.run(["tmux", "-L", self.sock, *args], capture_output=True, text=True,
                              timeout=10).stdout

    def start(self, command: str) -> None:
        subprocess.run(["tmux", "-L", self.sock, "-f", "/dev/null", "new-session", "-d", "-s", "t",
                        "-x", "140", "-y", "40", f"{command}; echo $? > '{self.status}'",
                        ";", "set-option", "-t", "t",
                        "remain-on-exit", "on"], check=True, timeout=10)

    def dead(self) -> bool:
        return self.status.exists() and self.status.read_text().strip() != ""

    def exit_status(self) -> int:
        return int(self.status.read_text())

    def text(self) -> str:
        return self.tmux("capture-pane", "-p", "-S", "-200", "-t", "t")

    def wait(self, predicate, limit: float) -> float:
        """Seconds until ``predicate()`` held (fails after ``limit``)."""
        start = time.monotonic()
        while not predicate():
            assert time.monotonic() - start < limit, self.text()
            time.sleep(0.05)
        return time.monotonic() - start

    def close(self) -> None:
        self.tmux("kill-server")


@pytest.fixture
def tmux(request, tmp_path):
    server = Tmux(f"ticketty-test-{request.node.name[:20]}-{time.monotonic_ns()}",
                  tmp_path / "exit-status")
    yield server
    server.close()


def test_seconds_ends_the_demo_tui_and_the_workspace_goes(tmux, tmp_path):
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    tmux.start(f"TMPDIR='{tmp}' '{BIN}' demo --seconds 4")
    tmux.wait(lambda: "All open" in tmux.text(), 30)
    shown = time.monotonic()
    tmux.wait(tmux.dead, 15)
    assert time.monotonic() - shown < 6  # 4 s from the start, and a clean exit
    assert tmux.exit_status() == 0
    assert "demo workspace removed" in tmux.text()
    assert list(tmp.iterdir()) == []


def test_keep_keeps_the_demo_workspace(tmux, tmp_path):
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    tmux.start(f"TMPDIR='{tmp}' '{BIN}' demo --seconds 3 --keep")
    tmux.wait(tmux.dead, 40)
    kept = list(tmp.glob("ticketty-demo-*/demo.db"))
    assert len(kept) == 1 and f"demo workspace kept at {kept[0]}" in tmux.text().replace("\n", "")
