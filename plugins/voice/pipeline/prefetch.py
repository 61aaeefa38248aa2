"""Prefetch: synthesizes the lines the player may reach next into the cache, nearest first.

The line being spoken always goes first. Engines that can pause for free between chunks
(`Engine.pausable`: in-process CPU engines) wait at the Gate while the speaker synthesizes;
the others never pause mid-line (a paused XTTS stream or bridge request would hold the model
the speaker needs); XTTS instead preempts background work itself (Preempted: tried again).
When the player reaches a line still being made, the speaker adopts its Task and plays the
chunks already made, then the rest as they come. The queue is bounded, never holds two tasks
for one cache key, and is replaced by every new upcoming-lines list: work for lines no longer
reachable is dropped, even mid-line (never an adopted one). Engines that fail here are taken
out of use by the same Fallback.attempt the speaker uses, so prefetch goes on with the next one.
With the quality gate on in play, the same threads hear each line they made as soon as it is in the
cache, and the lines the speaker made when no line waits to be prefetched; retakes of failed takes
also wait for such a moment (plugins.voice.quality.play).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence

from engine import SpokenLine
from plugins.voice.casting.cast import Cast
from plugins.voice.core.errors import VoiceError
from plugins.voice.core.settings import StallSettings
from plugins.voice.core.voice import Voice
from plugins.voice.engines.base import Engine
from plugins.voice.pipeline.fallback import Fallback
from plugins.voice.pipeline.patience import Patience
from plugins.voice.pipeline.prefetch_render import PrefetchRender
from plugins.voice.pipeline.rehearing import Rehearing
from plugins.voice.pipeline.tasks import Gate, Preferred, Standby, Task, resolve
from plugins.voice.quality.play import PlayChecker
from plugins.voice.store.cache import AudioCache

log = logging.getLogger(__name__)
# upcoming lines a character still in a stand-in's voice reaches before its new engine would start on them: the
# new engine makes later ones, which it can have ready when reached (pipeline/handover.py)
HANDOVER_LEAD = 2
__all__ = ["Gate", "Prefetcher", "Task"]


class Prefetcher:
    """Owns the prefetch threads (voice-prefetch-N) and the quality checks they run; the speaker
    starts and closes it."""

    def __init__(self, cast: Cast, fallback: Fallback, cache: AudioCache, gate: Gate,
                 key_for: Callable[[Engine, Voice, str], str], depth: int = 12, workers: int = 1,
                 checker: PlayChecker | None = None, preferred: Preferred = lambda line, voice: voice.engine,
                 patience: Patience | None = None, standby: Standby = lambda line, voice, engine: None) -> None:
        self.cast = cast
        self.fallback = fallback
        self.cache = cache
        self.gate = gate
        self.key_for = key_for
        self.depth = depth
        self.queue: list[Task] = []
        self.running: dict[str, Task] = {}
        self.produced: set[str] = set()
        self.last: list[SpokenLine] = []
        self.generation = 0  # of the upcoming-lines list; `planned` is the one the queue was made from
        self.planned = 0
        self.planning = False
        self.speaking: str | None = None  # the key the speaker is making now: not queued again
        self.changed = threading.Condition()
        self.stopping = False
        self.preferred = preferred
        self.standby = standby  # a character still in a stand-in's voice has its lines made in that voice too
        self.patience = patience or Patience(StallSettings())
        self.rehearing = (Rehearing(checker, gate, self.patience, self.changed, self._busy, lambda: self.stopping)
                          if checker is not None else None)
        self.render = PrefetchRender(fallback, cache, gate, key_for, preferred, self.patience, self.rehearing,
                                     self.changed, self.running, self.produced)
        self.threads = [threading.Thread(target=self._work, name=f"voice-prefetch-{n}", daemon=True)
                        for n in range(workers)]

    def start(self) -> Prefetcher:
        for thread in self.threads:
            thread.start()
        return self

    def update(self, lines: Sequence[SpokenLine]) -> None:
        """Runner's thread, so nothing slow: drops work for lines no longer in the list (a choice made
        them unreachable), even mid-line, and leaves the new list for a prefetch thread to plan."""
        wanted = {line.line_id for line in lines}
        with self.changed:
            self.last = list(lines)
            self.generation += 1
            for task in self.running.values():
                if task.line.line_id not in wanted and not task.adopted.is_set():
                    task.cancelled.set()
            self.queue = [task for task in self.queue if task.line.line_id in wanted]
            self.changed.notify_all()
        self.gate.wake()  # cancelled tasks waiting at the gate see it now

    def _plan(self, lines: list[SpokenLine], generation: int) -> None:
        """Prefetch thread: the new list as tasks (nearest first, bounded, one per key, none cached).
        Resolving voices and keys may read files or load a model, so it is done here."""
        tasks: dict[str, Task] = {}
        kept: dict[str, Task] = {}  # lines in the voice a character keeps until its handover: made first
        late: set[str] = set()  # new-voice lines too near to be ready in time: not started, but not stopped either
        for index, line in enumerate(lines):
            if len(tasks) + len(kept) >= self.depth:
                break
            resolved = resolve(self.cast, self.fallback, self.key_for, line, self.preferred)
            if resolved is None:
                continue
            engine, voice, key = resolved
            name = self.standby(line, voice, engine.name)  # first: it is what the player hears until the handover
            standby = self.fallback.engines.get(name) if name else None
            other = self._key(standby, voice, line) if standby is not None else None
            if other is not None:
                if other not in kept and not self.cache.contains(other):
                    kept[other] = Task(line, other, voice, engine=name)
                if index < HANDOVER_LEAD:  # the stand-in speaks it: the new engine works on lines it can be first to
                    late.add(key)
                    continue
            if key not in tasks and key not in kept and not self.cache.contains(key):
                tasks[key] = Task(line, key, voice)
        tasks = {**kept, **{key: task for key, task in tasks.items() if key not in kept}}
        with self.changed:
            if generation != self.generation:
                return  # a newer list came meanwhile: it is planned next
            self.planned = generation
            going = {id(task) for key, task in self.running.items()
                     if key in tasks or key in late or task.adopted.is_set()}
            for task in self.running.values():
                if id(task) not in going:
                    task.cancelled.set()  # e.g. a voice changed: it is made again under its new key
            self.queue = [task for key, task in tasks.items() if key not in self.running and key != self.speaking]
            self.changed.notify_all()
        self.gate.wake()

    def _key(self, engine: Engine, voice: Voice, line: SpokenLine) -> str | None:
        try:
            return self.key_for(engine, voice, line.text)
        except VoiceError:  # that engine cannot speak this voice: no stand-in line to make
            return None

    def requeue(self) -> None:
        """Voices changed: their lines have new keys, so queue the last list again."""
        self.update(self.last)

    def adopt(self, key: str) -> Task | None:
        """The speaker reached this line: its task if it is being made (never cancelled from now on);
        a queued task for it is dropped (the speaker makes the line itself)."""
        with self.changed:
            self.speaking = key
            task = self.running.get(key)
            if task is not None and not task.cancelled.is_set():
                task.adopted.set()
            else:
                task = None
                self.queue = [queued for queued in self.queue if queued.key != key]
        self.gate.wake()
        return task

    def check_later(self, line: SpokenLine, key: str, voice: Voice, engine: Engine) -> None:
        """The line is in the cache (made here or by the speaker): the gate hears it when prefetch is idle."""
        if self.rehearing is not None:
            self.rehearing.later(line, key, voice, engine)

    def made(self, key: str) -> bool:
        """Whether prefetch put this key in the cache (for the trace)."""
        with self.changed:
            return key in self.produced

    def close(self) -> None:
        with self.changed:
            self.stopping = True
            self.queue = []
            for task in self.running.values():
                task.cancelled.set()
            if self.rehearing is not None:
                self.rehearing.cancel_retakes()
            self.changed.notify_all()
        self.gate.wake()
        for thread in self.threads:
            if thread.is_alive():
                thread.join()
        if self.rehearing is not None:
            self.rehearing.checker.close()

    def _unplanned(self) -> bool:
        return self.planned != self.generation and not self.planning

    def _busy(self) -> bool:
        return self.stopping or bool(self.queue) or self._unplanned()

    def _work(self) -> None:
        while True:
            check = None
            with self.changed:
                self.changed.wait_for(lambda: self._busy() or bool(self.rehearing and self.rehearing.pending))
                if self.stopping:
                    return
                if self._unplanned():
                    self.planning = True
                    lines, generation = self.last, self.generation
                elif not self.queue:
                    assert self.rehearing is not None
                    check = self.rehearing.take_next()
                    generation = -1
                else:
                    task = self.queue.pop(0)
                    self.running[task.key] = task
                    generation = -1
            if check is not None:
                assert self.rehearing is not None
                self.rehearing.hear(check)
                continue
            if generation >= 0:
                try:
                    self._plan(lines, generation)
                finally:
                    with self.changed:
                        self.planning = False
                        self.changed.notify_all()
                continue
            try:
                preempted = self.render.make(task)
            except Exception:  # a bug here must not stop prefetching; the speaker makes the line itself
                log.exception("prefetch of %s failed", task.line.line_id)
                preempted = False
            finally:
                task.finish()
                with self.changed:
                    for key in [key for key, running in self.running.items() if running is task]:
                        del self.running[key]
            if preempted:
                with self.changed:
                    if not self.stopping:
                        self.queue.insert(0, Task(task.line, task.key, task.voice, task.engine))  # from the start, later
