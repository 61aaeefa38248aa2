"""Speaks lines one after another on its own thread, `voice-speaker` (started by start(), joined by
close()): the voice pack first (PackPlay), else the engines in fallback order (LinePlay), each line
traced; the engines are made ready before the first line (Preparation)."""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

from engine import SpokenLine
from plugins.voice.casting.assembly import StoryVoices
from plugins.voice.casting.cast import Cast
from plugins.voice.casting.seeder import SEED_FAILED
from plugins.voice.core.errors import SpeechFailure, Stalled, VoiceError, VoiceNotSupported
from plugins.voice.core.settings import StallSettings
from plugins.voice.core.voice import Voice
from plugins.voice.engines.acting import delivery
from plugins.voice.output.playback import Output
from plugins.voice.pipeline.fallback import Fallback
from plugins.voice.pipeline.handover import Handover
from plugins.voice.pipeline.line_play import Job, LinePlay, gap_facts
from plugins.voice.pipeline.pace import Pace
from plugins.voice.pipeline.pack_play import PackPlay
from plugins.voice.pipeline.patience import Patience
from plugins.voice.pipeline.prefetch import Gate, Prefetcher
from plugins.voice.pipeline.preparation import Preparation
from plugins.voice.pipeline.take_play import TakePlay
from plugins.voice.quality.play import PlayChecker
from plugins.voice.store.cache import AudioCache
from plugins.voice.store.keys import line_key
from plugins.voice.store.pack import Pack
from plugins.voice.store.takes import Takes

__all__ = ["Job", "Speaker"]

log = logging.getLogger(__name__)


def _failure(engine: str, reason: str, exc: SpeechFailure | None, voice: Voice) -> dict[str, Any]:
    """A trace entry for an engine passed over; cloning failures carry the seed spec's codes."""
    entry: dict[str, Any] = {"engine": engine, "reason": reason}
    if isinstance(exc, Stalled):
        entry["stalled_after_ms"] = round(exc.waited * 1000)
    if engine == "xtts" and exc is not None:
        if voice.seed_failed:
            entry["code"] = SEED_FAILED
        elif not isinstance(exc, VoiceNotSupported):
            entry["code"] = "XTTS_FAILED"
    return entry


class Speaker:
    def __init__(self, cast: Cast, fallback: Fallback, cache: AudioCache, output: Output,
                 trace: Callable[[dict[str, Any]], None], notify: Callable[[str], None],
                 seeder: StoryVoices | None = None, prefetch_depth: int = 0, prefetch_workers: int = 1,
                 pack: Pack | None = None, checker: PlayChecker | None = None, when_slow: str = "adapt",
                 stall: StallSettings | None = None, takes: Takes | None = None, gate: Gate | None = None,
                 line_ended: Callable[[Job], None] | None = None, owns_fallback: bool = True) -> None:
        self.cast = cast
        self.fallback = fallback
        self.owns_fallback = owns_fallback  # False when several speakers share it (engine serve): its owner closes it
        self.output = output
        self.trace = trace
        self.notify = notify
        self.line_ended = line_ended or (lambda job: None)  # after a line's `done` is set (speaker's thread)
        gate = gate or Gate()  # shared by every game's speaker on a server: any live line goes before any prefetch
        self.pace = Pace(fallback, notify, trace, when_slow)
        self.handover = Handover(fallback, cache)  # a character's voice changes engine only once its line is ready
        patience = Patience(stall or StallSettings())
        self.prefetcher = (Prefetcher(cast, fallback, cache, gate, line_key, prefetch_depth, prefetch_workers,
                                      checker, self.pace.preferred, patience, self.handover.standby)
                           if prefetch_depth > 0 else None)
        self.lines = LinePlay(output, cache, self.prefetcher, gate, self.pace, patience)
        self.preparation = Preparation(cast, fallback, seeder, self.prefetcher, notify, trace)
        # lines a pack holds are played from it; engines are prepared at its first miss
        self.pack = PackPlay(pack, cast, output, trace, self._warn_once) if pack is not None else None
        self.takes = TakePlay(takes, output, trace, self._warn_once) if takes is not None else None  # actors' first
        self.jobs: queue.Queue[Job | None] = queue.Queue()
        self.current: Job | None = None
        self.warned: set[str] = set()
        self.tell_player: Callable[[str], None] = lambda text: None  # PlayContext.tell_player (a page's player)
        self.told: set[str] = set()
        self.thread = threading.Thread(target=self._run, name="voice-speaker", daemon=True)

    def start(self) -> Speaker:
        """Starts the speaker's thread (and prefetch's); lines said before it wait in the queue."""
        if self.prefetcher is not None:
            self.prefetcher.start()
        self.thread.start()
        return self

    def say(self, line: SpokenLine) -> Job:
        """Runner's thread: queues the line and returns at once (nothing slow happens here)."""
        job = Job(line)
        self.jobs.put(job)
        return job

    def prefetch(self, lines: list[SpokenLine]) -> None:
        if self.prefetcher is not None:
            self.prefetcher.update([line for line in lines if (self.pack is None or self.pack.entry(line) is None)
                                    and (self.takes is None or not self.takes.has(line))])

    def skip(self, job: Job) -> None:
        job.skipped.set()
        if self.current is job:
            self.output.stop()

    def refresh(self, character_ids: list[str]) -> None:
        """The voices of these characters changed (watcher's thread): their engines prepare again."""
        self.preparation.refresh(character_ids)

    def close(self, drain: bool, why: str = "closed") -> None:
        """Stops the worker; with drain, every queued line is spoken first. Without, each queued line gets its
        voice record all the same, saying it was dropped and `why` (the game's end: quit, error...)."""
        if not drain:
            while True:
                try:
                    pending = self.jobs.get_nowait()
                except queue.Empty:
                    break
                if pending is not None:
                    self.trace({"event": "voice", "line_id": pending.line.line_id,
                                "character_id": pending.line.character_id, "engine": None, "dropped": why})
                    pending.skipped.set()
                    pending.done.set()
                    self.line_ended(pending)
            if self.current is not None:
                self.skip(self.current)
        self.jobs.put(None)
        if self.prefetcher is not None:
            self.prefetcher.close()
        if self.thread.is_alive():
            self.thread.join()
        if self.owns_fallback:
            self.fallback.close()
        self.output.close()

    def _run(self) -> None:
        if self.pack is None:
            self.preparation.once()
        while (job := self.jobs.get()) is not None:
            self.current = job
            try:
                self._speak(job)
            except Exception as exc:  # a bug: never let one line kill the voice for the rest of the game
                log.exception("voice failed for line %s", job.line.line_id)
                self.notify(f"Voice failed for line {job.line.line_id}; see the log. The story goes on.")
                self.trace({"event": "voice", "line_id": job.line.line_id, "character_id": job.line.character_id,
                            "engine": None, "error": f"internal error: {type(exc).__name__}: {exc}"})
            finally:
                self.current = None
                job.done.set()
                self.line_ended(job)

    def _speak(self, job: Job) -> None:
        job.started_at = time.monotonic()
        line = job.line
        record: dict[str, Any] = {"event": "voice", "line_id": line.line_id, "character_id": line.character_id}
        acting = self.cast.directions.of(line)
        if acting.unknown:
            record["unmapped"] = list(acting.unknown)
        if acting.silent or not line.text:
            self.trace({**record, "engine": None, "unspoken": "sound cue" if acting.silent else "direction only"})
            return
        if self.takes is not None and self.takes.play(job, record, acting.gain_db):
            return
        if self.pack is not None:
            if self.pack.play(job, record):
                return
            self.preparation.once()  # its first miss: the engines are needed now
        try:
            voice = self.cast.voice_for(line.character_id, acting)
        except VoiceError as exc:
            self._warn_once(line.character_id, f"{exc}: {line.speaker}'s lines are shown but not spoken.")
            self.trace({**record, "engine": None, "error": str(exc)})
            return
        self.output.start_line(acting.gain_db)
        asked = self.pace.preferred(line, voice)
        preferred = self.handover.engine(line, voice, asked)
        last = self.fallback.plan(preferred).engines[-1:]  # the line's last resort: a restart waits for it as usual
        outcome = self.fallback.attempt(preferred, lambda engine: self.lines.play(job, engine, voice, engine in last))
        fallbacks = []
        for passed in outcome.passed:
            if isinstance(passed.failure, VoiceNotSupported):  # this voice only: the engine stays up for others
                self._warn_once(f"{passed.name}:{voice.character_id}",
                                f"{passed.name} cannot speak for {line.speaker}: {passed.reason}. Using the next engine.")
            fallbacks.append(_failure(passed.name, passed.reason, passed.failure, voice))
        if outcome.engine is None:
            self.notify(f"No voice engine could speak line {line.line_id}; the story goes on as text.")
            self._tell_once("Some lines are shown as text only for now: their voice could not be made.")
            self.trace({**record, "voice_id": voice.voice_id, "engine": None, "fallback": fallbacks})
            return
        if fallbacks:
            self._tell_once("Some voices are still getting ready; a stand-in voice reads their lines for now.")
        gaps = self.output.end_line()
        self.handover.spoke(line, outcome.engine.name, asked)
        self.pace.after_line(outcome.engine, gaps)
        applied = delivery(outcome.engine, voice, voice.speed).facts
        if applied.get("emotion_reference") is False and voice.references:
            self._warn_once(f"{voice.character_id}@{acting.emotion}",
                            f"{line.speaker} has no {acting.emotion} recording ({voice.voice_id}@{acting.emotion}.wav "
                            f"in voices/); their {acting.emotion} lines are cloned from the neutral one.")
        gain = {"gain_db": acting.gain_db} if acting.gain_db else {}
        self.trace({**record, "voice_id": voice.voice_id, "reference": (voice.reference_hash or "")[:12] or None,
                    "engine": outcome.engine.name, "fallback": fallbacks, **applied, **gain, **(outcome.result or {}),
                    **gap_facts(gaps)})

    def _tell_once(self, text: str) -> None:
        if text not in self.told:
            self.told.add(text)
            self.tell_player(text)

    def _warn_once(self, key: str, text: str) -> None:
        if key not in self.warned:
            self.warned.add(key)
            self.notify(text)
