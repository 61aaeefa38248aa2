"""Our scene format as data for the page's runtime (page/scenes.js): every scene's statements and choices,
conditions as syntax trees (nothing for the page to parse or eval), and each speaker's name resolved as the
driver resolves it (engine/runner.py's spoken_line). `digest` names this exact story: a save made by a page
of another digest is refused."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from engine.core.expr import Assignment, BinOp, Condition, Const, Node, Not, Var
from engine.core.model import Choice, Divert, End, Line, Scene, Set, Story
from engine.formats.ink.book import TOP, book_of
from engine.formats.ink.playthrough import names_of
from engine.runner import spoken_line

FORMAT = 1


def story_data(story: Story) -> dict[str, Any]:
    data = ink_data(story) if story.format.name == "ink" else {
        "format": FORMAT, "story_format": "scenes", "title": story.title, "start": story.start,
        "scenes": {scene_id: _scene(story, scene) for scene_id, scene in story.scenes.items()}}
    data["digest"] = hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]
    return data


def ink_data(story: Story) -> dict[str, Any]:
    """An ink story for the page's runtime (page/ink_game.js over inkjs): the compiled JSON, and what
    engine/formats/ink/book.py indexes to place and name each line (knots, stitches, titles, text fragments),
    the names a `NAME:` prefix may say, and each speaker's name."""
    book = book_of(story)
    return {"format": FORMAT, "story_format": "ink", "title": story.title, "ink": json.loads(book.text),
            "top": TOP, "knots": list(book.knots), "stitches": sorted(book.stitches), "titles": dict(book.titles),
            "fragments": {text: sorted(places) for text, places in book.fragments.items()},
            "speaker_prefixes": book.speaker_prefixes, "narrator": story.narrator, "names": names_of(story.characters),
            "speakers": {c.character_id: c.display_name for c in story.characters.values()}}


def _scene(story: Story, scene: Scene) -> dict[str, Any]:
    return {"title": scene.title, "body": [_statement(story, statement) for statement in scene.body],
            "choices": [_choice(choice) for choice in scene.choices]}


def _statement(story: Story, statement: Line | Set | Divert | End) -> dict[str, Any]:
    if isinstance(statement, Set):
        return {"set": [_assignment(a) for a in statement.assignments]}
    found: dict[str, Any]
    if isinstance(statement, Line):
        spoken = spoken_line(story, statement)
        found = {"line": spoken.line_id, "character": spoken.character_id, "speaker": spoken.speaker,
                 "text": spoken.text, "narration": spoken.is_narration, "directions": list(spoken.directions),
                 "qualifier": spoken.qualifier}
    elif isinstance(statement, Divert):
        found = {"divert": statement.target}
    else:
        found = {"end": statement.title}
    if statement.condition is not None:
        found["when"] = _condition(statement.condition)
    return found


def _choice(choice: Choice) -> dict[str, Any]:
    found: dict[str, Any] = {"label": choice.label, "target": choice.target,
                             "effects": [_assignment(a) for a in choice.effects]}
    if choice.condition is not None:
        found["when"] = _condition(choice.condition)
    if choice.ending is not None:
        found["ending"] = choice.ending
    return found


def _assignment(assignment: Assignment) -> list[Any]:
    return [assignment.name, assignment.op, assignment.value]


def _condition(condition: Condition) -> list[Any]:
    return _node(condition.node)


def _node(node: Node) -> list[Any]:
    """["var", name], ["const", value], ["not", node] or [op, left, right] (op: and, or, ==, !=, <, <=, >, >=)."""
    if isinstance(node, Var):
        return ["var", node.name]
    if isinstance(node, Const):
        return ["const", node.value]
    if isinstance(node, Not):
        return ["not", _node(node.operand)]
    assert isinstance(node, BinOp)
    return [node.op, _node(node.left), _node(node.right)]
