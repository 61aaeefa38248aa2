"""Saved games: where the player stands and the story's variables."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from engine.errors import SaveError
from engine.expr import Value
from engine.files import write_atomic
from engine.model import Story

FORMAT = 1


@dataclass
class GameState:
    """Mutable position of a game: the scene, the next statement in it, the variables."""

    scene_id: str
    pc: int = 0
    variables: dict[str, Value] = field(default_factory=dict)


def save_path(saves_dir: Path, story: Story) -> Path:
    digest = hashlib.sha256(str(story.root.resolve()).encode()).hexdigest()[:10]
    return saves_dir / f"{story.slug}-{digest}.json"


def save_game(path: Path, state: GameState) -> None:
    record = {"format": FORMAT, "scene": state.scene_id, "pc": state.pc, "variables": state.variables}
    write_atomic(path, json.dumps(record, indent=2).encode())


def load_game(path: Path, story: Story) -> GameState:
    if not path.exists():
        raise SaveError(f"There is no saved game for '{story.slug}'; start one with 'engine play {story.root}'.")
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        state = GameState(str(record["scene"]), int(record["pc"]), dict(record["variables"]))
    except (OSError, ValueError, KeyError, TypeError):
        raise SaveError(f"The saved game {path} is damaged; delete it to start again.") from None
    scene = story.scenes.get(state.scene_id)
    if scene is None or not 0 <= state.pc <= len(scene.body):
        raise SaveError(f"The saved game no longer fits '{story.slug}' (the story changed); delete {path} to start again.")
    return state


def forget_game(path: Path) -> None:
    path.unlink(missing_ok=True)
