"""A plugin for tests, loaded through `[plugins] modules`: appends every event, with the game it is about, to
$RECORDER_OUT (one JSON object a line; several games may write at once)."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Sequence
from typing import Any

from engine import ChoiceOption, PlayContext, Scene, SpokenLine, hookimpl

LOCK = threading.Lock()  # a server's games fire hooks on several threads


def _write(event: str, **fields: Any) -> None:
    with LOCK, open(os.environ["RECORDER_OUT"], "a", encoding="utf-8") as handle:
        handle.write(json.dumps({"event": event, **fields}) + "\n")


def _line(line: SpokenLine) -> dict[str, Any]:
    return {"line_id": line.line_id, "character_id": line.character_id, "speaker": line.speaker, "text": line.text}


@hookimpl
def engine_story_loaded(context: PlayContext) -> None:
    _write("story_loaded", title=context.story.title, game=context.game)
    context.trace({"event": "recorder", "note": "hello from a plugin"})


@hookimpl
def engine_scene_entered(scene: Scene, resumed: bool, game: str) -> None:
    _write("scene_entered", scene=scene.scene_id, resumed=resumed, game=game)


@hookimpl
def engine_upcoming_lines(lines: Sequence[SpokenLine], game: str) -> None:
    _write("upcoming_lines", line_ids=[line.line_id for line in lines], game=game)


@hookimpl
def engine_narration(line: SpokenLine, game: str) -> None:
    _write("narration", **_line(line), game=game)


@hookimpl
def engine_dialogue(line: SpokenLine, game: str) -> None:
    _write("dialogue", **_line(line), game=game)


@hookimpl
def engine_choices_presented(options: Sequence[ChoiceOption], game: str) -> None:
    _write("choices_presented", labels=[o.label for o in options], game=game)


@hookimpl
def engine_choice_made(option: ChoiceOption, game: str) -> None:
    _write("choice_made", number=option.number, target=option.target, game=game)


@hookimpl
def engine_story_ended(ending: str | None, reason: str, game: str) -> None:
    _write("story_ended", ending=ending, reason=reason, game=game)
