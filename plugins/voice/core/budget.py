"""How long the reader of one synthesis stream waits for its next chunk before it gives the engine up.

The reader (the speaker for the line being heard, prefetch for lines made ahead) sets the allowance
before each wait; it can change while an engine waits (the speaker adopting a prefetched line turns
prefetch's long allowance into its own short one). Engines whose chunks come from another thread (a
network loop, a model's owner thread) wait through `get` or `result`, which raise Stalled when the
time is up; the engine's own cleanup (closing the generator) then cancels the work: a socket is
closed, a bridge slot freed, a model request dropped. Engines that make their chunks on the reader's
own thread (Piper, Kokoro) cannot stall without the whole process stalling, and do not look at it; Pocket
TTS, on the reader's thread too, waits within it for its model's turn (core/turns.py), which another
line may be holding.
"""

from __future__ import annotations

import concurrent.futures
import queue
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from plugins.voice.core.errors import Stalled

SLICE = 0.05  # seconds: how soon a waiting engine sees a changed allowance
T = TypeVar("T")


class Budget:
    """The reader's patience: a deadline for the next chunk, set by whoever is waiting for it."""

    def __init__(self, seconds: float | None = None) -> None:
        self._lock = threading.Lock()
        self._deadline: float | None = None
        self._since = 0.0  # when the current allowance began
        self._allowed = 0.0
        self._first = True
        self._foreground = False
        if seconds is not None:
            self.allow(seconds)

    def allow(self, seconds: float, background: bool = False) -> None:
        """The next chunk may take this long from now. A background reader's allowance (prefetch) no
        longer counts once the speaker has taken the stream over (`take_over`)."""
        with self._lock:
            if background and self._foreground:
                return
            self._allowed = max(0.0, seconds)
            self._since = time.monotonic()
            self._deadline = self._since + self._allowed

    def take_over(self, seconds: float) -> None:
        """The speaker follows this stream from now on: its allowance replaces the background one."""
        with self._lock:
            self._foreground = True
        self.allow(seconds)

    def elapsed(self) -> float:
        """Seconds since the current allowance began (on a chunk's arrival: how long it took)."""
        with self._lock:
            return time.monotonic() - self._since

    @property
    def foreground(self) -> bool:
        with self._lock:
            return self._foreground

    def received(self) -> None:
        """A chunk came (the engine's wait ends); the reader sets the next allowance."""
        with self._lock:
            self._first = False

    def left(self, progress: Callable[[], float] | None = None) -> float | None:
        """Seconds left (None: no deadline). With `progress` (when the engine last made headway on
        any work, e.g. a model serving another line first), the allowance counts from there too."""
        with self._lock:
            if self._deadline is None:
                return None
            deadline = self._deadline
            if progress is not None:
                deadline = max(deadline, progress() + self._allowed)
            return deadline - time.monotonic()

    def stalled(self, engine: str) -> Stalled:
        with self._lock:
            waited, first = time.monotonic() - self._since, self._first
        what = "sent no audio" if first else "stopped sending audio"
        return Stalled(engine, f"{what} for {waited:.1f} s", waited)

    def get(self, source: queue.Queue[Any], engine: str, progress: Callable[[], float] | None = None) -> Any:
        """The next item from an engine's queue, or Stalled once the allowance is spent."""
        while True:
            left = self.left(progress)
            if left is not None and left <= 0:
                raise self.stalled(engine)
            try:
                item = source.get(timeout=SLICE if left is None else min(SLICE, left))
            except queue.Empty:
                continue
            self.received()
            return item

    def result(self, future: concurrent.futures.Future[T], engine: str) -> T:
        """A future's result (e.g. a request on a network loop), or Stalled once the allowance is spent."""
        while True:
            left = self.left()
            if left is not None and left <= 0:
                raise self.stalled(engine)
            done, _ = concurrent.futures.wait([future], timeout=SLICE if left is None else min(SLICE, left))
            if done:  # its own exceptions (a TimeoutError among them) come from result(), not from the wait
                self.received()
                return future.result()


def wait_item(source: queue.Queue[Any], budget: Budget | None, engine: str,
              progress: Callable[[], float] | None = None) -> Any:
    """An engine's wait for its next item: with the reader's budget if it gave one, else for as long as it takes."""
    return source.get() if budget is None else budget.get(source, engine, progress)
