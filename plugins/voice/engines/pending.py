"""Engines whose slot exists but which this version does not ship yet (XTTS, Kokoro)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from plugins.voice.audio import AudioChunk
from plugins.voice.cast import Voice
from plugins.voice.engines.base import LineSettings
from plugins.voice.errors import EngineUnavailable


class PendingEngine:
    """Always unavailable, with the reason; the fallback chain moves on to the next engine."""

    def __init__(self, name: str, reason: str) -> None:
        self.name = name
        self.reason = reason

    def missing(self) -> str | None:
        return self.reason

    def probe(self) -> str | None:
        return self.reason

    def prepare(self, voices: Sequence[Voice] = ()) -> None:
        pass

    def identity(self, voice: Voice) -> str:
        return self.name

    def synthesize(self, text: str, voice: Voice, settings: LineSettings) -> Iterator[AudioChunk]:
        raise EngineUnavailable(self.name, self.reason)
