"""config.toml: read once; the engine's own settings live in its [engine] table."""

from __future__ import annotations

import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.core.errors import ConfigError
from engine.folders import state_home
from engine.tables import at_least, choice, read_table

PACES = ("read", "listen", "instant")
DEFAULT_CONFIG = Path("config.toml")


@dataclass(frozen=True)
class Config(Mapping[str, Any]):
    """config.toml as read once: its tables, and the folder its relative paths are relative to.
    A plugin takes its own table with `config.table("voice")`; it is also a read-only mapping."""

    tables: Mapping[str, Any] = field(default_factory=dict)
    folder: Path = field(default_factory=Path.cwd)

    def table(self, name: str) -> Mapping[str, Any]:
        value = self.tables.get(name, {})
        if not isinstance(value, Mapping):
            raise ConfigError(f"[{name}] in config.toml must be a table.")
        return value

    def __getitem__(self, key: str) -> Any:
        return self.tables[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.tables)

    def __len__(self) -> int:
        return len(self.tables)


def _default_saves_dir() -> Path:
    return state_home() / "saves"


@dataclass(frozen=True)
class EngineSettings:
    pace: str = field(default="read", metadata=choice(*PACES))
    words_per_minute: int = field(default=250, metadata=at_least(1))
    min_pause: float = field(default=0.6, metadata=at_least(0))  # seconds, the shortest reading pause in `read` pace
    opening_lines: int = field(default=3, metadata=at_least(1))  # lines per reachable scene in the upcoming-lines hook
    saves_dir: Path = field(default_factory=_default_saves_dir)
    directions: str = field(default="show", metadata=choice("show", "hide"))  # acting directions on screen


def load_config(path: str | Path | None) -> Config:
    """Reads config.toml; a missing default file means an empty config, a missing named file is an error."""
    chosen = Path(path) if path else DEFAULT_CONFIG
    if not chosen.exists():
        if path:
            raise ConfigError(f"The config file {chosen} does not exist.")
        return Config()
    try:
        with chosen.open("rb") as handle:
            config = tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{chosen} is not valid TOML: {exc}.") from None
    except OSError as exc:
        raise ConfigError(f"Cannot read {chosen}: {exc.strerror}.") from None
    return Config(config, chosen.resolve().parent)


def engine_settings(config: Mapping[str, Any]) -> EngineSettings:
    """The [engine] table, checked like every table (engine/tables.py)."""
    folder = config.folder if isinstance(config, Config) else Path.cwd()
    return read_table(EngineSettings, config.get("engine", {}), folder, "engine")
