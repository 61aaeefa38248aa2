"""Our scene format (docs/authoring.md): `story.toml` lists scene files (`scenes`) and the `start`
scene; scene files are read by parser.py, checked by check.py, played by playthrough.py."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from engine.core.errors import Problem
from engine.core.files import read_text
from engine.core.model import Line, Scene, Story
from engine.formats import Content, Manifest, Playthrough
from engine.formats.scenes.check import scene_problems
from engine.formats.scenes.parser import parse_scene_file
from engine.formats.scenes.playthrough import ScenePlaythrough


class ScenesFormat:
    name = "scenes"
    keys: tuple[tuple[str, type, Any], ...] = (("start", str, None), ("scenes", list, None))

    def read(self, root: Path, manifest: Manifest, problems: list[Problem]) -> Content | None:
        files = manifest.values["scenes"]
        where = manifest.line("scenes")
        if not files or not all(isinstance(name, str) for name in files):
            problems.append(Problem(manifest.path, where, "'scenes' must list scene file names"))
            return None
        scenes: dict[str, Scene] = {}
        for name in files:
            for scene in _read_scene_file(root, manifest.path, where, name, manifest.values["narrator"], problems):
                if scene.scene_id in scenes:
                    first = scenes[scene.scene_id].source
                    earlier = f"{first.path.name}:{first.line}"
                    problems.append(Problem(scene.source.path, scene.source.line,
                                            f"scene '{scene.scene_id}' is already defined at {earlier}"))
                    continue
                scenes[scene.scene_id] = scene
        return Content(scenes, manifest.values["start"])

    def check(self, story: Story) -> list[Problem]:
        return scene_problems(story)

    def lines(self, story: Story) -> list[Line]:
        return story.all_lines()

    def open(self, story: Story, record: dict[str, Any] | None, shared: Any = None) -> Playthrough:
        return ScenePlaythrough.from_record(story, record)

    def shared(self, story: Story) -> Any:
        return None

    def state_key(self, story: Story, record: dict[str, Any]) -> str:
        return json.dumps(record, sort_keys=True)


def _read_scene_file(root: Path, manifest: Path, where: int, name: str, narrator: str,
                     problems: list[Problem]) -> list[Scene]:
    """`where` is the line of `scenes` in story.toml, where a bad file name is reported."""
    path = root / name
    if not path.resolve().is_relative_to(root.resolve()):
        problems.append(Problem(manifest, where, f"scene file '{name}' lies outside the story folder"))
        return []
    if not path.is_file():
        problems.append(Problem(manifest, where, f"scene file '{name}' does not exist"))
        return []
    text = read_text(path, problems)
    if text is None:
        return []
    scenes, found = parse_scene_file(text, path, narrator)
    problems.extend(found)
    return scenes


SCENES = ScenesFormat()
