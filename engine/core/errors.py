"""Errors raised by the engine, and control-flow signals kept apart from them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Problem:
    """One thing wrong (or doubtful) in a story, located by file and line."""

    path: Path
    line: int
    message: str
    severity: str = "error"  # "error" or "warning"

    def __str__(self) -> str:
        where = f"{_shown(self.path)}:{self.line}"
        if self.severity == "warning":
            return f"{where}: warning: {self.message}"
        return f"{where}: {self.message}"


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


class EngineError(Exception):
    """Base of every expected failure; the CLI turns it into one sentence."""


class StoryError(EngineError):
    """A story that cannot be loaded or played; carries every problem found."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        first = str(problems[0]) if problems else "the story is broken"
        more = len([p for p in problems if p.severity == "error"]) - 1
        suffix = f" ({more} more; run 'engine check' to see them all)" if more > 0 else ""
        super().__init__(first + suffix)

    @classmethod
    def at(cls, path: Path, line: int, message: str) -> StoryError:
        return cls([Problem(path, line, message)])


class ConfigError(EngineError):
    """config.toml is missing, unreadable or holds a bad value."""


class SaveError(EngineError):
    """A saved game cannot be read or no longer fits the story."""


class ScriptedChoicesExhausted(EngineError):
    """`--choices` ran out before the story ended."""


class QuitGame(Exception):
    """Control flow: the player asked to quit (not an error)."""
