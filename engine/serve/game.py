"""One browser game: the engine's Driver plays it (every hook fires, as in the terminal); its Page collects the
events the page shows and keeps each line's audio, which the page fetches by the line's number (never by
anything else it sends)."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from engine.core.directions import shown
from engine.core.errors import EngineError
from engine.core.model import Scene, SpokenLine
from engine.hookspecs import LineSound, Waitable
from engine.runner import ChoicePoint, Driver

KEPT_BEHIND = 16  # lines older than the newest one fetched by this many are forgotten (replay reaches back 16)


class BadRequest(EngineError):
    """Something the page sent that this game cannot take (the server answers 4xx with this sentence)."""


@dataclass
class Heard:
    line: SpokenLine
    sound: LineSound | None = None
    aloud: bool = False  # a choice list: read aloud (engine_read_aloud) when the page first asks for it


class Notices:
    """The sentences for the player's next answer (PlayContext.tell_player): added from any thread."""

    def __init__(self) -> None:
        self.lock = threading.Lock()  # voice threads add while a request takes
        self.waiting: list[str] = []

    def add(self, text: str) -> None:
        with self.lock:
            self.waiting.append(text)

    def take(self) -> list[str]:
        with self.lock:
            taken, self.waiting = self.waiting, []
        return taken


class Game:
    """A game's moves, one request at a time (`lock`); closed once, after which it answers nothing more."""

    def __init__(self, driver: Driver, player: str, notices: Notices, directions: bool) -> None:
        self.driver = driver
        self.game_id = driver.game
        self.player = player
        self.notices = notices
        self.directions = directions  # show acting directions in the page
        self.lock = threading.Lock()  # one request at a time moves the game
        self.saving = threading.Lock()  # one autosave at a time (players.py)
        self.moves = 0  # the game's moves so far, and how many of them the autosave holds
        self.saved_moves = -1
        self.heard: dict[int, Heard] = {}
        self.count = 0
        self.point: ChoicePoint | None = None  # the choice waiting for an answer
        self.scene_title = ""
        self.last_seen = time.monotonic()
        self.closed = False

    @property
    def ending(self) -> str | None:
        return self.driver.ending

    def notice(self, text: str) -> None:
        self.notices.add(text)

    def take_notices(self) -> list[str]:
        return self.notices.take()

    def start(self) -> list[dict[str, Any]]:
        with self.lock:
            self.driver.start()
            return self._advance()

    def choose(self, number: int) -> list[dict[str, Any]]:
        """The player picked choice `number` (1-based, as shown); the events up to the next choice or ending."""
        with self.lock:
            if self.closed:
                raise BadRequest("This game is closed; reload the page.")
            if self.point is None:
                raise BadRequest("There is no choice to make now." if self.ending is None else "The story has ended.")
            options = self.point.options
            if not 1 <= number <= len(options):
                raise BadRequest(f"Choice {number} does not exist; choose 1 to {len(options)}.")
            self.point = None
            self.driver.choose(options[number - 1])
            return self._advance()

    def sound(self, number: int) -> LineSound | None:
        """Line `number`'s audio (read aloud now if it is a choice list); None when unknown or forgotten."""
        with self.lock:
            heard = self.heard.get(number)
            if heard is None or self.closed:
                return None
            if heard.aloud and heard.sound is None:
                said = self.driver.read_aloud(heard.line)
                heard.sound = said if isinstance(said, LineSound) else None
            for old in [n for n in self.heard if n < number - KEPT_BEHIND]:
                del self.heard[old]
            return heard.sound

    def skip(self, number: int) -> None:
        with self.lock:
            heard = self.heard.get(number)
            if heard is not None and heard.sound is not None and not self.closed:
                self.driver.skip(heard.line)

    def save(self) -> dict[str, Any]:
        with self.lock:
            return self.driver.playthrough.save()

    def close(self, reason: str) -> None:
        """The game's end (engine_story_ended), once; a move in progress finishes first."""
        with self.lock:
            if self.closed:
                return
            self.closed = True
        self.driver.end(reason)

    def keep(self, line: SpokenLine, aloud: bool = False) -> int:
        self.count += 1
        self.heard[self.count] = Heard(line, aloud=aloud)
        return self.count

    def _advance(self) -> list[dict[str, Any]]:
        self.moves += 1
        page = Page(self)
        stop = self.driver.advance(page)
        if isinstance(stop, ChoicePoint):
            self.point = stop
            number = self.keep(self.driver.choices_line(stop), aloud=True)
            page.events.append({"kind": "choices", "options": [option.label for option in stop.options],
                                "sound": number if self.driver.can_read_aloud() else None})
        else:
            page.events.append({"kind": "ending", "title": stop.title})
        return page.events


class Page:
    """The Driver's front end for one move of a browser game: the events of the page's answer. It never waits:
    the page shows each line for its `seconds` or while its `sound` plays, whichever is longer."""

    def __init__(self, game: Game) -> None:
        self.game = game
        self.events: list[dict[str, Any]] = []

    def show_scene(self, scene: Scene, resumed: bool = False) -> None:
        self.game.scene_title = scene.title
        self.events.append({"kind": "scene", "title": scene.title, "resumed": resumed})

    def show_line(self, line: SpokenLine) -> None:
        event: dict[str, Any] = {"kind": "line", "number": self.game.keep(line), "text": line.text, "sound": None,
                                 "speaker": None if line.is_narration else line.speaker,
                                 "seconds": self.game.driver.reading_seconds(line)}
        if self.game.directions:
            event["directions"] = shown(line.directions)
            event["qualifier"] = line.qualifier
        self.events.append(event)

    def pause(self, seconds: float, waits: Sequence[Waitable]) -> str:
        event = self.events[-1]
        sound = next((wait for wait in waits if isinstance(wait, LineSound)), None)
        self.game.heard[event["number"]].sound = sound
        event["seconds"], event["sound"] = seconds, event["number"] if sound is not None else None
        return "done"
