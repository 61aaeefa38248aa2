"""Loads a story folder: story.toml, what its format reads (engine.formats), characters/*.json."""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from engine.check import validate_story
from engine.core.errors import EngineError, Problem, StoryError
from engine.core.files import read_text
from engine.core.model import Character, Source, Story
from engine.formats import Manifest, StoryFormat
from engine.formats.registry import builtin_formats

_TOML_LINE = re.compile(r"line (\d+)")
COMMON_KEYS = (("title", str, None), ("author", str, ""), ("language", str, "en"), ("narrator", str, "narrator"))


def load_story(root: Path | str, formats: Mapping[str, StoryFormat] | None = None) -> Story:
    """Loads and validates a story; raises StoryError listing every error found. `formats`: the story
    formats known (engine.formats.registry; the built-in ones by default)."""
    story, problems = read_story(root, formats)
    errors = [p for p in problems if p.severity == "error"]
    if errors or story is None:
        raise StoryError(errors)
    return story


def read_story(root: Path | str, formats: Mapping[str, StoryFormat] | None = None) -> tuple[Story | None, list[Problem]]:
    """Reads a story and returns it (None if it cannot be built) with all problems, warnings included."""
    root = Path(root)
    if not root.is_dir():
        raise EngineError(f"There is no story folder at {root} (expected a folder holding story.toml).")
    manifest_path = root / "story.toml"
    if not manifest_path.is_file():
        raise EngineError(f"{root} is not a story folder: it has no story.toml.")
    problems: list[Problem] = []
    found = _read_manifest(manifest_path, formats or builtin_formats(), problems)
    if found is None:
        return None, problems
    story_format, manifest = found
    content = story_format.read(root, manifest, problems)
    if content is None:
        return None, problems
    values = manifest.values
    story = Story(root=root, title=values["title"], author=values["author"], language=values["language"],
                  start=content.start, narrator=values["narrator"], scenes=content.scenes,
                  characters=_read_characters(root, problems), source=Source(manifest_path, manifest.line("start")),
                  format=story_format, data=content.data)
    problems.extend(validate_story(story))
    return story, problems


def _read_manifest(path: Path, formats: Mapping[str, StoryFormat],
                   problems: list[Problem]) -> tuple[StoryFormat, Manifest] | None:
    text = read_text(path, problems)
    if text is None:
        return None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        found = _TOML_LINE.search(str(exc))
        problems.append(Problem(path, int(found.group(1)) if found else 1, f"bad TOML: {exc}"))
        return None
    story_format = formats.get(data.get("format", "scenes"))
    if story_format is None:
        problems.append(Problem(path, _key_line(text, "format"),
                                f"'format' must be one of {', '.join(formats)}, not {data.get('format')!r}"))
        return None
    values: dict[str, Any] = {}
    wanted = [*COMMON_KEYS, *story_format.keys]
    for key, kind, default in wanted:
        if key not in data and default is not None:
            values[key] = default
            continue
        value = data.get(key)
        if value is None:
            problems.append(Problem(path, 1, f"story.toml needs '{key}'"))
        elif not isinstance(value, kind) or (kind is str and not str(value).strip()):
            article = "true or false" if kind is bool else f"a non-empty {kind.__name__}"
            problems.append(Problem(path, _key_line(text, key), f"'{key}' must be {article}"))
        else:
            values[key] = value
    if len(values) != len(wanted):
        return None
    return story_format, Manifest(path, values, lambda key: _key_line(text, key))


def _read_characters(root: Path, problems: list[Problem]) -> dict[str, Character]:
    characters: dict[str, Character] = {}
    folder = root / "characters"
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        text = read_text(path, problems)
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


def _key_line(text: str, key: str) -> int:
    """The 1-based line where `key` first appears at the start of a line (1 if absent)."""
    pattern = re.compile(rf"^\s*{re.escape(key)}\s*[=:]", re.MULTILINE)
    match = pattern.search(text)
    return text.count("\n", 0, match.start()) + 1 if match else 1
