"""The quality gate in play, on the prefetch threads (plugins.voice.quality.play): a line prefetch made
is heard at once, a line the speaker made when prefetch is idle; a failed take is made again only while
nothing waits to be prefetched (Deferred as soon as something does, and heard again later).

It shares the prefetcher's condition (`changed`), which guards `pending` and `retaking`."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from engine import SpokenLine
from plugins.voice.core.audio import AudioChunk, concat
from plugins.voice.core.budget import Budget
from plugins.voice.core.errors import Preempted
from plugins.voice.core.voice import LineSettings, Voice
from plugins.voice.engines.base import Engine, closing
from plugins.voice.pipeline.patience import Patience
from plugins.voice.pipeline.tasks import Gate, Task
from plugins.voice.quality.play import Check, Deferred, PlayChecker

log = logging.getLogger(__name__)


class Rehearing:
    def __init__(self, checker: PlayChecker, gate: Gate, patience: Patience, changed: threading.Condition,
                 busy: Callable[[], bool], stopping: Callable[[], bool]) -> None:
        self.checker = checker
        self.gate = gate
        self.patience = patience
        self.changed = changed
        self.busy = busy  # prefetch has work (or is stopping): retakes give way
        self.stopping = stopping
        self.pending: dict[str, Check] = {}  # by cache key, oldest first: lines to hear again when idle
        self.retaking: set[Task] = set()  # retakes in progress, one per thread at most (close cancels them)

    def later(self, line: SpokenLine, key: str, voice: Voice, engine: Engine) -> None:
        """The line is in the cache: it is heard when prefetch is idle."""
        with self.changed:
            self.pending.setdefault(key, Check(line, key, voice, engine))
            self.changed.notify_all()

    def take_next(self) -> Check:
        """The oldest pending check (the caller holds `changed` and saw one pending)."""
        return self.pending.pop(next(iter(self.pending)))

    def cancel_retakes(self) -> None:
        """The caller holds `changed` (prefetch is closing)."""
        for retake in self.retaking:
            retake.cancelled.set()

    def hear(self, check: Check) -> None:
        self.gate.wait_quiet(self.stopping)  # Whisper and the speaker model take the CPU a live line needs
        if self.stopping():
            return
        try:
            self.checker.run(check, self._retake, self._give_way)
        except Deferred:
            with self.changed:
                if not self.stopping():
                    self.pending.setdefault(check.key, check)  # again once prefetch is idle
        except Exception:  # a bug in the gate must not stop prefetching
            log.exception("quality check of %s failed", check.line.line_id)

    def _give_way(self) -> None:
        """Between two pieces of a calibration (a non-cloning engine's takes seconds per voice on a busy CPU):
        waits while the speaker makes a line (it needs the CPU), and stops the check if the game is ending (a
        quit waits for no calibration)."""
        self.gate.wait_quiet(self.stopping)
        if self.stopping():
            raise Deferred

    def _retake(self, check: Check, take: int) -> AudioChunk | None:
        """Take `take` of a checked line, made in the background; Deferred as soon as prefetch has work."""
        probe = Task(check.line, check.key, check.voice)
        with self.changed:
            if self.busy():
                raise Deferred
            self.retaking.add(probe)
        budget = Budget(self.patience.prefetch)
        settings = LineSettings(speed=check.voice.speed, language=check.voice.language, background=True, take=take,
                                budget=budget)
        pausable = check.engine.pausable
        chunks: list[AudioChunk] = []
        try:
            with closing(check.engine.synthesize(check.line.text, check.voice, settings)) as stream:
                for chunk in stream:
                    if self.busy() or probe.cancelled.is_set() or (pausable and not self.gate.wait_turn(probe)):
                        raise Deferred
                    chunks.append(chunk)
                    budget.allow(self.patience.prefetch)
        except Preempted:  # XTTS put it aside for the speaker
            raise Deferred from None
        finally:
            with self.changed:
                self.retaking.discard(probe)
        return concat(chunks) if chunks else None
