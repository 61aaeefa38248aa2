"""The quality gate during play: lines already in the cache are heard again in the background and,
if a take fails, made again for the next time they are played (the player never waits for it).

The Prefetcher owns the checker and calls it only from its threads: a line it made is heard at once,
others when no line waits to be prefetched; a retake that would delay prefetch is put off (`Deferred`)
with the takes made so far, and done later. At the end of the game, what was heard of lines whose
retakes never came is traced (`"unfinished": true`) and they stay open to retakes in the next game.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from engine import SpokenLine
from plugins.voice.casting.cast import Cast
from plugins.voice.core.audio import AudioChunk
from plugins.voice.core.errors import VoiceError
from plugins.voice.core.voice import Voice
from plugins.voice.engines.base import Engine
from plugins.voice.quality.gate import Kept, QualityGate, Takes, best_take, kept_of, retries_for
from plugins.voice.quality.references import ReferenceBook
from plugins.voice.store.cache import AudioCache

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
        self.unfinished: dict[str, tuple[Check, Takes]] = {}  # lines whose retakes were put off, with their takes
        self.lock = threading.Lock()  # for `unfinished` (prefetch threads); never held while checking

    def run(self, check: Check, retake: Retake, give_way: Callable[[], None] = lambda: None) -> None:
        """Hears the cached take of a line once; if it fails, makes it again and keeps the best take.
        Deferred (from `retake`, or `give_way` while the engine is being calibrated) leaves the takes made
        so far for the next run of the same line."""
        with self.lock:
            takes = self.unfinished.pop(check.key, (check, []))[1]
        if self.broken or (not takes and self.cache.note(check.key) is not None):
            return  # checked already (a note is only written by the gate)
        first = self.cache.get(check.key) if not takes else takes[0][0]
        if first is None:
            return  # evicted meanwhile
        line = check.line
        try:
            calibration = (self.book.calibration(check.engine, self.cast.voices(), give_way)
                           if self.gate.settings.speaker else None)
            kept = best_take(lambda take: first if take == 0 else retake(check, take),
                             lambda audio, take: self.gate.check(line.text, audio, line.character_id, calibration,
                                                                 take),
                             retries_for(check.engine, self.gate.settings), takes)
        except Deferred:
            with self.lock:
                self.unfinished[check.key] = (check, takes)
            raise
        except VoiceError as exc:  # e.g. the Whisper model cannot load: the game goes on without the gate
            self.broken = str(exc)
            log.warning("quality gate stopped: %s", exc)
            self.trace({"event": "quality", "line_id": line.line_id, "error": str(exc)})
            return
        assert kept is not None
        self._keep(check, kept)

    def _keep(self, check: Check, kept: Kept, finished: bool = True) -> None:
        record = kept.record()
        if finished:
            self.cache.put(check.key, kept.audio, {name: record.get(name) for name in KEPT_FIELDS})
        elif kept.verdict.take != 0:
            self.cache.put(check.key, kept.audio)  # a better take, still open to retakes in a later game
        self.trace({"event": "quality", "line_id": check.line.line_id, "character_id": check.line.character_id,
                    "engine": check.engine.name, **record, **({} if finished else {"unfinished": True})})

    def close(self) -> None:
        """At the end of the game (prefetch threads joined): what was heard of lines whose retakes were put off."""
        with self.lock:
            left, self.unfinished = list(self.unfinished.values()), {}
        for check, takes in left:
            if takes:
                self._keep(check, kept_of(takes), finished=False)
