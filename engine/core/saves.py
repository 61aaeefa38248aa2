"""Saved games: a record each story format writes and reads back (see engine.formats)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from engine.core.errors import SaveError
from engine.core.files import write_atomic
from engine.core.model import Story

FORMAT = 1


def save_path(saves_dir: Path, story: Story) -> Path:
    digest = hashlib.sha256(str(story.root.resolve()).encode()).hexdigest()[:10]
    return saves_dir / f"{story.slug}-{digest}.json"


def save_game(path: Path, record: dict[str, Any]) -> None:
    write_atomic(path, json.dumps(record, indent=2).encode())


def load_game(path: Path, story: Story) -> dict[str, Any]:
    """The saved record; whether it still fits the story is the format's to say (open_playthrough)."""
    if not path.exists():
        raise SaveError(f"There is no saved game for '{story.slug}'; start one with 'engine play {story.root}'.")
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        record = None
    if not isinstance(record, dict) or record.get("format") != FORMAT:
        raise SaveError(f"The saved game {path} is damaged; delete it to start again.")
    return record


def forget_game(path: Path) -> None:
    path.unlink(missing_ok=True)
