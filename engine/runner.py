"""Plays a story: walks scenes, keeps state, fires hooks, asks the player."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

from engine.config import EngineSettings
from engine.errors import QuitGame, StoryError
from engine.hookspecs import AnswerSource, Waitable
from engine.model import ChoiceOption, Divert, End, Line, Scene, Set, SpokenLine, Story
from engine.preview import upcoming
from engine.saves import GameState

MAX_JUMPS_WITHOUT_CHOICE = 1000


class Player(Protocol):
    """The I/O side of a game (the terminal, or anything else that can show and ask)."""

    def show_scene(self, scene: Scene) -> None: ...
    def show_line(self, line: SpokenLine) -> None: ...
    def pause(self, seconds: float, waits: Sequence[Waitable]) -> str: ...  # "done", "skip" or "quit"
    def choose(self, options: Sequence[ChoiceOption], scene: Scene,
               listen: Callable[[], list[AnswerSource]]) -> ChoiceOption: ...  # listen(): plugins' answer sources


class Runner:
    def __init__(self, story: Story, hook: Any, player: Player, settings: EngineSettings,
                 pace: str, state: GameState, resumed: bool = False) -> None:
        self.story = story
        self.hook = hook
        self.player = player
        self.settings = settings
        self.pace = pace
        self.state = state
        self.resumed = resumed
        self.jumps = 0  # scene jumps since the last choice (guards loops that never ask)

    def run(self) -> str:
        """Plays until an ending and returns its title; raises QuitGame if the player quits."""
        while True:
            scene = self.story.scenes[self.state.scene_id]
            self.hook.engine_scene_entered(scene=scene, resumed=self.resumed)
            self.player.show_scene(scene)
            self.resumed = False
            self._announce_upcoming(scene, self.state.pc)
            outcome = self._play_body(scene)
            if isinstance(outcome, End):
                return outcome.title
            if isinstance(outcome, Divert):
                self.jumps += 1
                if self.jumps > MAX_JUMPS_WITHOUT_CHOICE:
                    raise StoryError.at(outcome.source.path, outcome.source.line,
                                        f"the story jumped {MAX_JUMPS_WITHOUT_CHOICE} times without offering a choice "
                                        f"(a loop through '{scene.scene_id}'?); add a choice or a way out")
                self._enter(outcome.target)
                continue
            self.jumps = 0
            ending = self._offer_choices(scene)
            if ending is not None:
                return ending

    def _play_body(self, scene: Scene) -> End | Divert | None:
        for pc in range(self.state.pc, len(scene.body)):
            self.state.pc = pc
            statement = scene.body[pc]
            if isinstance(statement, Set):
                for assignment in statement.assignments:
                    assignment.apply(self.state.variables)
            elif statement.condition is not None and not statement.condition.holds(self.state.variables):
                continue
            elif isinstance(statement, Line):
                self._deliver(statement)
            else:
                return statement
        self.state.pc = len(scene.body)
        return None

    def _offer_choices(self, scene: Scene) -> str | None:
        """Asks the player; returns the ending's title if the choice ends the story."""
        choices = [c for c in scene.choices if c.condition is None or c.condition.holds(self.state.variables)]
        if not choices:
            raise StoryError.at(scene.source.path, scene.source.line,
                                f"scene '{scene.scene_id}' offers no choice in this state (all conditions are false)")
        options = [ChoiceOption(n, c.label, c.target) for n, c in enumerate(choices, start=1)]
        self._announce_upcoming(scene, len(scene.body))
        self.hook.engine_choices_presented(options=options)
        option = self.player.choose(options, scene, lambda: self._answer_sources(options))
        self.hook.engine_choice_made(option=option)
        chosen = choices[option.number - 1]
        for effect in chosen.effects:
            effect.apply(self.state.variables)
        if chosen.ending is not None:
            return chosen.ending
        self._enter(option.target)
        return None

    def _answer_sources(self, options: Sequence[ChoiceOption]) -> list[AnswerSource]:
        return [source for source in self.hook.engine_answer_sources(options=options) if source is not None]

    def _enter(self, scene_id: str) -> None:
        self.state.scene_id = scene_id
        self.state.pc = 0

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

    def _announce_upcoming(self, scene: Scene, pc: int) -> None:
        lines = upcoming(self.story, scene, pc, self.state.variables, self.settings.opening_lines)
        self.hook.engine_upcoming_lines(lines=[self.spoken(line) for line in lines])

    def spoken(self, line: Line) -> SpokenLine:
        character = self.story.characters.get(line.character_id)
        speaker = character.display_name if character else line.character_id
        language = str(character.profile.get("language") or self.story.language) if character else self.story.language
        return SpokenLine(line.line_id, line.scene_id, line.character_id, speaker, line.text,
                          line.is_narration, language)
