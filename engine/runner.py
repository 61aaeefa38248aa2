"""The one driver of a game, behind every front end (the terminal, the browser): steps the story's Playthrough
(any format) up to the next choice or ending, fires every per-game hook with the game's id, and lets its front
end show each scene and line and pause after it. `Runner` is the terminal's loop over it."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from engine.config import EngineSettings
from engine.context import PlayContext
from engine.core.errors import EngineError, QuitGame
from engine.core.model import ChoiceOption, Line, Scene, SpokenLine, Story
from engine.formats import ChoiceStep, LineStep, Playthrough, SceneStep
from engine.hookspecs import AnswerSource, Waitable

MAX_STEPS = 10_000  # steps between two choices: more is a story that loops without asking


class Front(Protocol):
    """What a front end shows: a scene's heading and a line as it comes, then a pause after the line."""

    def show_scene(self, scene: Scene, resumed: bool) -> None: ...
    def show_line(self, line: SpokenLine) -> None: ...
    def pause(self, seconds: float, waits: Sequence[Waitable]) -> str: ...  # "done", "skip" or "quit"


class Player(Front, Protocol):
    """The terminal's side: it also asks for the choice (`listen()`: the plugins' answer sources)."""

    def choose(self, options: Sequence[ChoiceOption], scene: Scene,
               listen: Callable[[], list[AnswerSource]]) -> ChoiceOption: ...


@dataclass(frozen=True)
class ChoicePoint:
    """The game waits for an answer to these options (numbered from 1, as shown)."""

    options: list[ChoiceOption]
    scene: Scene


@dataclass(frozen=True)
class Ending:
    title: str


class Driver:
    """One game. Its front end calls advance() and choose() from one thread at a time; end() once, from any."""

    def __init__(self, context: PlayContext, hook: Any, settings: EngineSettings, pace: str,
                 playthrough: Playthrough) -> None:
        self.context = context
        self.story = context.story
        self.game = context.game
        self.hook = hook
        self.settings = settings
        self.pace = pace
        self.playthrough = playthrough
        self.ending: str | None = None
        self.ended = False  # engine_story_ended has fired (or is firing)
        self.ending_lock = threading.Lock()

    def start(self) -> None:
        self.hook.engine_story_loaded(context=self.context)

    def advance(self, front: Front) -> ChoicePoint | Ending:
        """Plays up to the next choice or the ending; raises QuitGame if the player quits during a line."""
        for _ in range(MAX_STEPS):
            step = self.playthrough.next()
            if isinstance(step, SceneStep):
                self.hook.engine_scene_entered(scene=step.scene, resumed=step.resumed, game=self.game)
                front.show_scene(step.scene, step.resumed)
                self._announce_upcoming()
            elif isinstance(step, LineStep):
                self._deliver(step.line, front)
            elif isinstance(step, ChoiceStep):
                options = [ChoiceOption(n, label, target) for n, (label, target) in enumerate(step.options, start=1)]
                self._announce_upcoming()
                self.hook.engine_choices_presented(options=options, game=self.game)
                return ChoicePoint(options, step.scene)
            else:
                self.ending = step.title
                return Ending(step.title)
        raise EngineError(f"The story ran {MAX_STEPS} steps without a choice or an ending.")

    def choose(self, option: ChoiceOption) -> None:
        self.hook.engine_choice_made(option=option, game=self.game)
        self.playthrough.choose(option.number - 1)

    def answer_sources(self, options: Sequence[ChoiceOption]) -> list[AnswerSource]:
        found = self.hook.engine_answer_sources(options=options, game=self.game)
        return [source for source in found if source is not None]

    def skip(self, line: SpokenLine) -> None:
        self.hook.engine_line_skipped(line=line, game=self.game)

    def read_aloud(self, line: SpokenLine) -> Waitable | None:
        return self.hook.engine_read_aloud(line=line, game=self.game)  # type: ignore[no-any-return]

    def can_read_aloud(self) -> bool:
        return bool(self.hook.engine_read_aloud.get_hookimpls())

    def choices_line(self, point: ChoicePoint) -> SpokenLine:
        """The options as one narrator's line ("1. Go in. 2. Wait."), for a front end that reads them aloud."""
        listed = " ".join(f"{option.number}. {option.label}" for option in point.options)
        scene, narrator = point.scene.scene_id, self.story.characters.get(self.story.narrator)
        name = narrator.display_name if narrator else self.story.narrator
        return SpokenLine(f"{scene}.choices", scene, self.story.narrator, name, listed, True, self.story.language)

    def end(self, reason: str) -> None:
        """The one way a game ends, whatever stopped it: engine_story_ended fires once ("ending" once the
        story reached one)."""
        with self.ending_lock:
            if self.ended:
                return
            self.ended = True
        why = "ending" if self.ending is not None else reason
        self.hook.engine_story_ended(ending=self.ending, reason=why, game=self.game)

    def spoken(self, line: Line) -> SpokenLine:
        return spoken_line(self.story, line)

    def reading_seconds(self, line: SpokenLine) -> float:
        """How long a line stays before the next one, voice or not (in `read` pace; the least in `listen`)."""
        if self.pace != "read":
            return self.settings.min_pause
        return max(self.settings.min_pause, len(line.text.split()) * 60.0 / self.settings.words_per_minute)

    def _deliver(self, line: Line, front: Front) -> None:
        spoken = self.spoken(line)
        front.show_line(spoken)
        if line.is_narration:
            self.hook.engine_narration(line=spoken, game=self.game)
        else:
            self.hook.engine_dialogue(line=spoken, game=self.game)
        if self.pace == "instant":
            return
        # never show the next line over a voice still speaking; `read` also leaves reading time
        waits = [w for w in self.hook.engine_line_delivery(line=spoken, game=self.game) if w is not None]
        result = front.pause(self.reading_seconds(spoken), waits)
        if result == "quit":
            raise QuitGame()
        if result == "skip":
            self.skip(spoken)

    def _announce_upcoming(self) -> None:
        lines = self.playthrough.upcoming(self.settings.opening_lines)
        self.hook.engine_upcoming_lines(lines=[self.spoken(line) for line in lines], game=self.game)


class Runner:
    """The terminal's game: advance, ask, choose, until an ending (its title) or QuitGame."""

    def __init__(self, driver: Driver, player: Player) -> None:
        self.driver = driver
        self.player = player

    def run(self) -> str:
        while True:
            stop = self.driver.advance(self.player)
            if isinstance(stop, Ending):
                return stop.title
            listen = functools.partial(self.driver.answer_sources, stop.options)
            option = self.player.choose(stop.options, stop.scene, listen)
            self.driver.choose(option)


def spoken_line(story: Story, line: Line) -> SpokenLine:
    """What plugins receive for a line: its speaker's name and language resolved."""
    character = story.characters.get(line.character_id)
    speaker = character.display_name if character else line.character_id
    language = str(character.profile.get("language") or story.language) if character else story.language
    return SpokenLine(line.line_id, line.scene_id, line.character_id, speaker, line.text,
                      line.is_narration, language, line.directions, line.qualifier, line.tags)
