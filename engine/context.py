"""What a plugin gets when a game starts (and, for `engine serve`, when the server starts)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.config import Config
from engine.core.model import Story


def _nothing(value: Any) -> None:
    pass


@dataclass(frozen=True)
class PlayContext:
    story: Story
    config: Config  # each plugin reads its own table: context.config.table("voice")
    options: Mapping[str, Any] = field(default_factory=dict)
    trace: Callable[[dict[str, Any]], None] = _nothing  # a record for the --trace file (tagged with the game)
    notify: Callable[[str], None] = _nothing  # a one-line notice for whoever runs the game (terminal, console)
    game: str = ""  # the game's id: every per-game hook receives it as `game`
    streams_audio: bool = False  # the front end carries each line's audio (a browser): see engine_line_delivery
    tell_player: Callable[[str], None] = _nothing  # one short sentence for a player who sees no notices (a page)
