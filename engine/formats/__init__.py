"""Story formats as plug-ins: each is one object (a StoryFormat) in its own folder, and the engine
knows them only through it. Built in: `scenes/` (ours) and `ink/` (compiled ink JSON); a plugin adds
one with the `engine_story_formats` hook (see docs/plugins.md).

A Playthrough is one game of one story: the runner asks it for the next step, answers its
choices, asks it which lines may come next (for prefetch) and for a record to save.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from itertools import zip_longest
from pathlib import Path
from typing import Any, Protocol

from engine.core.errors import Problem
from engine.core.model import Line, Scene, Story


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


@dataclass(frozen=True)
class Manifest:
    """story.toml as read: its values (the common keys and the format's own), and where each key is."""

    path: Path
    values: dict[str, Any]
    line: Callable[[str], int]  # the line a key is on (1 when absent), for problems


@dataclass(frozen=True)
class Content:
    """What a format read from a story folder: its scenes, where play starts, and its own data."""

    scenes: dict[str, Scene]
    start: str
    data: Any = None


class StoryFormat(Protocol):
    name: str
    keys: tuple[tuple[str, type, Any], ...]
    """story.toml keys of this format: (key, type, default; None when the key is required)."""

    def read(self, root: Path, manifest: Manifest, problems: list[Problem]) -> Content | None:
        """The story's content; every problem found goes to `problems` (None when nothing can be built)."""

    def check(self, story: Story) -> list[Problem]:
        """Whole-story checks (`engine check`, and before play): targets, ids, reachability, ..."""

    def lines(self, story: Story) -> list[Line]:
        """Every line as written, without playing (for checks); a walk (explore.py) finds what play says."""

    def open(self, story: Story, record: dict[str, Any] | None, shared: Any = None) -> Playthrough:
        """A new game, or the saved one in `record` (SaveError when it no longer fits). `shared`: what
        `shared(story)` made, reused by a walk that opens many games of one story."""

    def shared(self, story: Story) -> Any:
        """Something every game of this story may reuse (ink: the parsed runtime), or None."""

    def state_key(self, story: Story, record: dict[str, Any]) -> str:
        """Two choice points with the same key are the same state (a walk explores it once)."""


def open_playthrough(story: Story, record: dict[str, Any] | None = None) -> Playthrough:
    """A new game of `story`, or the saved one in `record`."""
    return story.format.open(story, record)


def nearest_first(rest: list[Line], openings: list[list[Line]]) -> list[Line]:
    """The rest, then the first line of every branch, then every second line, ...; each line id once."""
    seen = {line.line_id for line in rest}
    result = list(rest)
    for row in zip_longest(*openings):
        for line in row:
            if line is not None and line.line_id not in seen:
                seen.add(line.line_id)
                result.append(line)
    return result
