"""Answer sources (spoken choices and the like) through the engine_answer_sources hook: the first clear
answer wins, typed or heard; used-up sources leave the keyboard; scripted choices never ask them."""

from __future__ import annotations

import os
from collections.abc import Sequence

import pytest

from engine import ChoiceOption, hookimpl, hookspecs
from engine.core.errors import QuitGame
from tests.support.common import ENDINGS, TOMB
from tests.support.play import play

HOOKS = sorted(name for name in dir(hookspecs) if name.startswith("engine_"))
DAWN = ENDINGS["The Sun Rises on Time"]


class Heard:
    """An AnswerSource with answers given in advance (as speech recognition would produce them)."""

    label = "heard"

    def __init__(self, answers: list[str], closed: list[int]) -> None:
        self.answers = answers
        self.closed = closed

    def poll(self, timeout: float) -> str | None:
        return self.answers.pop(0) if self.answers else None

    def finished(self) -> bool:
        return not self.answers

    def close(self) -> None:
        self.closed.append(1)


class Listener:
    def __init__(self, said: list[list[str]], typed: dict[int, tuple[int, bytes]] | None = None) -> None:
        self.said = said  # what the player says at each choice
        self.typed = typed or {}  # choice index -> (fd, what the player types there)
        self.closed: list[int] = []
        self.asked: list[list[str]] = []

    @hookimpl
    def engine_answer_sources(self, options: Sequence[ChoiceOption]) -> Heard | None:
        self.asked.append([o.label for o in options])
        if len(self.asked) - 1 in self.typed:
            fd, text = self.typed[len(self.asked) - 1]
            os.write(fd, text)
        return Heard(self.said.pop(0), self.closed) if self.said else None


def test_hook_engine_answer_sources() -> None:
    # Buried Again is 1,2,1,2,2; the third answer is typed, the others heard; one unclear answer is asked again
    read_fd, write_fd = os.pipe()
    said = [["Go in now."], ["banana bread", "Number two."], [], ["the second one"], ["Turn back and run!"]]
    listener = Listener(said, {2: (write_fd, b"take the scarab\n")})
    try:
        ending, out = play(TOMB, None, listener, stdin=read_fd)
    finally:
        os.close(write_fd)
    assert ending == "Buried Again"
    assert len(listener.asked) == 5 and listener.closed == [1] * 5  # each closed once its choice is made
    assert "banana bread  (heard)" in out
    assert 'That is not one of the choices; say "number 1" to "number 2" or words of a choice, or type it.' in out
    assert "Number two.  (heard)" in out and "Turn back and run!  (heard)" in out


def test_answer_sources_that_are_used_up_leave_the_keyboard() -> None:
    listener = Listener([["three"]])  # not offered at the first choice (it has two)
    with pytest.raises(QuitGame):  # end of typed input, nothing more to hear: quit (and save)
        play(TOMB, None, listener)
    assert listener.closed == [1]


def test_scripted_choices_do_not_ask_for_answer_sources() -> None:
    listener = Listener([["two"]] * 9)
    play(TOMB, DAWN, listener)
    assert listener.asked == []
