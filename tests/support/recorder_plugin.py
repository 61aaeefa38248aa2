"""A plugin for tests, loaded through `[plugins] modules`: appends every event to $RECORDER_OUT."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from typing import Any

from engine import ChoiceOption, PlayContext, Scene, SpokenLine, hookimpl


def _write(event: str, **fields: Any) -> None:
    with open(os.environ["RECORDER_OUT"], "a", encoding="utf-8") as handle:
        handle.write(json.dumps({"event": event, **fields}) + "\n")


@hookimpl
def engine_story_loaded(context: PlayContext) -> None:
    _write("story_loaded", title=context.story.title)
    context.trace({"event": "recorder", "note": "hello from a plugin"})


@hookimpl
def engine_scene_entered(scene: Scene, resumed: bool) -> None:
    _write("scene_entered", scene=scene.scene_id, resumed=resumed)


@hookimpl
def engine_upcoming_lines(lines: Sequence[SpokenLine]) -> None:
    _write("upcoming_lines", line_ids=[line.line_id for line in lines])


@hookimpl
def engine_narration(line: SpokenLine) -> None:
    _write("narration", line_id=line.line_id, character_id=line.character_id)


@hookimpl
def engine_dialogue(line: SpokenLine) -> None:
    _write("dialogue", line_id=line.line_id, character_id=line.character_id)


@hookimpl
def engine_choices_presented(options: Sequence[ChoiceOption]) -> None:
    _write("choices_presented", labels=[o.label for o in options])


@hookimpl
def engine_choice_made(option: ChoiceOption) -> None:
    _write("choice_made", number=option.number, target=option.target)


@hookimpl
def engine_story_ended(ending: str | None, reason: str) -> None:
    _write("story_ended", ending=ending, reason=reason)
