"""What prefetch hands around: a Task (one line being made ahead, which the speaker can follow as it
comes) and the Gate (the line being heard goes first: pausable background work waits at it)."""

from __future__ import annotations

import contextlib
import functools
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from engine import SpokenLine
from plugins.voice.casting.cast import Cast
from plugins.voice.core.audio import AudioChunk
from plugins.voice.core.budget import Budget
from plugins.voice.core.errors import SpeechFailure, VoiceError
from plugins.voice.core.voice import Voice
from plugins.voice.engines.base import Engine
from plugins.voice.pipeline.fallback import Fallback

Preferred = Callable[[SpokenLine, Voice], str]  # the engine a line tries first (Pace.preferred)
Standby = Callable[[SpokenLine, Voice, str], str | None]  # the voice a character keeps until `str` has its line


def resolve(cast: Cast, fallback: Fallback, key_for: Callable[[Engine, Voice, str], str],
            line: SpokenLine, preferred: Preferred) -> tuple[Engine, Voice, str] | None:
    """The engine, voice and cache key a line would use now (None if it has no voice or engine)."""
    try:
        voice = cast.voice_for_line(line)
        if voice.acting.silent or not line.text:
            return None  # a sound cue or a direction alone: nothing to say
        engines = fallback.plan(preferred(line, voice)).engines
        return (engines[0], voice, key_for(engines[0], voice, line.text)) if engines else None
    except VoiceError:
        return None


@dataclass(eq=False)
class Task:
    """One line being made ahead. Its chunks are published as they come, so the speaker can follow."""

    line: SpokenLine
    key: str
    voice: Voice
    engine: str | None = None  # the engine to try first, if not the line's preferred one (a stand-in's, handover.py)
    cancelled: threading.Event = field(default_factory=threading.Event)
    adopted: threading.Event = field(default_factory=threading.Event)
    done: threading.Event = field(default_factory=threading.Event)
    chunks: list[AudioChunk] = field(default_factory=list)
    failure: SpeechFailure | None = None
    changed: threading.Condition = field(default_factory=threading.Condition)
    budget: Budget = field(default_factory=Budget)  # prefetch's patience with its engine; the speaker's once adopted

    def publish(self, chunk: AudioChunk) -> None:
        with self.changed:
            self.chunks.append(chunk)
            self.changed.notify_all()

    def finish(self, failure: SpeechFailure | None = None) -> None:
        with self.changed:
            if not self.done.is_set():
                self.failure = failure
                self.done.set()
            self.changed.notify_all()

    def _past(self, sent: int) -> bool:
        return len(self.chunks) > sent or self.done.is_set()

    def follow(self) -> Iterator[AudioChunk]:
        """The chunks made so far, then the rest as they come (speaker thread; waits holding no lock
        of ours). Raises the failure the render ended with; a render stopped early ends short."""
        sent = 0
        while True:
            with self.changed:
                self.changed.wait_for(functools.partial(self._past, sent))
                new, finished, failure = self.chunks[sent:], self.done.is_set(), self.failure
            yield from new
            sent += len(new)
            if finished:
                if failure is not None:
                    raise failure
                return


class Gate:
    """Lets the line being spoken go first: pausable prefetch waits while any urgent synthesis runs."""

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
            self.wake(-1)

    def wake(self, change: int = 0) -> None:
        with self.changed:
            self.urgent_count += change
            self.changed.notify_all()

    def wait_quiet(self, stopping: Callable[[], bool]) -> None:
        """Blocks while urgent work runs (a quality check starts after it, not beside it), or until `stopping()`."""
        with self.changed:
            self.changed.wait_for(lambda: self.urgent_count == 0 or stopping())

    def wait_turn(self, task: Task) -> bool:
        """Blocks while urgent work runs (never for a task the speaker follows); False if it was cancelled."""
        with self.changed:
            self.changed.wait_for(lambda: self.urgent_count == 0 or task.cancelled.is_set() or task.adopted.is_set())
        return not task.cancelled.is_set()


class VoiceNotSupportedAnywhere(SpeechFailure):
    """No engine could make this line ahead of time (the speaker tries again, and says why)."""

    down = False
