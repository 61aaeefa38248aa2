"""The story's value types: what the loader builds and plugins receive."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.core.expr import Assignment, Condition


@dataclass(frozen=True)
class Source:
    path: Path
    line: int


@dataclass(frozen=True)
class Line:
    """A spoken line as written: narration (character_id is the narrator) or dialogue."""

    line_id: str
    scene_id: str
    character_id: str
    text: str
    is_narration: bool
    source: Source
    condition: Condition | None = None
    directions: tuple[str, ...] = ()  # `(quietly)` at the start of the line: how to say it, never said
    qualifier: str = ""  # `LAURA (O.S.):`: where the voice comes from (off-screen, radio), never said
    tags: tuple[str, ...] = ()  # the line's tags but its id, e.g. "vo:loud"
    comment: str = ""  # the author's note for the actor, where the format keeps one
    alternates: tuple[str, ...] = ()  # every text it may say, as written (an ink shuffle's), for recording scripts


@dataclass(frozen=True)
class Set:
    assignments: tuple[Assignment, ...]
    source: Source


@dataclass(frozen=True)
class Divert:
    target: str
    source: Source
    condition: Condition | None = None


@dataclass(frozen=True)
class End:
    title: str
    source: Source
    condition: Condition | None = None


Statement = Line | Set | Divert | End


END = "END"  # a choice's target that ends the story (`* Give up -> END Home Before Dawn`)


@dataclass(frozen=True)
class Choice:
    label: str
    target: str  # a scene id, or END
    source: Source
    condition: Condition | None = None
    effects: tuple[Assignment, ...] = ()
    ending: str | None = None  # the ending's title when target is END


@dataclass(frozen=True)
class Scene:
    scene_id: str
    title: str
    body: tuple[Statement, ...]
    choices: tuple[Choice, ...]
    source: Source

    @property
    def lines(self) -> tuple[Line, ...]:
        return tuple(s for s in self.body if isinstance(s, Line))


@dataclass(frozen=True)
class Character:
    """A character profile; the engine reads only the id and display name.

    Every other field (voice_id, engine, language, ...) stays in `profile`
    for plugins to validate and use.
    """

    character_id: str
    display_name: str
    path: Path
    profile: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Story:
    root: Path
    title: str
    author: str
    language: str
    start: str
    narrator: str
    scenes: Mapping[str, Scene]
    characters: Mapping[str, Character]
    source: Source
    format: Any = None  # its StoryFormat (engine.formats): reads, checks and plays it
    data: Any = None  # what the format keeps of its own (ink: the compiled book, whose knots are `scenes`)

    @property
    def slug(self) -> str:
        return self.root.name

    def all_lines(self) -> list[Line]:
        return [line for scene in self.scenes.values() for line in scene.lines]


@dataclass(frozen=True)
class SpokenLine:
    """What plugins receive for a narration or dialogue line about to be shown."""

    line_id: str
    scene_id: str
    character_id: str
    speaker: str  # the character's display name
    text: str  # what is said: directions and qualifier are apart
    is_narration: bool
    language: str
    directions: tuple[str, ...] = ()
    qualifier: str = ""
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class ChoiceOption:
    """A choice as offered to the player (conditions already checked)."""

    number: int  # 1-based, as shown
    label: str
    target: str  # the scene it leads to (scene format), END, or "" (ink: where a choice leads is the runtime's)
