"""The terminal player's screen: what a notice from another thread may and may not cut into."""

from __future__ import annotations

import io
import os
import threading
from pathlib import Path

from rich.console import Console

from engine.core.model import ChoiceOption, Scene, Source
from engine.terminal import Terminal

OPTIONS = [ChoiceOption(1, "Open the door", "a"), ChoiceOption(2, "Go back", "b"), ChoiceOption(3, "Wait", "c")]


class Screen(io.StringIO):
    """A console's file that, once the first choice is printed, has another thread send a notice and gives it
    a second to get onto the screen (it gets there at once unless the menu holds the screen)."""

    def __init__(self, terminal: list[Terminal]) -> None:
        super().__init__()
        self.terminal = terminal
        self.notice: threading.Thread | None = None

    def write(self, text: str) -> int:
        written = super().write(text)
        if "1. Open the door" in text and self.notice is None:
            self.notice = threading.Thread(target=self.terminal[0].notice, args=("xtts voice is ready.",))
            self.notice.start()
            self.notice.join(timeout=1.0)
        return written


def test_a_notice_from_another_thread_never_splits_the_menu() -> None:
    holder: list[Terminal] = []
    screen = Screen(holder)
    read_fd, write_fd = os.pipe()
    os.write(write_fd, b"2\n")
    os.close(write_fd)
    terminal = Terminal(Console(file=screen, width=100, highlight=False), fd=read_fd)
    holder.append(terminal)
    try:
        chosen = terminal.choose(OPTIONS, Scene("hall", "Hall", (), (), Source(Path("hall.story"), 1)))
    finally:
        os.close(read_fd)
        assert screen.notice is not None
        screen.notice.join(timeout=10)
    lines = [line.strip().removeprefix("> ") for line in screen.getvalue().splitlines() if line.strip()]  # piped: no echo
    assert chosen.number == 2
    menu = [lines.index(f"{o.number}. {o.label}") for o in OPTIONS]
    assert menu == list(range(menu[0], menu[0] + 3))  # the three choices together
    assert "[xtts voice is ready.]" in lines and lines.index("[xtts voice is ready.]") not in range(menu[0], menu[2])
