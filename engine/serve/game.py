"""One browser game: steps its Playthrough up to the next choice, says each line to its voice and keeps
each line's audio for the page, which fetches it by the line's number (never by anything else it sends)."""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from engine.config import EngineSettings
from engine.core.directions import shown
from engine.core.errors import EngineError
from engine.core.model import Line, SpokenLine, Story
from engine.formats import ChoiceStep, LineStep, Playthrough, SceneStep
from engine.hookspecs import GameVoice, LineSound
from engine.runner import spoken_line
from engine.trace import line_fields

KEPT_BEHIND = 16  # lines older than the newest one fetched by this many are forgotten (replay reaches back 16)
MAX_STEPS = 10_000  # steps between two choices: more is a story that loops without asking


class BadRequest(EngineError):
    """Something the page sent that this game cannot take (the server answers 4xx with this sentence)."""


@dataclass
class Heard:
    line: SpokenLine
    sound: LineSound | None = None  # None until said (a choice's spoken list is said when first fetched)


@dataclass
class Game:
    story: Story
    player: str
    playthrough: Playthrough
    settings: EngineSettings
    voice: GameVoice | None
    trace: Callable[[dict[str, Any]], None]
    game_id: str = field(default_factory=lambda: secrets.token_hex(16))
    lock: threading.Lock = field(default_factory=threading.Lock)  # one request at a time moves the game
    saving: threading.Lock = field(default_factory=threading.Lock)  # one autosave at a time (players.py)
    moves: int = 0  # the game's moves so far, and how many of them the autosave holds
    saved_moves: int = -1
    heard: dict[int, Heard] = field(default_factory=dict)
    count: int = 0
    options: tuple[tuple[str, str], ...] | None = None  # the choice waiting for an answer
    ending: str | None = None
    scene_title: str = ""
    last_seen: float = field(default_factory=time.monotonic)
    notices: list[str] = field(default_factory=list)  # for the player's next answer (notice, take_notices)
    notices_lock: threading.Lock = field(default_factory=threading.Lock)  # voice threads add while a request takes

    def notice(self, text: str) -> None:
        """A one-line notice for this game's page (any thread)."""
        with self.notices_lock:
            self.notices.append(text)

    def take_notices(self) -> list[str]:
        """The notices since the last answer, handed over once."""
        with self.notices_lock:
            taken, self.notices = self.notices, []
        return taken

    def start(self) -> list[dict[str, Any]]:
        with self.lock:
            return self._advance()

    def choose(self, number: int) -> list[dict[str, Any]]:
        """The player picked choice `number` (1-based, as shown); the events up to the next choice or ending."""
        with self.lock:
            if self.options is None:
                raise BadRequest("There is no choice to make now." if self.ending is None else "The story has ended.")
            if not 1 <= number <= len(self.options):
                raise BadRequest(f"Choice {number} does not exist; choose 1 to {len(self.options)}.")
            label, target = self.options[number - 1]
            self.trace({"event": "choice", "choice": number, "label": label, "target": target})
            self.options = None
            self.playthrough.choose(number - 1)
            return self._advance()

    def sound(self, number: int) -> LineSound | None:
        """Line `number`'s audio (said now if it is a choice list); None when unknown or forgotten."""
        with self.lock:
            heard = self.heard.get(number)
            if heard is None:
                return None
            if heard.sound is None and self.voice is not None:
                heard.sound = self.voice.say(heard.line)
            for old in [n for n in self.heard if n < number - KEPT_BEHIND]:
                del self.heard[old]
            return heard.sound

    def skip(self, number: int) -> None:
        with self.lock:
            heard = self.heard.get(number)
        if heard is not None and heard.sound is not None and self.voice is not None:
            self.trace({"event": "skip", "line_id": heard.line.line_id})
            self.voice.skip(heard.sound)

    def save(self) -> dict[str, Any]:
        with self.lock:
            return self.playthrough.save()

    def close(self, reason: str) -> None:
        if self.voice is not None:
            self.voice.close()
        self.trace({"event": "ended", "ending": self.ending, "reason": reason})

    def _advance(self) -> list[dict[str, Any]]:
        self.moves += 1
        events: list[dict[str, Any]] = []
        for _ in range(MAX_STEPS):
            step = self.playthrough.next()
            if isinstance(step, SceneStep):
                self.scene_title = step.scene.title
                self.trace({"event": "scene", "scene": step.scene.scene_id, "resumed": step.resumed})
                events.append({"kind": "scene", "title": step.scene.title, "resumed": step.resumed})
                self._prefetch()
            elif isinstance(step, LineStep):
                events.append(self._line(step.line))
            elif isinstance(step, ChoiceStep):
                self.options = step.options
                self._prefetch()
                labels = [label for label, _ in step.options]
                self.trace({"event": "choices", "options": labels})
                listed = " ".join(f"{n}. {label}" for n, label in enumerate(labels, start=1))
                spoken = SpokenLine(f"{step.scene.scene_id}.choices", step.scene.scene_id, self.story.narrator,
                                    self._narrator(), listed, True, self.story.language)
                number = self._keep(spoken, say=False)
                events.append({"kind": "choices", "options": labels, "sound": number if self.voice else None})
                return events
            else:
                self.ending = step.title
                events.append({"kind": "ending", "title": step.title})
                return events
        raise BadRequest(f"The story ran {MAX_STEPS} steps without a choice or an ending.")

    def _line(self, line: Line) -> dict[str, Any]:
        spoken = spoken_line(self.story, line)
        self.trace({"event": "narration" if line.is_narration else "dialogue", **line_fields(spoken)})
        number = self._keep(spoken, say=True)
        words = len(spoken.text.split())
        event: dict[str, Any] = {"kind": "line", "number": number, "text": spoken.text,
                                 "sound": number if self.heard[number].sound is not None else None,
                                 "speaker": None if line.is_narration else spoken.speaker,
                                 "seconds": max(self.settings.min_pause, words * 60.0 / self.settings.words_per_minute)}
        if self.settings.directions == "show":
            event["directions"] = shown(spoken.directions)
            event["qualifier"] = spoken.qualifier
        return event

    def _keep(self, spoken: SpokenLine, say: bool) -> int:
        self.count += 1
        self.heard[self.count] = Heard(spoken, self.voice.say(spoken) if say and self.voice and spoken.text else None)
        return self.count

    def _prefetch(self) -> None:
        if self.voice is not None:
            upcoming = self.playthrough.upcoming(self.settings.opening_lines)
            self.voice.prefetch([spoken_line(self.story, line) for line in upcoming])

    def _narrator(self) -> str:
        character = self.story.characters.get(self.story.narrator)
        return character.display_name if character else self.story.narrator
