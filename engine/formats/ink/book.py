"""Reads a compiled ink story (JSON exported by Inky or inkjs-compiler) and indexes what it says.

Playing is the ink runtime's (bink, engine.formats.ink); this module only checks that the file is
compiled ink the runtime can load, and indexes its text for ids, speakers and `engine check`:
- knots and stitches (the scenes), a knot's `# title:` tag;
- every text fragment and the knot or stitch it lies in, so a line the runtime emits can be placed;
- the static lines (text up to a newline) with their tags (gathered by walk.py), to report duplicate `#id:` tags, speaker
  tags naming no profile, and lines without an id, at their place in the .ink sources when present.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from engine.core.errors import Problem
from engine.core.model import Scene, Source, Story
from engine.formats.ink.walk import TOP, StaticLine, Walk

OLDEST_INK, NEWEST_INK = 18, 21  # the ink versions the runtime (blade-ink, through bink) loads
_INCLUDE = re.compile(r"^\s*INCLUDE\s+(?P<name>\S.*?)\s*$")


@dataclass(frozen=True)
class InkBook:
    """A compiled ink story as the loader found it."""

    path: Path  # the compiled JSON
    text: str  # the JSON, without the BOM Inky writes
    sources: tuple[Path, ...]  # the .ink files it was compiled from, when they are beside it
    knots: tuple[str, ...]
    stitches: frozenset[str]  # "knot.stitch"
    titles: Mapping[str, str]  # knot -> its `# title:` tag
    fragments: Mapping[str, frozenset[str]]  # stripped text fragment -> containers holding it
    lines: tuple[StaticLine, ...]
    externals: frozenset[str] = frozenset()  # EXTERNAL functions the story calls
    speaker_prefixes: bool = True  # `GUIDE: text` names the speaker when GUIDE is a known character
    locator: Locator = field(default_factory=lambda: Locator(()), compare=False)
    scenes: dict[str, Scene] = field(default_factory=dict, compare=False, repr=False)  # made once per knot

    def container_of(self, path: str) -> str:
        """The knot or knot.stitch of a runtime path such as 'cave.entrance.0.c-1.4' ('' for none)."""
        parts = [p for p in path.split(".") if p]
        if not parts or parts[0] not in self.knots:
            return TOP if parts and parts[0].isdigit() else ""
        if len(parts) > 1 and f"{parts[0]}.{parts[1]}" in self.stitches:
            return f"{parts[0]}.{parts[1]}"
        return parts[0]

    def place(self, text: str, before: str, after: str) -> str:
        """Where the runtime's line `text` comes from: the container whose fragment it matches, preferring
        the runtime's paths after and before the line (a line at a choice or an ending has no path after)."""
        near = [c for c in (self.container_of(after), self.container_of(before)) if c]
        found = self._fragment_containers(text)
        for container in near:
            if container in found:
                return container
        if found:
            return sorted(found)[0]
        return near[0] if near else TOP

    def _fragment_containers(self, text: str) -> frozenset[str]:
        """Containers of the longest fragment the line starts with (whole words), e.g. before a {variable}."""
        words = text.split()
        for count in range(len(words), 0, -1):
            found = self.fragments.get(" ".join(words[:count]))
            if found:
                return found
        return frozenset()

    def scene(self, container: str) -> Scene:
        knot = container.split(".")[0] or TOP
        if knot not in self.scenes:  # the knot's line is looked up in the sources once
            where = self.locator.first(rf"^\s*==+\s*{re.escape(knot)}\b") if knot != TOP else None
            self.scenes[knot] = Scene(knot, self.titles.get(knot, ""), (), (), where or Source(self.path, 1))
        return self.scenes[knot]


class Locator:
    """Finds text in the .ink sources, to name a file and line (compiled JSON has no line numbers)."""

    def __init__(self, sources: tuple[Path, ...]) -> None:
        self.files = [(path, _read_lines(path)) for path in sources]

    def all(self, pattern: str) -> list[Source]:
        regex = re.compile(pattern)
        return [Source(path, number) for path, lines in self.files
                for number, line in enumerate(lines, start=1) if regex.search(line)]

    def first(self, pattern: str) -> Source | None:
        found = self.all(pattern)
        return found[0] if found else None


def read_ink(root: Path, json_name: str, source_name: str | None, where: Source, speaker_prefixes: bool,
             problems: list[Problem]) -> InkBook | None:
    """Reads and checks the compiled JSON; None (with the problem added) if it cannot be played."""
    path = root / json_name
    if not path.resolve().is_relative_to(root.resolve()):
        problems.append(Problem(where.path, where.line, f"ink file '{json_name}' lies outside the story folder"))
        return None
    if not path.is_file():
        problems.append(Problem(where.path, where.line, f"ink file '{json_name}' does not exist"))
        return None
    text = _compiled_json(path, problems)
    if text is None:
        return None
    data = json.loads(text)
    sources = _sources(root, json_name, source_name)
    walk = Walk()
    walk.container(data["root"], "")
    knots = tuple(walk.knots)
    book = InkBook(path, text, sources, knots, frozenset(walk.stitches), walk.titles,
                   {k: frozenset(v) for k, v in walk.fragments.items()}, tuple(walk.lines),
                   frozenset(walk.externals), speaker_prefixes, Locator(sources))
    return book


def _compiled_json(path: Path, problems: list[Problem]) -> str | None:
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError:
        problems.append(Problem(path, 1, "this file is not UTF-8 text"))
        return None
    except OSError as exc:
        problems.append(Problem(path, 1, f"cannot read: {exc.strerror}"))
        return None
    export = "export it from Inky (File > Export to JSON) or compile it with inkjs-compiler"
    if not text.lstrip().startswith("{"):
        problems.append(Problem(path, 1, f"this is not compiled ink JSON (ink source?): {export}"))
        return None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        problems.append(Problem(path, exc.lineno, f"bad JSON: {exc.msg}"))
        return None
    version = data.get("inkVersion") if isinstance(data, dict) else None
    if not isinstance(version, int) or not isinstance(data.get("root"), list):
        problems.append(Problem(path, 1, f"this JSON is not a compiled ink story (no inkVersion and root): {export}"))
        return None
    if not OLDEST_INK <= version <= NEWEST_INK:
        problems.append(Problem(path, 1, f"it was compiled for ink version {version}; this engine plays ink "
                                         f"versions {OLDEST_INK} to {NEWEST_INK} (export it again with a current Inky)"))
        return None
    from bink.story import Story as Runtime

    try:
        Runtime(text)
    except RuntimeError as exc:
        problems.append(Problem(path, 1, f"the ink runtime cannot load it: {exc}"))
        return None
    return text


def _sources(root: Path, json_name: str, source_name: str | None) -> tuple[Path, ...]:
    """The main .ink source (named, or beside the JSON: story.ink.json -> story.ink) and what it INCLUDEs."""
    if source_name:
        main = root / source_name
    else:
        json_path = root / json_name
        main = json_path.with_suffix("") if json_path.stem.endswith(".ink") else json_path.with_suffix(".ink")
    found: list[Path] = []
    todo = [main]
    while todo:
        path = todo.pop(0)
        if path in found or not path.is_file():
            continue
        found.append(path)
        for line in _read_lines(path):
            match = _INCLUDE.match(line)
            if match:
                todo.append(main.parent / match.group("name"))
    return tuple(found)


def _read_lines(path: Path) -> list[str]:
    try:
        return path.read_text(encoding="utf-8-sig", errors="replace").splitlines()
    except OSError:
        return []


def book_of(story: Story) -> InkBook:
    """The compiled ink an ink story was read into (its format's own data)."""
    if not isinstance(story.data, InkBook):
        raise TypeError(f"{story.slug} is not an ink story")
    return story.data
