"""--trace FILE.jsonl: one JSON object per event, written by a plugin like any other."""

from __future__ import annotations

import dataclasses
import json
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from engine.core.model import ChoiceOption, Scene, SpokenLine
from engine.plugins import hookimpl


class TraceWriter:
    """Appends records with `t_ms` (ms since the game started); safe from any thread."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.handle = path.open("w", encoding="utf-8")
        self.start = time.monotonic()
        self.lock = threading.Lock()

    def write(self, record: dict[str, Any]) -> None:
        stamped = {"t_ms": round((time.monotonic() - self.start) * 1000, 1), **record}
        with self.lock:
            if not self.handle.closed:
                self.handle.write(json.dumps(stamped, ensure_ascii=False, default=str) + "\n")
                self.handle.flush()

    def close(self) -> None:
        with self.lock:
            self.handle.close()


def line_fields(line: SpokenLine) -> dict[str, Any]:
    fields = dataclasses.asdict(line)
    fields["scene"] = fields.pop("scene_id")
    return fields


class TracePlugin:
    """Records the engine's own events; `tag_games` (a server's many games) adds each record's game id."""

    def __init__(self, writer: TraceWriter, tag_games: bool = False) -> None:
        self.writer = writer
        self.tag_games = tag_games

    def write(self, game: str, record: dict[str, Any]) -> None:
        self.writer.write({"game": game, **record} if self.tag_games else record)

    @hookimpl
    def engine_scene_entered(self, scene: Scene, resumed: bool, game: str) -> None:
        self.write(game, {"event": "scene", "scene": scene.scene_id, "resumed": resumed})

    @hookimpl
    def engine_narration(self, line: SpokenLine, game: str) -> None:
        self.write(game, {"event": "narration", **line_fields(line)})

    @hookimpl
    def engine_dialogue(self, line: SpokenLine, game: str) -> None:
        self.write(game, {"event": "dialogue", **line_fields(line)})

    @hookimpl
    def engine_line_skipped(self, line: SpokenLine, game: str) -> None:
        self.write(game, {"event": "skip", "line_id": line.line_id})

    @hookimpl
    def engine_upcoming_lines(self, lines: Sequence[SpokenLine], game: str) -> None:
        self.write(game, {"event": "upcoming", "line_ids": [line.line_id for line in lines]})

    @hookimpl
    def engine_choices_presented(self, options: Sequence[ChoiceOption], game: str) -> None:
        self.write(game, {"event": "choices", "options": [o.label for o in options]})

    @hookimpl
    def engine_choice_made(self, option: ChoiceOption, game: str) -> None:
        self.write(game, {"event": "choice", "choice": option.number, "label": option.label, "target": option.target})

    @hookimpl
    def engine_story_ended(self, ending: str | None, reason: str, game: str) -> None:
        self.write(game, {"event": "ended", "ending": ending, "reason": reason})
