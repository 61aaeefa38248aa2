"""The quality gate during play: lines already in the cache are heard again in the background and,
if a take fails, made again for the next time they are played (the player never waits for it).

The Prefetcher owns the checker and calls it only from its threads, when no line is waiting to be
prefetched: a check that would delay prefetch is put back (`Deferred`) and done later.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from engine import SpokenLine
from plugins.voice.casting.cast import Cast
from plugins.voice.core.audio import AudioChunk
from plugins.voice.core.errors import VoiceError
from plugins.voice.core.voice import Voice
from plugins.voice.engines.base import Engine
from plugins.voice.pipeline.cache import AudioCache
from plugins.voice.quality.gate import QualityGate, best_take, retries_for
from plugins.voice.quality.references import ReferenceBook

log = logging.getLogger(__name__)
KEPT_FIELDS = ("passed", "take", "takes", "faults", "wer", "similarity", "floor", "margin", "tail_db", "seconds")


class Deferred(Exception):  # noqa: N818 (not an error: the check waits for a quieter moment)
    """Prefetch has work again: the check is put back and done later."""


@dataclass(frozen=True)
class Check:
    line: SpokenLine
    key: str
    voice: Voice
    engine: Engine


Retake = Callable[[Check, int], AudioChunk | None]  # take n of a check's line (may raise Deferred, SpeechFailure)


class PlayChecker:
    def __init__(self, gate: QualityGate, book: ReferenceBook, cast: Cast, cache: AudioCache,
                 trace: Callable[[dict[str, Any]], None]) -> None:
        self.gate = gate
        self.book = book
        self.cast = cast
        self.cache = cache
        self.trace = trace
        self.broken: str | None = None  # why the gate stopped (a model that would not load)

    def run(self, check: Check, retake: Retake) -> None:
        """Hears the cached take of a line once; if it fails, makes it again and keeps the best take."""
        if self.broken or self.cache.note(check.key) is not None:
            return  # checked already (a note is only written by the gate)
        first = self.cache.get(check.key)
        if first is None:
            return  # evicted meanwhile
        line = check.line
        try:
            calibration = self.book.calibration(check.engine, self.cast.voices()) if self.gate.settings.speaker else None
            kept = best_take(lambda take: first if take == 0 else retake(check, take),
                             lambda audio, take: self.gate.check(line.text, audio, line.character_id, calibration,
                                                                 take),
                             retries_for(check.engine, self.gate.settings))
        except VoiceError as exc:  # e.g. the Whisper model cannot load: the game goes on without the gate
            self.broken = str(exc)
            log.warning("quality gate stopped: %s", exc)
            self.trace({"event": "quality", "line_id": line.line_id, "error": str(exc)})
            return
        assert kept is not None
        record = kept.record()
        self.cache.put(check.key, kept.audio, {name: record.get(name) for name in KEPT_FIELDS})
        self.trace({"event": "quality", "line_id": line.line_id, "character_id": line.character_id,
                    "engine": check.engine.name, **record})
