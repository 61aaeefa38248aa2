"""Speaks lines one after another on a worker thread: cache, else engines in fallback order."""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

from engine import SpokenLine
from plugins.voice.casting.assembly import StoryVoices
from plugins.voice.casting.cast import Cast
from plugins.voice.casting.seeder import SEED_FAILED
from plugins.voice.core.audio import AudioChunk, concat
from plugins.voice.core.budget import Budget
from plugins.voice.core.errors import Preempted, SpeechFailure, Stalled, VoiceError, VoiceNotSupported
from plugins.voice.core.settings import StallSettings
from plugins.voice.core.voice import LineSettings, Voice
from plugins.voice.engines.base import Engine, closing
from plugins.voice.output.playback import Output
from plugins.voice.pipeline.fallback import Fallback
from plugins.voice.pipeline.pace import Pace
from plugins.voice.pipeline.patience import Patience
from plugins.voice.pipeline.prefetch import Gate, Prefetcher
from plugins.voice.quality.play import PlayChecker
from plugins.voice.store.cache import AudioCache
from plugins.voice.store.keys import line_key
from plugins.voice.store.manifest import Entry
from plugins.voice.store.pack import Pack

log = logging.getLogger(__name__)


@dataclass
class Job:
    line: SpokenLine
    queued_at: float = field(default_factory=time.monotonic)
    started_at: float = 0.0  # when the speaker turned to it (the previous line had ended)
    done: threading.Event = field(default_factory=threading.Event)
    skipped: threading.Event = field(default_factory=threading.Event)


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
                 stall: StallSettings | None = None) -> None:
        self.cast = cast
        self.pack = pack  # lines it holds are played from it; engines are prepared at its first miss
        self.prepared = False
        self.seeder = seeder
        self.gate = Gate()
        self.pace = Pace(fallback, notify, trace, when_slow)
        self.patience = Patience(stall or StallSettings())
        self.prefetcher = (Prefetcher(cast, fallback, cache, self.gate, line_key, prefetch_depth, prefetch_workers,
                                      checker, self.pace.preferred, self.patience) if prefetch_depth > 0 else None)
        self.fallback = fallback
        self.cache = cache
        self.output = output
        self.trace = trace
        self.notify = notify
        self.jobs: queue.Queue[Job | None] = queue.Queue()
        self.current: Job | None = None
        self.warned: set[str] = set()
        self.thread = threading.Thread(target=self._run, name="voice-speaker", daemon=True)
        self.thread.start()

    def say(self, line: SpokenLine) -> Job:
        """Runner's thread: queues the line and returns at once (nothing slow happens here)."""
        job = Job(line)
        self.jobs.put(job)
        return job

    def prefetch(self, lines: list[SpokenLine]) -> None:
        if self.prefetcher is not None:
            self.prefetcher.update([line for line in lines if self._pack_entry(line) is None])

    def skip(self, job: Job) -> None:
        job.skipped.set()
        if self.current is job:
            self.output.stop()

    def close(self, drain: bool) -> None:
        """Stops the worker; with drain, every queued line is spoken first."""
        if not drain:
            while True:
                try:
                    pending = self.jobs.get_nowait()
                except queue.Empty:
                    break
                if pending is not None:
                    pending.skipped.set()
                    pending.done.set()
            if self.current is not None:
                self.skip(self.current)
        self.jobs.put(None)
        if self.prefetcher is not None:
            self.prefetcher.close()
        self.thread.join()
        self.fallback.close()
        self.output.close()

    def _run(self) -> None:
        if self.pack is None:
            self._prepare_once()
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

    def _prepare_once(self) -> None:
        if self.prepared:
            return
        self.prepared = True
        self.trace({"event": "voice_prepare"})
        try:
            self._prepare()
        except Exception:  # preparing is an optimisation; lines still get spoken without it
            log.exception("preparing the voice engines failed")

    def _prepare(self) -> None:
        """Before the first line (with a pack: its first miss): seed missing references, check them, load models."""
        if self.seeder is not None:
            self._seed(self.seeder)
        self.cast.check_references(self.notify)
        self.refresh(self.cast.order)

    def _seed(self, seeder: StoryVoices) -> None:
        if not self.fallback.ready("xtts"):
            return  # nothing would clone these voices now: no need to make them yet
        needed = seeder.needs_seed()
        if not needed:
            return
        self.notify(f"Seeding {len(needed)} reference voice(s) with Piper before the first line...")
        results = seeder.seed(needed, progress=lambda n, total, c: self.notify(f"seeding {c} ({n}/{total})"))
        for result in results:
            self.trace({"event": "seed", **asdict(result)})
            if result.status == SEED_FAILED:
                self.notify(f"{SEED_FAILED} for {result.character_id}: {result.detail}. Its lines use another engine.")

    def refresh(self, character_ids: list[str]) -> None:
        """Lets engines prepare (again) for these characters' voices, e.g. after a reference changed."""
        voices = [v for v in self.cast.voices() if v.character_id in character_ids]
        wanted = [self.cast.default_engine] + [v.engine for v in voices]  # e.g. a profile that asks for kokoro
        engines = {e.name: e for name in dict.fromkeys(wanted) for e in self.fallback.plan(name).engines}
        for engine in engines.values():
            try:
                engine.prepare(voices)
            except SpeechFailure as exc:
                if exc.down:
                    self.fallback.mark_down(engine.name, exc.reason)
        if self.prefetcher is not None:
            self.prefetcher.requeue()  # their lines now have other cache keys

    def _pack_entry(self, line: SpokenLine) -> Entry | None:
        if self.pack is None:
            return None
        try:
            return self.pack.entry(line, self.cast.voice_id(line.character_id))
        except VoiceError:
            return None

    def _from_pack(self, job: Job, record: dict[str, Any]) -> bool:
        """Plays the line from the voice pack if it holds it, still matching; else says so once."""
        assert self.pack is not None
        entry = self._pack_entry(job.line)
        audio = self.pack.audio(entry) if entry is not None else None
        if audio is None:
            self._warn_once("pack", f"The voice pack {self.pack.folder} has no current recording of line "
                                    f"{job.line.line_id}{' (its file is damaged)' if entry else ''}; lines it lacks "
                                    "are spoken live.")
            self._prepare_once()
            return False
        assert entry is not None
        self.output.start_line()
        started = self.output.play(audio)
        gaps = self.output.end_line()
        self.trace({**record, "voice_id": entry.voice_id, "engine": "pack", "rendered_by": entry.engine,
                    "cache": "pack", "ready": True, "prefetched": False, **self._first(job, started),
                    **self._done(job, [audio]), "gaps_ms_max": round(max(gaps, default=0.0) * 1000, 1),
                    "gaps_ms_total": round(sum(gaps) * 1000, 1)})
        return True

    def _speak(self, job: Job) -> None:
        job.started_at = time.monotonic()
        line = job.line
        record: dict[str, Any] = {"event": "voice", "line_id": line.line_id, "character_id": line.character_id}
        if self.pack is not None and self._from_pack(job, record):
            return
        try:
            voice = self.cast.voice_for(line.character_id)
        except VoiceError as exc:
            self._warn_once(line.character_id, f"{exc}: {line.speaker}'s lines are shown but not spoken.")
            self.trace({**record, "engine": None, "error": str(exc)})
            return
        self.output.start_line()
        outcome = self.fallback.attempt(self.pace.preferred(line, voice),
                                        lambda engine: self._with_engine(job, engine, voice))
        fallbacks = []
        for passed in outcome.passed:
            if isinstance(passed.failure, VoiceNotSupported):  # this voice only: the engine stays up for others
                self._warn_once(f"{passed.name}:{voice.character_id}",
                                f"{passed.name} cannot speak for {line.speaker}: {passed.reason}. Using the next engine.")
            fallbacks.append(_failure(passed.name, passed.reason, passed.failure, voice))
        if outcome.engine is None:
            self.notify(f"No voice engine could speak line {line.line_id}; the story goes on as text.")
            self.trace({**record, "voice_id": voice.voice_id, "engine": None, "fallback": fallbacks})
            return
        gaps = self.output.end_line()
        self.pace.after_line(outcome.engine, gaps)
        self.trace({**record, "voice_id": voice.voice_id, "reference": (voice.reference_hash or "")[:12] or None,
                    "engine": outcome.engine.name, "fallback": fallbacks, **(outcome.result or {}),
                    "gaps_ms_max": round(max(gaps, default=0.0) * 1000, 1), "gaps_ms_total": round(sum(gaps) * 1000, 1)})

    def _warn_once(self, key: str, text: str) -> None:
        if key not in self.warned:
            self.warned.add(key)
            self.notify(text)

    def _with_engine(self, job: Job, engine: Engine, voice: Voice) -> dict[str, Any]:
        """Plays the line with this engine: a prefetch still making it (followed as it comes), the cache,
        or a synthesis of its own. A failure cuts what was queued and goes to Fallback.attempt."""
        try:
            return self._play_line(job, engine, voice)
        except SpeechFailure:
            self.output.stop()
            raise

    def _play_line(self, job: Job, engine: Engine, voice: Voice) -> dict[str, Any]:
        key = line_key(engine, voice, job.line.text)
        facts = {"ready": False, "prefetched": False, "whole": False}  # ready: in the cache when the speaker turned to it
        task = self.prefetcher.adopt(key) if self.prefetcher else None
        if task is not None:
            task.budget.take_over(self.patience.first(engine))  # its engine now waits as long as the player would
            try:
                chunks, first = self._stream(job, self._paced(job, task.follow(), engine, facts, task.budget), engine,
                                             task.budget)
            except Preempted:
                chunks, first = [], {}
            if chunks or job.skipped.is_set():
                return {"cache": "adopted", **first, **facts, "prefetched": True, **self._done(job, chunks)}
        cached = self.cache.get(key)
        if cached is not None:
            started = self.output.play(cached)
            prefetched = bool(self.prefetcher and self.prefetcher.made(key))
            if self.prefetcher is not None:
                self.prefetcher.check_later(job.line, key, voice, engine)  # if the gate never heard it
            return {"cache": "hit", **self._first(job, started), **facts, "ready": True, "prefetched": prefetched,
                    **self._done(job, [cached])}
        budget = Budget(self.patience.first(engine))
        settings = LineSettings(speed=voice.speed, language=voice.language, budget=budget)
        with self.gate.urgent():
            chunks, first = self._stream(job, self._paced(job, engine.synthesize(job.line.text, voice, settings),
                                                          engine, facts, budget), engine, budget)
        if chunks and not job.skipped.is_set() and self.cache.put(key, concat(chunks)) is not None \
                and self.prefetcher is not None:
            self.prefetcher.check_later(job.line, key, voice, engine)
        return {"cache": "miss", "first_audio_ms": None, "wait_ms": None, **first, **facts, **self._done(job, chunks)}

    def _paced(self, job: Job, source: Iterator[AudioChunk], engine: Engine, facts: dict[str, bool],
               budget: Budget) -> Iterator[AudioChunk]:
        """The line's chunks as they come; but if, when its first chunk comes, the engine is known to be slower
        than speech (Pace), every chunk is made before the first is played: no silence inside the line."""
        with closing(source):
            for chunk in source:
                if not self.pace.whole(engine):
                    yield chunk
                    yield from source
                    return
                facts["whole"] = True
                chunks = [chunk]
                budget.allow(self.patience.next(engine, 0.0, budget.elapsed()))
                for more in source:
                    if job.skipped.is_set():
                        break
                    chunks.append(more)
                    budget.allow(self.patience.next(engine, 0.0, budget.elapsed()))
                yield from chunks
                return

    def _stream(self, job: Job, source: Iterator[AudioChunk], engine: Engine, budget: Budget) -> \
            tuple[list[AudioChunk], dict[str, float | None]]:
        """Plays chunks as they come until the line ends or is skipped; each next chunk may be late by
        what is still queued for the sound card plus the grace (Patience), else the engine is given up."""
        chunks: list[AudioChunk] = []
        first: dict[str, float | None] = {}
        with closing(source):
            for chunk in source:
                if job.skipped.is_set():
                    break
                took = budget.elapsed()
                started = self.output.play(chunk)
                budget.allow(self.patience.next(engine, self.output.buffered(), took))
                if not chunks:
                    first = self._first(job, started)
                chunks.append(chunk)
        return chunks, first

    def _done(self, job: Job, chunks: list[AudioChunk]) -> dict[str, Any]:
        return {"skipped": job.skipped.is_set(), "seconds": round(sum(chunk.seconds for chunk in chunks), 3)}

    @staticmethod
    def _first(job: Job, moment: float) -> dict[str, float | None]:
        """ms from the line's event to its first audio, and from when it could have started (wait)."""
        return {"first_audio_ms": round((moment - job.queued_at) * 1000, 1),
                "wait_ms": round((moment - max(job.queued_at, job.started_at)) * 1000, 1)}
