"""config.toml: read once; the engine's own settings live in its [engine] table."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.errors import ConfigError

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


@dataclass(frozen=True)
class EngineSettings:
    pace: str = "read"
    words_per_minute: int = 250
    min_pause: float = 0.6  # seconds, the shortest reading pause in `read` pace
    opening_lines: int = 3  # lines per reachable scene in the upcoming-lines hook
    saves_dir: Path = Path()


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
    table = config.get("engine", {})
    if not isinstance(table, Mapping):
        raise ConfigError("[engine] in config.toml must be a table.")
    pace = table.get("pace", "read")
    if pace not in PACES:
        raise ConfigError(f"[engine] pace must be one of {', '.join(PACES)}, not {pace!r}.")
    try:
        return EngineSettings(
            pace=pace,
            words_per_minute=_positive(table, "words_per_minute", 250),
            min_pause=float(table.get("min_pause", 0.6)),
            opening_lines=_positive(table, "opening_lines", 3),
            saves_dir=Path(os.path.expanduser(table.get("saves_dir", _default_saves_dir()))),
        )
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"Bad value in [engine] of config.toml: {exc}.") from None


def _positive(table: Mapping[str, Any], key: str, default: int) -> int:
    value = table.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ConfigError(f"[engine] {key} must be a positive whole number, not {value!r}.")
    return value


def _default_saves_dir() -> str:
    state_home = os.environ.get("XDG_STATE_HOME") or os.path.expanduser("~/.local/state")
    return os.path.join(state_home, "voiced-if", "saves")
