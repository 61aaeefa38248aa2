"""Plays a compiled ink story with the ink runtime (bink: Python over the blade-ink runtime).

Choices, conditions, variables, gathers, sticky and once-only choices, tunnels, threads, functions
and endings are the runtime's. This module turns what it emits into the engine's steps:
- a line's speaker is its `#speaker:id` tag, or a `NAME:` prefix that names a character (the prefix
  is then neither shown nor spoken); other lines are narration; as in dink, the prefix may carry a
  qualifier (`LAURA (O.S.):`) and the text may start with directions (`(quietly)`), kept apart from
  the text (engine/core/directions.py); its tags other than id, speaker and ending go with the line;
- a line's id is its `#id:` tag, else `<knot>[.<stitch>].<first words>-<hash>` (see docs/authoring.md);
- a scene is a knot: entering another knot is a scene entry; its `# title:` tag is shown as a heading,
  unless that heading is already the last one shown (back from a tunnel);
- the ending's title is the last `#ending:` tag met, else "The End".
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from collections.abc import Generator, Iterator, Mapping
from dataclasses import replace
from typing import Any

from engine.core.directions import split_directions, split_qualifier
from engine.core.errors import SaveError, StoryError
from engine.core.model import Character, Line, Scene, Source, Story
from engine.core.saves import FORMAT
from engine.formats import ChoiceStep, EndStep, LineStep, SceneStep, Step, nearest_first
from engine.formats.ink.book import TOP, InkBook, book_of

log = logging.getLogger(__name__)

MAX_AHEAD = 60  # lines read ahead to the next choice before giving up
EXPLORE_SECONDS = 0.25  # time one look ahead may take on the runner's thread
DEFAULT_ENDING = "The End"
_PREFIX = re.compile(r"^\s*(?P<name>[^:\n]{1,40}?)\s*:\s+(?P<text>\S.*)$", re.DOTALL)
_WORD = re.compile(r"[a-z0-9]+")
OWN_TAGS = ("id", "speaker", "ending", "title")  # tags the engine reads itself


def open_runtime(book: InkBook) -> Any:
    from bink.story import Story as Runtime

    runtime = Runtime(book.text)
    runtime.set_allow_external_function_fallbacks(True)  # EXTERNAL functions use their ink fallbacks
    return runtime


def tag_value(tags: list[str] | tuple[str, ...], key: str) -> str | None:
    """The value of the last `key: value` tag (`#speaker:guide` and `# speaker: guide` alike)."""
    found = None
    for tag in tags:
        name, colon, value = tag.partition(":")
        if colon and name.strip().lower() == key and value.strip():
            found = value.strip()
    return found


class LineMaker:
    """Turns the runtime's text and tags into a Line: speaker, id, scene."""

    def __init__(self, story: Story) -> None:
        self.book = book_of(story)
        self.narrator = story.narrator
        self.names = names_of(story.characters)
        self.places: dict[str, Source] = {}  # line id -> where its #id: tag is in the sources

    def read(self, runtime: Any) -> tuple[Line | None, list[str]]:
        """Continues the runtime by one line; (None, tags) for a line with no text."""
        before = runtime.get_current_path()
        try:
            raw = runtime.cont()
            tags = list(runtime.get_current_tags())
            after = runtime.get_current_path()
        except RuntimeError as exc:
            container = self.book.container_of(self._path(runtime) or before)
            if container in ("", TOP):  # the runtime does not say where: name the story's main file
                path = self.book.sources[0] if self.book.sources else self.book.path
                raise StoryError.at(path, 1, f"the ink runtime stopped: {exc}") from None
            where = self.book.scene(container)
            raise StoryError.at(where.source.path, where.source.line,
                                f"the ink runtime stopped in '{where.scene_id}': {exc}") from None
        text = " ".join(raw.split())
        if not text:
            return None, tags
        container = self.book.place(text, before, after)
        speaker, qualifier, text = self.speaker(text, tags)
        tagged = tag_value(tags, "id")
        line_id = tagged or implicit_id(container, speaker, text)
        directions, said = split_directions(text)
        kept = tuple(tag.strip() for tag in tags if tag.partition(":")[0].strip().lower() not in OWN_TAGS)
        line = Line(line_id, container.split(".")[0], speaker, said, speaker == self.narrator,
                    self._place(line_id) if tagged else Source(self.book.path, 1), None, directions, qualifier, kept)
        return line, tags

    @staticmethod
    def _path(runtime: Any) -> str:
        try:
            return str(runtime.get_current_path())
        except RuntimeError:
            return ""

    def _place(self, line_id: str) -> Source:
        if line_id not in self.places:
            found = self.book.locator.first(rf"#\s*id\s*:\s*{re.escape(line_id)}(?![\w.-])")
            self.places[line_id] = found or Source(self.book.path, 1)
        return self.places[line_id]

    def speaker(self, text: str, tags: list[str]) -> tuple[str, str, str]:
        """(character_id, qualifier, text without a speaker prefix)."""
        tagged = tag_value(tags, "speaker")
        match = _PREFIX.match(text) if self.book.speaker_prefixes else None
        name, qualifier = split_qualifier(match.group("name")) if match else ("", "")
        named = self.names.get(name.lower()) if match else None
        if match and named and (tagged is None or tagged == named):
            return named, qualifier, match.group("text")
        return tagged or self.narrator, "", text


def names_of(characters: Mapping[str, Character]) -> dict[str, str]:
    """What a `NAME:` prefix may say (a character_id or display name, any case) -> character_id."""
    names = {c.display_name.lower(): c.character_id for c in characters.values()}
    names.update({c.lower(): c for c in characters})
    return names


def implicit_id(container: str, speaker: str, text: str) -> str:
    """A line's id when it has no #id: tag: stable while its knot/stitch, speaker and text stay the same."""
    words = "-".join(_WORD.findall(text.lower())[:4]) or "line"
    digest = hashlib.sha256(f"{speaker}\n{text}".encode()).hexdigest()[:6]
    return f"{container}.{words}-{digest}"


class InkPlaythrough:
    """One game of an ink story. The runtime is this game's; looking ahead uses a second runtime."""

    def __init__(self, story: Story, record: dict[str, Any] | None, runtime: Any = None) -> None:
        """`runtime`: one to reuse (its state is replaced), e.g. by a walk that plays one branch at a time."""
        self.book = book_of(story)
        self.maker = LineMaker(story)
        self.runtime = runtime or open_runtime(self.book)
        if runtime is not None and record is None:
            self.runtime.reset_state()
        self.explorer: Any = None  # made on first use
        self.scene_id: str | None = None
        self.ending: str | None = None
        self.picked: int | None = None
        self.heading = ""  # the last knot title shown: coming back to it (from a tunnel, say) shows no new heading
        if record is not None:
            self._restore(story, record)
        self.position = self.runtime.save_state()  # where the current step starts (a save continues there)
        self.steps = self._walk(record is not None)

    def _restore(self, story: Story, record: dict[str, Any]) -> None:
        if record.get("story_format") != "ink" or not isinstance(record.get("state"), str):
            raise SaveError(f"The saved game no longer fits '{story.slug}' (it was saved from another kind of story).")
        try:
            self.runtime.load_state(record["state"])
        except RuntimeError:
            raise SaveError(f"The saved game no longer fits '{story.slug}' (the story changed).") from None
        self.scene_id = str(record.get("scene") or TOP)
        self.ending = record.get("ending")

    def next(self) -> Step:
        return next(self.steps)

    def choose(self, index: int) -> None:
        self.picked = index

    def save(self) -> dict[str, Any]:
        return {"format": FORMAT, "story_format": "ink", "scene": self.scene_id, "ending": self.ending,
                "state": self.position}

    def _walk(self, resumed: bool) -> Iterator[Step]:
        if resumed:
            yield SceneStep(self._scene(self.scene_id or TOP), True)
        while True:
            yield from self._lines()
            self.position = self.runtime.save_state()
            labels = list(self.runtime.get_current_choices())
            if not labels:
                yield EndStep(self.ending or DEFAULT_ENDING)
                return
            if self.scene_id is None:  # choices before any line
                self.scene_id = TOP
                yield SceneStep(self.book.scene(TOP), False)
            self.picked = None
            yield ChoiceStep(self.book.scene(self.scene_id), tuple((" ".join(label.split()), "") for label in labels))
            assert self.picked is not None, "choose() must answer a ChoiceStep"
            self.runtime.choose_choice_index(self.picked)

    def _lines(self) -> Generator[Step, None, None]:
        while self.runtime.can_continue():
            self.position = self.runtime.save_state()
            line, tags = self.maker.read(self.runtime)
            self.ending = tag_value(tags, "ending") or self.ending
            if line is None:
                continue
            if line.scene_id != self.scene_id:
                self.scene_id = line.scene_id
                yield SceneStep(self._scene(line.scene_id), False)
            yield LineStep(line)

    def _scene(self, knot: str) -> Scene:
        scene = self.book.scene(knot)
        if scene.title and scene.title == self.heading:
            return replace(scene, title="")
        self.heading = scene.title or self.heading
        return scene

    def upcoming(self, opening_lines: int) -> list[Line]:
        """Reads ahead on a copy of the state: the rest up to the next choice, then each choice's opening lines."""
        if self.explorer is None:
            self.explorer = open_runtime(self.book)
        deadline = time.monotonic() + EXPLORE_SECONDS
        try:
            self.explorer.load_state(self.position)
            rest = self._read_ahead(MAX_AHEAD, deadline)
            if self.explorer.can_continue():
                return rest
            at_choices = self.explorer.save_state()
            openings = []
            for index in range(len(self.explorer.get_current_choices())):
                if time.monotonic() > deadline:
                    break
                self.explorer.load_state(at_choices)
                self.explorer.choose_choice_index(index)
                openings.append(self._read_ahead(opening_lines, deadline))
        except (RuntimeError, StoryError) as exc:  # looking ahead must never stop the game
            log.warning("ink look-ahead stopped: %s", exc)
            return []
        return nearest_first(rest, openings)

    def _read_ahead(self, limit: int, deadline: float) -> list[Line]:
        lines: list[Line] = []
        while len(lines) < limit and self.explorer.can_continue() and time.monotonic() < deadline:
            line, _ = self.maker.read(self.explorer)
            if line is not None:
                lines.append(line)
        return lines
