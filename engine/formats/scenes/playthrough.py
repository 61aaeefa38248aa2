"""Plays our scene format: walks scene bodies, keeps the variables, follows jumps."""

from __future__ import annotations

from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from typing import Any

from engine.core.errors import SaveError, StoryError
from engine.core.expr import Value
from engine.core.model import Choice, Divert, End, Line, Scene, Set, Story
from engine.core.saves import FORMAT
from engine.formats import ChoiceStep, EndStep, LineStep, SceneStep, Step
from engine.formats.scenes.preview import upcoming

MAX_JUMPS_WITHOUT_CHOICE = 1000


@dataclass
class GameState:
    """Mutable position of a game in our scene format: the scene, the next statement in it, the variables."""

    scene_id: str
    pc: int = 0
    variables: dict[str, Value] = field(default_factory=dict)


class ScenePlaythrough:
    def __init__(self, story: Story, state: GameState, resumed: bool = False) -> None:
        self.story = story
        self.state = state
        self.offered: list[Choice] = []
        self.picked: int | None = None
        self.steps = self._walk(resumed)

    @classmethod
    def from_record(cls, story: Story, record: dict[str, Any] | None) -> ScenePlaythrough:
        if record is None:
            return cls(story, GameState(story.start))
        try:
            state = GameState(str(record["scene"]), int(record["pc"]), dict(record["variables"]))
        except (KeyError, TypeError, ValueError):
            raise SaveError(f"The saved game no longer fits '{story.slug}' (it was saved from another kind of story).") \
                from None
        scene = story.scenes.get(state.scene_id)
        if scene is None or not 0 <= state.pc <= len(scene.body):
            raise SaveError(f"The saved game no longer fits '{story.slug}' (the story changed).")
        return cls(story, state, resumed=True)

    def next(self) -> Step:
        return next(self.steps)

    def choose(self, index: int) -> None:
        self.picked = index

    def upcoming(self, opening_lines: int) -> list[Line]:
        scene = self.story.scenes[self.state.scene_id]
        return upcoming(self.story, scene, self.state.pc, self.state.variables, opening_lines)

    def save(self) -> dict[str, Any]:
        return {"format": FORMAT, "scene": self.state.scene_id, "pc": self.state.pc, "variables": self.state.variables}

    def _walk(self, resumed: bool) -> Iterator[Step]:
        jumps = 0  # scene jumps since the last choice (guards loops that never ask)
        while True:
            scene = self.story.scenes[self.state.scene_id]
            yield SceneStep(scene, resumed)
            resumed = False
            outcome = yield from self._body(scene)
            if isinstance(outcome, End):
                yield EndStep(outcome.title)
                return
            if isinstance(outcome, Divert):
                jumps += 1
                if jumps > MAX_JUMPS_WITHOUT_CHOICE:
                    raise StoryError.at(outcome.source.path, outcome.source.line,
                                        f"the story jumped {MAX_JUMPS_WITHOUT_CHOICE} times without offering a choice "
                                        f"(a loop through '{scene.scene_id}'?); add a choice or a way out")
                self._enter(outcome.target)
                continue
            jumps = 0
            ending = yield from self._choices(scene)
            if ending is not None:
                yield EndStep(ending)
                return

    def _body(self, scene: Scene) -> Generator[Step, None, End | Divert | None]:
        """Yields the scene's lines from the current statement; returns the End or Divert taken, if any."""
        for pc in range(self.state.pc, len(scene.body)):
            self.state.pc = pc
            statement = scene.body[pc]
            if isinstance(statement, Set):
                for assignment in statement.assignments:
                    assignment.apply(self.state.variables)
            elif statement.condition is not None and not statement.condition.holds(self.state.variables):
                continue
            elif isinstance(statement, Line):
                yield LineStep(statement)
            else:
                assert isinstance(statement, (End, Divert))
                return statement
        self.state.pc = len(scene.body)
        return None

    def _choices(self, scene: Scene) -> Generator[Step, None, str | None]:
        """Offers the choices whose condition holds; returns the ending's title if the choice ends the story."""
        self.offered = [c for c in scene.choices if c.condition is None or c.condition.holds(self.state.variables)]
        if not self.offered:
            raise StoryError.at(scene.source.path, scene.source.line,
                                f"scene '{scene.scene_id}' offers no choice in this state (all conditions are false)")
        self.picked = None
        yield ChoiceStep(scene, tuple((c.label, c.target) for c in self.offered))
        assert self.picked is not None, "choose() must answer a ChoiceStep"
        chosen = self.offered[self.picked]
        for effect in chosen.effects:
            effect.apply(self.state.variables)
        if chosen.ending is not None:
            return chosen.ending
        self._enter(chosen.target)
        return None

    def _enter(self, scene_id: str) -> None:
        self.state.scene_id = scene_id
        self.state.pc = 0
