"""What a plugin gets when a game starts."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.config import Config
from engine.core.model import Story


@dataclass(frozen=True)
class PlayContext:
    story: Story
    config: Config  # each plugin reads its own table: context.config.table("voice")
    options: Mapping[str, Any] = field(default_factory=dict)
    trace: Callable[[dict[str, Any]], None] = lambda record: None
    notify: Callable[[str], None] = lambda text: None
