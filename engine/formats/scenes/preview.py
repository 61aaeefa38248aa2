"""Which lines of our scene format the player may reach next (for the upcoming-lines hook)."""

from __future__ import annotations

from dataclasses import dataclass

from engine.core.expr import Value
from engine.core.model import Divert, End, Line, Scene, Set, Story
from engine.formats import nearest_first

MAX_AHEAD = 60  # lines followed through jumps before giving up (stories may loop)


@dataclass
class Walk:
    lines: list[Line]
    choice_scene: Scene | None  # whose choices come next; None if an ending or the limit comes first
    variables: dict[str, Value]


def walk(story: Story, scene: Scene, pc: int, variables: dict[str, Value], limit: int) -> Walk:
    """Simulates the body from `pc` on a copy of the state, following jumps."""
    variables = dict(variables)
    lines: list[Line] = []
    while True:
        for statement in scene.body[pc:]:
            if isinstance(statement, Line):
                if statement.condition is None or statement.condition.holds(variables):
                    lines.append(statement)
                    if len(lines) >= limit:
                        return Walk(lines, None, variables)
            elif isinstance(statement, Set):
                for assignment in statement.assignments:
                    assignment.apply(variables)
            elif statement.condition is None or statement.condition.holds(variables):
                if isinstance(statement, End):
                    return Walk(lines, None, variables)
                assert isinstance(statement, Divert)
                scene, pc = story.scenes[statement.target], 0
                break
        else:
            return Walk(lines, scene, variables)


def upcoming(story: Story, scene: Scene, pc: int, variables: dict[str, Value], opening_lines: int) -> list[Line]:
    """The rest of the current scene (through jumps), then each choice's opening lines, nearest first."""
    rest = walk(story, scene, pc, variables, MAX_AHEAD)
    if rest.choice_scene is None:
        return rest.lines
    openings = []
    for choice in rest.choice_scene.choices:
        if choice.ending is not None or (choice.condition is not None and not choice.condition.holds(rest.variables)):
            continue
        after = dict(rest.variables)
        for effect in choice.effects:
            effect.apply(after)
        openings.append(walk(story, story.scenes[choice.target], 0, after, opening_lines).lines)
    return nearest_first(rest.lines, openings)
