"""Prefetch: synthesizes the lines the player may reach next into the cache, nearest first.

The line being spoken always goes first: prefetch work pauses (between chunks) while it
synthesizes. The queue is bounded, never holds two tasks for one cache key, and is replaced
by every new upcoming-lines list: work for lines no longer reachable is dropped, even mid-line.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from engine import SpokenLine
from plugins.voice.audio import AudioChunk, concat
from plugins.voice.cache import AudioCache
from plugins.voice.cast import Cast, Voice
from plugins.voice.engines.base import Engine, LineSettings
from plugins.voice.errors import EngineUnavailable, VoiceError
from plugins.voice.fallback import Fallback

log = logging.getLogger(__name__)


def resolve(cast: Cast, fallback: Fallback, key_for: Callable[[Engine, Voice, str], str],
            line: SpokenLine) -> tuple[Engine, Voice, str] | None:
    """The engine, voice and cache key a line would use now (None if it has no voice or engine)."""
    try:
        voice = cast.voice_for(line.character_id)
        engines = fallback.plan(voice.engine).engines
        return (engines[0], voice, key_for(engines[0], voice, line.text)) if engines else None
    except VoiceError:
        return None


class Gate:
    """Lets the line being spoken go first: prefetch waits while any urgent synthesis runs."""

    def __init__(self) -> None:
        self.urgent_count = 0
        self.changed = threading.Condition()

    @contextlib.contextmanager
    def urgent(self) -> Iterator[None]:
        with self.changed:
            self.urgent_count += 1
        try:
            yield
        finally:
            with self.changed:
                self.urgent_count -= 1
                self.changed.notify_all()

    def wait_turn(self, cancelled: threading.Event) -> bool:
        """Blocks while urgent work runs; False if the task was cancelled meanwhile."""
        with self.changed:
            self.changed.wait_for(lambda: self.urgent_count == 0 or cancelled.is_set())
        return not cancelled.is_set()


@dataclass
class Task:
    line: SpokenLine
    key: str
    engine: Engine
    voice: Voice
    cancelled: threading.Event = field(default_factory=threading.Event)
    done: threading.Event = field(default_factory=threading.Event)


class Prefetcher:
    def __init__(self, cast: Cast, fallback: Fallback, cache: AudioCache, gate: Gate,
                 key_for: Callable[[Engine, Voice, str], str], depth: int = 12, workers: int = 1) -> None:
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
        self.changed = threading.Condition()
        self.stopping = False
        self.threads = [threading.Thread(target=self._work, name=f"voice-prefetch-{n}", daemon=True)
                        for n in range(workers)]
        for thread in self.threads:
            thread.start()

    def resolve(self, line: SpokenLine) -> tuple[Engine, Voice, str] | None:
        return resolve(self.cast, self.fallback, self.key_for, line)

    def update(self, lines: Sequence[SpokenLine]) -> None:
        """Replaces the queue with these lines (nearest first), keeping only work still wanted."""
        self.last = list(lines)
        tasks: dict[str, Task] = {}
        for line in lines:
            if len(tasks) >= self.depth:
                break
            resolved = self.resolve(line)
            if resolved is None or resolved[2] in tasks or self.cache.contains(resolved[2]):
                continue
            engine, voice, key = resolved
            tasks[key] = Task(line, key, engine, voice)
        with self.changed:
            for key, task in self.running.items():
                if key not in tasks:
                    task.cancelled.set()  # that branch is no longer reachable
            self.queue = [task for key, task in tasks.items() if key not in self.running]
            self.changed.notify_all()

    def requeue(self) -> None:
        """Voices changed: their lines have new keys, so queue the last list again."""
        self.update(self.last)

    def in_flight(self, key: str) -> threading.Event | None:
        with self.changed:
            task = self.running.get(key)
        return task.done if task else None

    def close(self) -> None:
        with self.changed:
            self.stopping = True
            self.queue = []
            for task in self.running.values():
                task.cancelled.set()
            self.changed.notify_all()
        with self.gate.changed:
            self.gate.changed.notify_all()
        for thread in self.threads:
            thread.join(timeout=30)

    def _work(self) -> None:
        while True:
            with self.changed:
                self.changed.wait_for(lambda: self.stopping or bool(self.queue))
                if self.stopping:
                    return
                task = self.queue.pop(0)
                self.running[task.key] = task
            try:
                self._render(task)
            except Exception:  # prefetch is best effort; the speaker tries again when the line comes
                log.debug("prefetch of %s failed", task.line.line_id, exc_info=True)
            finally:
                with self.changed:
                    self.running.pop(task.key, None)
                task.done.set()

    def _render(self, task: Task) -> None:
        chunks: list[AudioChunk] = []
        settings = LineSettings(speed=task.voice.speed, language=task.voice.language)
        try:
            for chunk in task.engine.synthesize(task.line.text, task.voice, settings):
                if not self.gate.wait_turn(task.cancelled):
                    return
                chunks.append(chunk)
        except EngineUnavailable:
            return  # the speaker meets the same failure, and falls back, when the line comes
        if chunks and not task.cancelled.is_set():
            self.cache.put(task.key, concat(chunks))
            self.produced.add(task.key)
