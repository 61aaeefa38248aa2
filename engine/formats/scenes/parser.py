"""Reads scene files: a small line-based format in the spirit of ink.

    // a comment
    === gate: The Sealed Gate ===
    Sand hisses against the stone.              (narration)
    @archaeologist: Hold the lamp higher. #lamp  (dialogue, explicit line id)
    @guide (O.S.): (whispering) Down here. #vo:low (a qualifier, a direction and a tag: none is spoken)
    (SFX) A door slams somewhere above.          (a sound cue: shown, not spoken)
    {torch} The carvings glitter.                (a line shown only if `torch`)
    ~ torch = true, courage += 1                 (set state)
    {courage >= 2} -> inner_hall                 (jump to another scene)
    -> END The Sun Returns                       (an ending, with its title)
    * Open the gate -> hall ~ opened = true      (a choice: label -> scene, effects)
    * {torch} Light the carvings -> carvings     (a choice offered only if `torch`)
    * Give up -> END Home Before Dawn            (a choice that ends the story)
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from engine.core.directions import split_directions
from engine.core.errors import Problem, StoryError
from engine.core.expr import Assignment, Condition, ExprError, parse_assignment, parse_condition
from engine.core.model import END, Choice, Divert, End, Line, Scene, Set, Source, Statement

IDENT = r"[A-Za-z_]\w*"
_HEADER = re.compile(rf"^==+\s*(?P<id>{IDENT})\s*(?::\s*(?P<title>[^=]*?))?\s*=*\s*$")
_COND = re.compile(r"^\{(?P<cond>[^{}]*)\}\s*(?P<rest>.*)$")
_CHOICE = re.compile(
    rf"^\*\s*(?:\{{(?P<cond>[^{{}}]*)\}}\s*)?(?P<label>.*?)\s*->\s*(?P<target>{IDENT})(?:\s+(?P<title>[^~]*?))?\s*"
    r"(?:~(?P<effects>.*))?$"
)
_DIVERT = re.compile(rf"^->\s*(?P<target>{IDENT})(?:\s+(?P<title>.+?))?\s*$")
_BRACES = re.compile(r"\{[^{}]*\}?|\}")
_DIALOGUE = re.compile(r"^@(?P<who>[A-Za-z0-9_][\w-]*)\s*(?:\(\s*(?P<qualifier>[^()]{1,30}?)\s*\))?\s*:\s*(?P<text>.*)$")
_TAG = re.compile(rf"(?:^|\s+)#(?P<tag>{IDENT}(?:[.-]\w+)*(?::\s*[\w.-]+)?)\s*$")  # the last tag of a line


@dataclass
class _Draft:
    scene_id: str
    title: str
    source: Source
    body: list[Statement] = field(default_factory=list)
    choices: list[Choice] = field(default_factory=list)
    spoken: int = 0
    comment: str = ""  # the `//` comment just above the next line: a note for its actor

    def build(self) -> Scene:
        return Scene(self.scene_id, self.title, tuple(self.body), tuple(self.choices), self.source)


class _SceneFileParser:
    def __init__(self, path: Path, narrator: str) -> None:
        self.path = path
        self.narrator = narrator
        self.scenes: list[_Draft] = []
        self.problems: list[Problem] = []

    def fail(self, number: int, message: str) -> None:
        self.problems.append(Problem(self.path, number, message))

    def parse(self, text: str) -> None:
        for number, raw in enumerate(text.splitlines(), start=1):
            stripped = raw.strip()
            if stripped.startswith("//") and self.scenes:
                self.scenes[-1].comment = stripped[2:].strip()
            if not stripped or stripped.startswith("//"):
                continue
            try:
                self.parse_line(number, stripped)
            except ExprError as exc:
                self.fail(number, str(exc))

    def parse_line(self, number: int, text: str) -> None:
        source = Source(self.path, number)
        if text.startswith("="):
            match = _HEADER.match(text)
            if not match:
                self.fail(number, "a scene header looks like '=== scene_id ===' or '=== scene_id: Title ==='")
                return
            title = (match["title"] or "").strip() or match["id"].replace("_", " ").capitalize()
            self.scenes.append(_Draft(match["id"], title, source))
            return
        if not self.scenes:
            self.fail(number, "text before the first scene header ('=== scene_id ===')")
            return
        scene = self.scenes[-1]
        if text.startswith("*"):
            self.parse_choice(scene, number, text)
            return
        if scene.choices:
            self.fail(number, "only choices may follow the first choice of a scene; move this line above them")
            return
        condition: Condition | None = None
        match = _COND.match(text)
        if match:
            condition = parse_condition(match["cond"])
            text = match["rest"]
            if not text:
                self.fail(number, "a condition '{...}' must be followed by a line, a jump or an ending")
                return
        if text.startswith("~"):
            if condition is not None:
                self.fail(number, "conditions cannot guard '~' assignments; put them on a choice or a jump")
                return
            assignments = _parse_assignments(text[1:])
            scene.body.append(Set(assignments, source))
        elif text.startswith("->"):
            self.parse_divert(scene, number, text, condition)
        else:
            self.parse_spoken(scene, number, text, condition)

    def parse_choice(self, scene: _Draft, number: int, text: str) -> None:
        match = _CHOICE.match(text)
        if not match:
            self.fail(number, "a choice looks like '* Label -> scene_id' (optionally '* {condition} ...' and '~ x = 1')")
            return
        if not match["label"]:
            self.fail(number, "a choice needs a label before '->'")
            return
        ending = (match["title"] or "The End").strip() if match["target"] == END else None
        if match["title"] and ending is None:
            self.fail(number, f"unexpected text after '-> {match['target']}' (only '-> END' takes a title)")
            return
        condition = parse_condition(match["cond"]) if match["cond"] is not None else None
        effects = _parse_assignments(match["effects"]) if match["effects"] is not None else ()
        scene.choices.append(Choice(match["label"], match["target"], Source(self.path, number), condition, effects,
                                    ending))

    def parse_divert(self, scene: _Draft, number: int, text: str, condition: Condition | None) -> None:
        match = _DIVERT.match(text)
        source = Source(self.path, number)
        if not match:
            self.fail(number, "a jump looks like '-> scene_id' or '-> END Title of the ending'")
        elif match["target"] == END:
            scene.body.append(End((match["title"] or "The End").strip(), source, condition))
        elif match["title"]:
            self.fail(number, f"unexpected text after '-> {match['target']}'")
        else:
            scene.body.append(Divert(match["target"], source, condition))

    def parse_spoken(self, scene: _Draft, number: int, text: str, condition: Condition | None) -> None:
        text, line_id, tags = _split_tags(text)
        character_id, is_narration, qualifier = self.narrator, True, ""
        if text.startswith("@"):
            match = _DIALOGUE.match(text)
            if not match:
                self.fail(number, "a dialogue line looks like '@character_id: text' or '@character_id (O.S.): text'")
                return
            character_id, text, is_narration = match["who"], match["text"], False
            qualifier = match["qualifier"] or ""
        directions, text = split_directions(text)
        if not text and not directions:
            self.fail(number, "this line has nothing to say")
            return
        braces = _BRACES.search(text)
        if braces:  # it would be shown, and read aloud, as it is written
            self.fail(number, f"'{braces[0]}' inside a line: this format does not put values into text; say each "
                              f"case in its own line under a condition (e.g. '{{visits >= 2}} You know this room.')")
            return
        scene.spoken += 1
        line_id = line_id or f"{scene.scene_id}.{scene.spoken}"
        source = Source(self.path, number)
        scene.body.append(Line(line_id, scene.scene_id, character_id, text, is_narration, source, condition,
                               directions, qualifier, tags, scene.comment))
        scene.comment = ""


def _split_tags(text: str) -> tuple[str, str | None, tuple[str, ...]]:
    """(text, line id, other tags) from a line ending in tags: `... #lamp #vo:loud` (`#id:lamp` names the id too)."""
    line_id: str | None = None
    tags: list[str] = []
    while (match := _TAG.search(text)) is not None:
        tag = match["tag"]
        key, colon, value = tag.partition(":")
        if not colon:
            line_id = line_id or tag
        elif key == "id":
            line_id = line_id or value.strip()
        else:
            tags.insert(0, f"{key}:{value.strip()}")
        text = text[: match.start()]
    return text.strip(), line_id, tuple(tags)


def _parse_assignments(text: str) -> tuple[Assignment, ...]:
    parts = [part for part in text.split(",")]
    if not text.strip():
        raise ExprError("'~' needs an assignment such as 'torch = true'")
    return tuple(parse_assignment(part) for part in parts)


def parse_scene_file(text: str, path: Path, narrator: str = "narrator") -> tuple[list[Scene], list[Problem]]:
    """Parses one scene file; returns its scenes and every problem found (never raises on bad text)."""
    parser = _SceneFileParser(path, narrator)
    parser.parse(text)
    return [draft.build() for draft in parser.scenes], parser.problems


def parse_scenes(text: str, path: Path, narrator: str = "narrator") -> list[Scene]:
    """Like parse_scene_file but raises StoryError when the text has any problem."""
    scenes, problems = parse_scene_file(text, path, narrator)
    if problems:
        raise StoryError(problems)
    return scenes
