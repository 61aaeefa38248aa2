"""One line, one engine: the audio comes from a prefetch still making it (followed as it comes), the
cache, or a synthesis of the speaker's own; it is paced (a slow engine's lines are held: Pace, HeadStart) and
budgeted (a late chunk gives the engine up: Patience). Runs on the speaker's thread."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from engine import SpokenLine
from plugins.voice.core.audio import AudioChunk, concat
from plugins.voice.core.budget import Budget
from plugins.voice.core.errors import Outwaited, Preempted, SpeechFailure, Stalled
from plugins.voice.core.voice import LineSettings, Voice
from plugins.voice.engines.base import Engine, closing
from plugins.voice.output.playback import Output
from plugins.voice.pipeline.head_start import HeadStart, SpeechLength
from plugins.voice.pipeline.pace import CLEARLY_SLOW, Pace
from plugins.voice.pipeline.patience import Patience
from plugins.voice.pipeline.prefetch import Gate, Prefetcher
from plugins.voice.store.cache import AudioCache
from plugins.voice.store.keys import line_key

UNMEASURED_SLOW = 1.0  # a first chunk slower than speech holds the line of an engine that has not measured itself


@dataclass
class Job:
    line: SpokenLine
    queued_at: float = field(default_factory=time.monotonic)
    started_at: float = 0.0  # when the speaker turned to it (the previous line had ended)
    done: threading.Event = field(default_factory=threading.Event)
    skipped: threading.Event = field(default_factory=threading.Event)
    played: int = 0  # chunks played: after a failure, the next engine's wait is a silence inside the line

    @property
    def heard(self) -> bool:
        return self.played > 0


@dataclass
class LinePlay:
    output: Output
    cache: AudioCache
    prefetcher: Prefetcher | None
    gate: Gate
    pace: Pace
    patience: Patience
    length: SpeechLength = field(default_factory=SpeechLength)  # what each engine's lines last

    def play(self, job: Job, engine: Engine, voice: Voice, last: bool = True) -> dict[str, Any]:
        """Plays the line with this engine; returns its trace facts. A failure cuts what was queued and goes
        to Fallback.attempt. A line cut midway starts again within one silence budget (Patience.resumed)
        unless this engine is the line's last resort; one given too little of it is passed over (Outwaited)."""
        first_chunk, restart_by, short = self.patience.first(engine), None, False
        if job.heard and not last:
            silent = self.output.silence()
            left = self.patience.resumed(silent)
            if left is None:
                raise Outwaited(engine.name, f"passed over: the line had been silent for {silent:.1f} s", 0.0)
            first_chunk, restart_by, short = left, time.monotonic() + left, self.patience.short(left)
        played = job.played
        try:
            facts = self._play(job, engine, voice, first_chunk, restart_by)
        except Stalled as exc:
            self.output.stop()
            if short and job.played == played and not isinstance(exc, Outwaited):
                raise Outwaited(exc.engine, f"{exc.reason}, what was left of the line's silence", exc.waited) from exc
            raise
        except SpeechFailure:
            self.output.stop()
            raise
        if not facts["skipped"]:
            self.length.learn(engine.name, job.line.text, facts["seconds"])
        return facts

    def _play(self, job: Job, engine: Engine, voice: Voice, first_chunk: float,
              restart_by: float | None) -> dict[str, Any]:
        key = line_key(engine, voice, job.line.text)
        # ready: in the cache when the speaker turned to it; held: a slow engine's line kept back (HeadStart)
        facts: dict[str, Any] = {"ready": False, "prefetched": False, "held": False}
        task = self.prefetcher.adopt(key) if self.prefetcher else None
        if task is not None:
            task.budget.take_over(first_chunk)  # its engine now waits as long as the player would
            try:
                chunks, first = self._stream(job, self._paced(job, task.follow(), engine, facts, task.budget, restart_by),
                                             engine, task.budget)
            except Preempted:
                chunks, first = [], {}
            if chunks or job.skipped.is_set():
                return {"cache": "adopted", **first, **facts, "prefetched": True, **done(job, chunks)}
        cached = self.cache.get(key)
        if cached is not None:
            started = self.output.play(cached)
            prefetched = bool(self.prefetcher and self.prefetcher.made(key))
            if self.prefetcher is not None:
                self.prefetcher.check_later(job.line, key, voice, engine)  # if the gate never heard it
            return {"cache": "hit", **first_audio(job, started), **facts, "ready": True, "prefetched": prefetched,
                    **done(job, [cached])}
        budget = Budget(first_chunk)
        settings = LineSettings(speed=voice.speed, language=voice.language, budget=budget)
        with self.gate.urgent():
            made = engine.synthesize(job.line.text, voice, settings)
            chunks, first = self._stream(job, self._paced(job, made, engine, facts, budget, restart_by, fresh=True),
                                         engine, budget)
        if chunks and not job.skipped.is_set() and self.cache.put(key, concat(chunks)) is not None \
                and self.prefetcher is not None:
            self.prefetcher.check_later(job.line, key, voice, engine)
        return {"cache": "miss", "first_audio_ms": None, "wait_ms": None, **first, **facts, **done(job, chunks)}

    def _paced(self, job: Job, source: Iterator[AudioChunk], engine: Engine, facts: dict[str, Any],
               budget: Budget, restart_by: float | None, fresh: bool = False) -> Iterator[AudioChunk]:
        """The line's chunks as they come; but if, when its first chunk comes, the engine is slower than speech
        (`held_rate`), chunks are held until the rest will come in time (HeadStart): no silence inside the line,
        and a shorter wait than for the whole line. A restarted line (`restart_by`) is held no longer than
        what is left of its silence budget."""
        with closing(source):
            for chunk in source:
                rate = self.held_rate(engine, chunk, budget.elapsed() if fresh else None)
                if rate is None:
                    yield chunk
                    yield from source
                    return
                start = HeadStart(rate, self.length.expect(engine.name, job.line.text))
                held = [chunk]
                while not start.ready(held) and not job.skipped.is_set():
                    self._hold(engine, budget, restart_by)
                    more = next(source, None)
                    if more is None:
                        break
                    held.append(more)
                facts.update(held=True, held_s=round(sum(c.seconds for c in held), 3))
                yield from held
                yield from source
                return

    def _hold(self, engine: Engine, budget: Budget, restart_by: float | None) -> None:
        """Sets the wait for the next held chunk; a restarted line's ends at its silence budget."""
        allowed = self.patience.next(engine, 0.0, budget.elapsed())
        if restart_by is not None:
            left = restart_by - time.monotonic()
            if left <= 0:
                raise Outwaited(engine.name, "held past what was left of the line's silence", budget.elapsed())
            allowed = min(allowed, left)
        budget.allow(allowed)

    def held_rate(self, engine: Engine, first: AudioChunk, took: float | None) -> float | None:
        """The pace (seconds per second of audio) a line is held at, or None to play it as it comes: the engine
        is judged slower than speech (Pace); or, with `adapt`, the line's first chunk took CLEARLY_SLOW times
        its length to make (`took`: from the line's turn; UNMEASURED_SLOW times before the engine has measured
        itself, when that chunk is all there is to go by) on an engine whose pace is this machine's (a local
        one, or one that measures itself, as the bridge's client does; a busy CPU, whose next chunk would
        likely come late too: a silence inside the line). That chunk's time may hold one-time costs (a model
        loading, a queue), so such a line is held at the engine's measured pace (at least 1), and at its own
        once a second chunk shows it (HeadStart)."""
        found = engine.measured_rtf()
        if self.pace.holds(engine):
            return found[0] if found else 1.0
        if took is None or self.pace.mode != "adapt" or (found is None and engine.network):
            return None  # a network engine's first chunk waits on the network, not on its pace
        if took <= (CLEARLY_SLOW if found else UNMEASURED_SLOW) * first.seconds:
            return None
        return max(found[0] if found else 1.0, 1.0)

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
                job.played += 1
                budget.allow(self.patience.next(engine, self.output.buffered(), took))
                if not chunks:
                    first = first_audio(job, started)
                chunks.append(chunk)
        return chunks, first


def done(job: Job, chunks: list[AudioChunk]) -> dict[str, Any]:
    return {"skipped": job.skipped.is_set(), "seconds": round(sum(chunk.seconds for chunk in chunks), 3)}


def first_audio(job: Job, moment: float) -> dict[str, float | None]:
    """ms from the line's event to its first audio, and from when it could have started (wait)."""
    return {"first_audio_ms": round((moment - job.queued_at) * 1000, 1),
            "wait_ms": round((moment - max(job.queued_at, job.started_at)) * 1000, 1)}


def gap_facts(gaps: list[float]) -> dict[str, float]:
    return {"gaps_ms_max": round(max(gaps, default=0.0) * 1000, 1), "gaps_ms_total": round(sum(gaps) * 1000, 1)}
