"""Plays a story: takes the steps of its Playthrough (any format), fires hooks, asks the player."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

from engine.config import EngineSettings
from engine.core.errors import QuitGame
from engine.core.model import ChoiceOption, Line, Scene, SpokenLine, Story
from engine.formats import ChoiceStep, LineStep, Playthrough, SceneStep
from engine.hookspecs import AnswerSource, Waitable


class Player(Protocol):
    """The I/O side of a game (the terminal, or anything else that can show and ask)."""

    def show_scene(self, scene: Scene) -> None: ...
    def show_line(self, line: SpokenLine) -> None: ...
    def pause(self, seconds: float, waits: Sequence[Waitable]) -> str: ...  # "done", "skip" or "quit"
    def choose(self, options: Sequence[ChoiceOption], scene: Scene,
               listen: Callable[[], list[AnswerSource]]) -> ChoiceOption: ...  # listen(): plugins' answer sources


class Runner:
    def __init__(self, story: Story, hook: Any, player: Player, settings: EngineSettings,
                 pace: str, playthrough: Playthrough) -> None:
        self.story = story
        self.hook = hook
        self.player = player
        self.settings = settings
        self.pace = pace
        self.playthrough = playthrough

    def run(self) -> str:
        """Plays until an ending and returns its title; raises QuitGame if the player quits."""
        while True:
            step = self.playthrough.next()
            if isinstance(step, SceneStep):
                self.hook.engine_scene_entered(scene=step.scene, resumed=step.resumed)
                self.player.show_scene(step.scene)
                self._announce_upcoming()
            elif isinstance(step, LineStep):
                self._deliver(step.line)
            elif isinstance(step, ChoiceStep):
                self._offer_choices(step)
            else:
                return step.title

    def _offer_choices(self, step: ChoiceStep) -> None:
        options = [ChoiceOption(n, label, target) for n, (label, target) in enumerate(step.options, start=1)]
        self._announce_upcoming()
        self.hook.engine_choices_presented(options=options)
        option = self.player.choose(options, step.scene, lambda: self._answer_sources(options))
        self.hook.engine_choice_made(option=option)
        self.playthrough.choose(option.number - 1)

    def _answer_sources(self, options: Sequence[ChoiceOption]) -> list[AnswerSource]:
        return [source for source in self.hook.engine_answer_sources(options=options) if source is not None]

    def _deliver(self, line: Line) -> None:
        spoken = self.spoken(line)
        self.player.show_line(spoken)
        if line.is_narration:
            self.hook.engine_narration(line=spoken)
        else:
            self.hook.engine_dialogue(line=spoken)
        if self.pace == "instant":
            return
        # never show the next line over a voice still speaking; `read` also leaves reading time
        waits: list[Waitable] = [w for w in self.hook.engine_line_delivery(line=spoken) if w is not None]
        seconds = self.settings.min_pause
        if self.pace == "read":
            words = len(spoken.text.split())
            seconds = max(self.settings.min_pause, words * 60.0 / self.settings.words_per_minute)
        result = self.player.pause(seconds, waits)
        if result == "quit":
            raise QuitGame()
        if result == "skip":
            self.hook.engine_line_skipped(line=spoken)

    def _announce_upcoming(self) -> None:
        lines = self.playthrough.upcoming(self.settings.opening_lines)
        self.hook.engine_upcoming_lines(lines=[self.spoken(line) for line in lines])

    def spoken(self, line: Line) -> SpokenLine:
        return spoken_line(self.story, line)


def spoken_line(story: Story, line: Line) -> SpokenLine:
    """What plugins receive for a line: its speaker's name and language resolved."""
    character = story.characters.get(line.character_id)
    speaker = character.display_name if character else line.character_id
    language = str(character.profile.get("language") or story.language) if character else story.language
    return SpokenLine(line.line_id, line.scene_id, line.character_id, speaker, line.text,
                      line.is_narration, language, line.directions, line.qualifier, line.tags)
