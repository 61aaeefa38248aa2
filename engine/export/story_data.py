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
from engine.runner import spoken_line

FORMAT = 1


def story_data(story: Story) -> dict[str, Any]:
    data = {"format": FORMAT, "story_format": "scenes", "title": story.title, "start": story.start,
            "scenes": {scene_id: _scene(story, scene) for scene_id, scene in story.scenes.items()}}
    data["digest"] = hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]
    return data


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
