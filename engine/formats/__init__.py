"""Story formats side by side (our scene files, ink) behind the one interface the runner uses.

A Playthrough is one game of one story: the runner asks it for the next step, answers its
choices, asks it which lines may come next (for prefetch) and for a record to save.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from engine.model import Line, Scene


@dataclass(frozen=True)
class SceneStep:
    """The player enters a scene (for ink: a knot)."""

    scene: Scene
    resumed: bool


@dataclass(frozen=True)
class LineStep:
    line: Line


@dataclass(frozen=True)
class ChoiceStep:
    """The player must choose: (label, target) pairs, already filtered by their conditions."""

    scene: Scene
    options: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class EndStep:
    title: str


Step = SceneStep | LineStep | ChoiceStep | EndStep


class Playthrough(Protocol):
    def next(self) -> Step:
        """The next step; after a ChoiceStep, `choose` must be called first."""

    def choose(self, index: int) -> None:
        """Answers the last ChoiceStep (0-based)."""

    def upcoming(self, opening_lines: int) -> list[Line]:
        """Lines the player may reach next, nearest first: the rest up to the next choice, then each
        choice's first `opening_lines` lines. Works on a copy: the game itself is not moved."""

    def save(self) -> dict[str, Any]:
        """A JSON-able record from which `open_playthrough` continues at the current step."""


def open_playthrough(story: Any, record: dict[str, Any] | None = None) -> Playthrough:
    """A new game of `story` (an engine.model.Story), or the saved one in `record`."""
    if story.format == "ink":
        from engine.formats.ink import InkPlaythrough

        return InkPlaythrough(story, record)
    from engine.formats.scenes import ScenePlaythrough

    return ScenePlaythrough.from_record(story, record)
