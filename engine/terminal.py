"""The terminal player: prints the story with rich and reads the player's keys."""

from __future__ import annotations

import os
import select
import sys
import threading
import time
from collections.abc import Callable, Sequence

from rich.console import Console
from rich.markup import escape

from engine.choosing import match_choice
from engine.core.directions import shown
from engine.core.errors import QuitGame, ScriptedChoicesExhausted
from engine.core.model import ChoiceOption, Scene, SpokenLine, Story
from engine.hookspecs import AnswerSource, Waitable

QUIT_WORDS = ("q", "quit", "exit")


class LineReader:
    """Reads whole lines from a file descriptor, with a non-blocking poll (no stdio buffering)."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.buffer = b""
        self.eof = False

    def poll(self, timeout: float) -> str | None:
        """A complete line if one arrives within `timeout`, else None."""
        if b"\n" not in self.buffer and not self.eof:
            ready, _, _ = select.select([self.fd], [], [], timeout)
            if ready:
                self._fill()
        elif self.eof:
            time.sleep(timeout)
        return self._take_rest()

    def readline(self) -> str | None:
        """Blocks for a line; None at end of input."""
        while b"\n" not in self.buffer and not self.eof:
            self._fill()
        return self._take_rest()

    def _fill(self) -> None:
        chunk = os.read(self.fd, 4096)
        if chunk:
            self.buffer += chunk
        else:
            self.eof = True

    def _take_rest(self) -> str | None:
        """The next line; at end of input also a last line with no newline."""
        line = self._take()
        if line is None and self.eof and self.buffer:
            line, self.buffer = self.buffer.decode(errors="replace"), b""
        return line

    def _take(self) -> str | None:
        if b"\n" not in self.buffer:
            return None
        line, self.buffer = self.buffer.split(b"\n", 1)
        return line.decode(errors="replace").rstrip("\r")


class ScriptedAnswers:
    """`--choices 1,2,1`: the answers given in advance, one per menu, in order."""

    def __init__(self, answers: list[int]) -> None:
        self.answers = answers
        self.answered = 0

    def choose(self, options: Sequence[ChoiceOption], scene: Scene) -> ChoiceOption:
        if self.answered >= len(self.answers):
            raise ScriptedChoicesExhausted(
                f"--choices ran out after {len(self.answers)} answers, at the choices of scene '{scene.scene_id}'."
            )
        number = self.answers[self.answered]
        self.answered += 1
        if not 1 <= number <= len(options):
            raise ScriptedChoicesExhausted(
                f"--choices answer #{self.answered} is {number}, but scene '{scene.scene_id}' offers 1 to {len(options)}."
            )
        return options[number - 1]


class Terminal:
    def __init__(self, console: Console | None = None, answers: list[int] | None = None, fd: int | None = None,
                 directions: bool = True) -> None:
        self.console = console or Console(highlight=False)
        self.console.soft_wrap = not self.console.is_terminal  # pipes and files get whole lines
        self.scripted = ScriptedAnswers(answers) if answers is not None else None
        self.reader = LineReader(sys.stdin.fileno() if fd is None else fd)
        self.lock = threading.Lock()
        self.prompting = False  # "> " is shown and no answer has come yet
        self.directions = directions  # show acting directions (dim, apart from the speech)

    def say(self, text: str, style: str = "") -> None:
        with self.lock:
            self.console.print(escape(text), style=style or None)

    def notice(self, text: str) -> None:
        """A one-line notice from a plugin (any thread); an open "> " prompt is shown again below it."""
        with self.lock:
            if self.prompting:
                self.console.print()
            self.console.print(escape(f"[{text}]"), style="yellow")
            if self.prompting:
                self.console.print("> ", end="")

    def show_title(self, story: Story) -> None:
        byline = f" by {story.author}" if story.author else ""
        self.say(f"{story.title}{byline}", "bold")
        self.say("(Enter skips a line, q quits and saves.)", "dim")

    def show_scene(self, scene: Scene, resumed: bool = False) -> None:
        if scene.title:  # an ink knot without a `# title:` tag shows no heading, as in Inky
            self.say("")
            self.say(f"— {scene.title} —", "bold cyan")

    def show_line(self, line: SpokenLine) -> None:
        """Speech plain, stage directions dim and italic (or hidden): `Guide (O.S.): (whispering) Here.`"""
        directions = shown(line.directions) if self.directions else ""
        if not line.text and not directions:
            return
        said = " ".join(part for part in (f"[dim italic]{escape(directions)}[/]" if directions else "",
                                          escape(line.text)) if part)
        qualifier = f" [dim]({escape(line.qualifier)})[/]" if line.qualifier and self.directions else ""
        with self.lock:
            if line.is_narration:
                self.console.print(said)
            else:
                self.console.print(f"[bold]{escape(line.speaker)}[/bold]{qualifier}[bold]:[/bold] {said}")

    def show_ending(self, title: str) -> None:
        self.say("")
        self.say(f"*** {title} ***", "bold magenta")

    def pause(self, seconds: float, waits: Sequence[Waitable]) -> str:
        deadline = time.monotonic() + seconds
        while True:
            pending = [w for w in waits if not w.wait(0)]
            left = deadline - time.monotonic()
            if left <= 0 and not pending:
                return "done"
            typed = self.reader.poll(min(0.05, left) if left > 0 else 0.05)
            if typed is not None:
                return "quit" if typed.strip().lower() in QUIT_WORDS else "skip"

    def choose(self, options: Sequence[ChoiceOption], scene: Scene,
               listen: Callable[[], list[AnswerSource]] = list) -> ChoiceOption:
        with self.lock:  # the menu is printed whole: a notice from another thread comes before or after it
            self.console.print()
            for option in options:
                self.console.print(escape(f"  {option.number}. {option.label}"), style="green")
        if self.scripted is not None:
            chosen = self.scripted.choose(options, scene)
            self.say(f"> {chosen.number}")
            return chosen
        sources = listen()
        try:
            return self._ask(options, sources)
        finally:
            for source in sources:
                source.close()

    def _ask(self, options: Sequence[ChoiceOption], sources: Sequence[AnswerSource]) -> ChoiceOption:
        """Waits for a clear answer, typed or from a plugin's source (speech), whichever comes first."""
        self._prompt()
        while True:
            try:
                answer, label = self._wait_answer(sources)
            finally:
                self.prompting = False
            if label is None and answer.strip().lower() in QUIT_WORDS:
                raise QuitGame()
            if label is not None:
                self.say(f"{answer}  ({label})", "dim")
            fits = match_choice(answer, options)
            if len(fits) == 1:
                return fits[0]
            verb = "say or type" if sources else "type"
            if fits:
                self.say(f"That fits {len(fits)} choices; {verb} its number.", "dim")
            elif label is not None:
                self.say(f"That is not one of the choices; say \"number 1\" to \"number {len(options)}\" "
                         "or words of a choice, or type it.", "dim")
            else:
                self.say(f"Type a number from 1 to {len(options)}, or a word from a choice (q quits).", "dim")
            self._prompt()

    def _wait_answer(self, sources: Sequence[AnswerSource]) -> tuple[str, str | None]:
        """(answer, source label or None when typed); raises QuitGame at end of input with nothing left to hear."""
        while True:
            if not sources:
                typed = self.reader.readline()
                if typed is None:
                    raise QuitGame()
                return typed, None
            typed = self.reader.poll(0.05)
            if typed is not None:
                return typed, None
            for source in sources:
                heard = source.poll(0)
                if heard is not None:
                    return heard, source.label
            if self.reader.eof and all(source.finished() for source in sources):
                raise QuitGame()

    def _prompt(self) -> None:
        with self.lock:
            self.console.print("> ", end="")
            self.prompting = True
