"""A story format from outside the engine, for tests/engine/test_formats.py: a plain text file, one
narration line per line, played straight through (no choices). It is installed at test time as a
package with an `engine.plugins` entry point, the way a third-party format would be."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from engine import Problem, Story, hookimpl
from engine.core.files import read_text
from engine.core.model import Line, Scene, Source
from engine.formats import Content, EndStep, LineStep, Manifest, Playthrough, SceneStep, Step


class TextFormat:
    name = "text"
    keys: tuple[tuple[str, type, Any], ...] = (("text", str, None),)

    def read(self, root: Path, manifest: Manifest, problems: list[Problem]) -> Content | None:
        path = root / manifest.values["text"]
        text = read_text(path, problems)
        if text is None:
            return None
        lines = tuple(Line(f"main.{n}", "main", manifest.values["narrator"], raw.strip(), True, Source(path, n))
                      for n, raw in enumerate(text.splitlines(), start=1) if raw.strip())
        if not lines:
            problems.append(Problem(path, 1, "this story has no line"))
            return None
        return Content({"main": Scene("main", "", lines, (), Source(path, 1))}, "main")

    def check(self, story: Story) -> list[Problem]:
        return []

    def lines(self, story: Story) -> list[Line]:
        return story.all_lines()

    def open(self, story: Story, record: dict[str, Any] | None, shared: Any = None) -> Playthrough:
        return TextPlaythrough(story, int(record["at"]) if record else 0)

    def shared(self, story: Story) -> Any:
        return None

    def state_key(self, story: Story, record: dict[str, Any]) -> str:
        return json.dumps(record, sort_keys=True)


class TextPlaythrough:
    def __init__(self, story: Story, at: int) -> None:
        self.lines = story.scenes["main"].lines
        self.scene = story.scenes["main"]
        self.at = at
        self.steps = self._walk()

    def _walk(self) -> Iterator[Step]:
        yield SceneStep(self.scene, self.at > 0)
        while self.at < len(self.lines):
            self.at += 1
            yield LineStep(self.lines[self.at - 1])
        yield EndStep("The End")

    def next(self) -> Step:
        return next(self.steps)

    def choose(self, index: int) -> None:
        raise AssertionError("a text story offers no choice")

    def upcoming(self, opening_lines: int) -> list[Line]:
        return list(self.lines[self.at:])

    def save(self) -> dict[str, Any]:
        return {"format": 1, "story_format": "text", "at": self.at}


@hookimpl
def engine_story_formats() -> list[TextFormat]:
    return [TextFormat()]
