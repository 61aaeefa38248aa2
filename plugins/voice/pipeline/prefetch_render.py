"""Prefetch: one line made by the first engine that can, chunk by chunk, into the cache (a prefetch thread)."""

from __future__ import annotations

import threading
from collections.abc import Callable

from plugins.voice.core.audio import concat
from plugins.voice.core.errors import Preempted, SpeechFailure
from plugins.voice.core.voice import LineSettings, Voice
from plugins.voice.engines.base import Engine, closing
from plugins.voice.pipeline.fallback import Fallback
from plugins.voice.pipeline.patience import Patience
from plugins.voice.pipeline.rehearing import Rehearing
from plugins.voice.pipeline.tasks import Gate, Preferred, Task, VoiceNotSupportedAnywhere
from plugins.voice.quality.play import Check
from plugins.voice.store.cache import AudioCache


class PrefetchRender:
    """Makes one task's line. `running` and `produced` are the Prefetcher's, guarded by its `changed`."""

    def __init__(self, fallback: Fallback, cache: AudioCache, gate: Gate, key_for: Callable[[Engine, Voice, str], str],
                 preferred: Preferred, patience: Patience, rehearing: Rehearing | None,
                 changed: threading.Condition, running: dict[str, Task], produced: set[str]) -> None:
        self.fallback = fallback
        self.cache = cache
        self.gate = gate
        self.key_for = key_for
        self.preferred = preferred
        self.patience = patience
        self.rehearing = rehearing
        self.changed = changed
        self.running = running
        self.produced = produced

    def make(self, task: Task) -> bool:
        """Makes the line with the first engine that can; True if XTTS preempted it for the speaker."""
        try:
            outcome = self.fallback.attempt(task.engine or self.preferred(task.line, task.voice),
                                            lambda engine: self._with_engine(task, engine))
        except Preempted as exc:
            task.finish(exc)  # a speaker following it makes the line itself
            return not task.adopted.is_set()  # otherwise it is made again, from the start, later
        if outcome.engine is None and outcome.passed and task.failure is None:
            last = outcome.passed[-1]
            task.finish(last.failure or VoiceNotSupportedAnywhere(last.name, last.reason))
        return False

    def _with_engine(self, task: Task, engine: Engine) -> None:
        if task.done.is_set():
            return  # a failure after chunks went out ended it: the speaker handles that line
        key = self.key_for(engine, task.voice, task.line.text)
        with self.changed:
            self.running[key] = task  # the speaker finds it under the key of the engine making it
        if key != task.key and self.cache.contains(key):
            return
        budget = task.budget  # a stalled stream is cancelled here too: it holds no bridge slot or socket for long
        budget.allow(self.patience.first_for(engine, budget.foreground))
        settings = LineSettings(speed=task.voice.speed, language=task.voice.language, background=True, budget=budget)
        pausable = engine.pausable
        try:
            with closing(engine.synthesize(task.line.text, task.voice, settings)) as stream:
                for chunk in stream:
                    if task.cancelled.is_set() or (pausable and not self.gate.wait_turn(task)):
                        return
                    task.publish(chunk)
                    budget.allow(self.patience.prefetch, background=True)
        except SpeechFailure as exc:
            if task.chunks and not isinstance(exc, Preempted):
                task.finish(exc)  # half a line went out: no other engine may finish it
            raise
        if task.chunks and not task.cancelled.is_set():
            if self.cache.put(key, concat(task.chunks)) is not None:
                with self.changed:
                    self.produced.add(key)
                if self.rehearing is not None:  # heard at once, before the player gets there; retakes wait
                    task.finish()  # a speaker following it has every chunk: it need not wait for the check
                    self.rehearing.hear(Check(task.line, key, task.voice, engine))
