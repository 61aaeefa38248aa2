"""Loads a story folder: story.toml, the scene files it lists (or its compiled ink), characters/*.json."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any

from engine.check import validate_story
from engine.errors import EngineError, Problem, StoryError
from engine.formats.ink_book import TOP, read_ink
from engine.model import Character, Scene, Source, Story
from engine.parser import parse_scene_file

_TOML_LINE = re.compile(r"line (\d+)")
FORMATS = ("scenes", "ink")


def load_story(root: Path | str) -> Story:
    """Loads and validates a story; raises StoryError listing every error found."""
    story, problems = read_story(root)
    errors = [p for p in problems if p.severity == "error"]
    if errors or story is None:
        raise StoryError(errors)
    return story


def read_story(root: Path | str) -> tuple[Story | None, list[Problem]]:
    """Reads a story and returns it (None if it cannot be built) with all problems, warnings included."""
    root = Path(root)
    if not root.is_dir():
        raise EngineError(f"There is no story folder at {root} (expected a folder holding story.toml).")
    manifest_path = root / "story.toml"
    if not manifest_path.is_file():
        raise EngineError(f"{root} is not a story folder: it has no story.toml.")
    problems: list[Problem] = []
    manifest = _read_manifest(manifest_path, problems)
    if manifest is None:
        return None, problems
    narrator = manifest["narrator"]
    scenes: dict[str, Scene] = {}
    book = None
    if manifest["format"] == "ink":
        where = Source(manifest_path, manifest["ink_line"])
        book = read_ink(root, manifest["ink"], manifest.get("source"), where, manifest["speaker_prefixes"], problems)
        if book is None:
            return None, problems
        scenes = {knot: book.scene(knot) for knot in (TOP, *book.knots)}
    else:
        for name in manifest["scenes"]:
            for scene in _read_scene_file(root, manifest_path, manifest["scenes_line"], name, narrator, problems):
                if scene.scene_id in scenes:
                    first = scenes[scene.scene_id].source
                    problems.append(
                        Problem(scene.source.path, scene.source.line,
                                f"scene '{scene.scene_id}' is already defined at {first.path.name}:{first.line}")
                    )
                    continue
                scenes[scene.scene_id] = scene
    characters = _read_characters(root, problems)
    story = Story(
        root=root,
        title=manifest["title"],
        author=manifest["author"],
        language=manifest["language"],
        start=manifest.get("start", TOP),
        narrator=narrator,
        scenes=scenes,
        characters=characters,
        source=Source(manifest_path, manifest["start_line"]),
        format=manifest["format"],
        ink=book,
    )
    problems.extend(validate_story(story))
    return story, problems


def _read_manifest(path: Path, problems: list[Problem]) -> dict[str, Any] | None:
    text = _read_text(path, problems)
    if text is None:
        return None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        found = _TOML_LINE.search(str(exc))
        problems.append(Problem(path, int(found.group(1)) if found else 1, f"bad TOML: {exc}"))
        return None
    story_format = data.get("format", "scenes")
    if story_format not in FORMATS:
        problems.append(Problem(path, _key_line(text, "format"),
                                f"'format' must be one of {', '.join(FORMATS)}, not {story_format!r}"))
        return None
    fields: dict[str, Any] = {"format": story_format}
    wanted: list[tuple[str, type, Any]] = [
        ("title", str, None), ("author", str, ""), ("language", str, "en"), ("narrator", str, "narrator"),
    ]
    if story_format == "ink":
        wanted += [("ink", str, None), ("source", str, ""), ("speaker_prefixes", bool, True)]
    else:
        wanted += [("start", str, None), ("scenes", list, None)]
    for key, kind, default in wanted:
        if key not in data and default is not None:
            fields[key] = default
            continue
        value = data.get(key)
        if value is None:
            problems.append(Problem(path, 1, f"story.toml needs '{key}'"))
        elif not isinstance(value, kind) or (kind is str and not str(value).strip()):
            article = "true or false" if kind is bool else f"a non-empty {kind.__name__}"
            problems.append(Problem(path, _key_line(text, key), f"'{key}' must be {article}"))
        else:
            fields[key] = value
    if "scenes" in fields:
        if not fields["scenes"] or not all(isinstance(s, str) for s in fields["scenes"]):
            problems.append(Problem(path, _key_line(text, "scenes"), "'scenes' must list scene file names"))
            del fields["scenes"]
    if len(fields) != len(wanted) + 1:
        return None
    fields["start_line"] = _key_line(text, "start")
    fields["scenes_line"] = _key_line(text, "scenes")
    fields["ink_line"] = _key_line(text, "ink")
    return fields


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
    text = _read_text(path, problems)
    if text is None:
        return []
    scenes, found = parse_scene_file(text, path, narrator)
    problems.extend(found)
    return scenes


def _read_characters(root: Path, problems: list[Problem]) -> dict[str, Character]:
    characters: dict[str, Character] = {}
    folder = root / "characters"
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        text = _read_text(path, problems)
        if text is None:
            continue
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            problems.append(Problem(path, exc.lineno, f"bad JSON: {exc.msg}"))
            continue
        if not isinstance(data, dict):
            problems.append(Problem(path, 1, "a character profile must be a JSON object"))
            continue
        character_id = data.get("character_id")
        if character_id != path.stem:
            problems.append(Problem(path, _key_line(text, '"character_id"'),
                                    f"character_id {json.dumps(character_id)} must equal the file name '{path.stem}'"))
            continue
        name = data.get("display_name")
        if not isinstance(name, str) or not name.strip():
            problems.append(Problem(path, _key_line(text, '"display_name"'), "'display_name' must be a non-empty string"))
            continue
        characters[character_id] = Character(character_id, name, path, data)
    return characters


def _read_text(path: Path, problems: list[Problem]) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        data = path.read_bytes()
        problems.append(Problem(path, data[: exc.start].count(b"\n") + 1, "this file is not UTF-8 text"))
        return data.decode("utf-8", errors="replace")
    except OSError as exc:
        problems.append(Problem(path, 1, f"cannot read: {exc.strerror}"))
    return None


def _key_line(text: str, key: str) -> int:
    """The 1-based line where `key` first appears at the start of a line (1 if absent)."""
    pattern = re.compile(rf"^\s*{re.escape(key)}\s*[=:]", re.MULTILINE)
    match = pattern.search(text)
    return text.count("\n", 0, match.start()) + 1 if match else 1
