"""How fast a local engine makes speech on this machine, measured on its own lines (Pace reads it)."""

from __future__ import annotations

import collections
import statistics
import threading

WINDOW = 5  # lines the measured real-time factor is the median of


class Speeds:
    """Real-time factors (seconds of work per second of audio) of the last lines an engine made whole."""

    def __init__(self) -> None:
        self.factors: collections.deque[float] = collections.deque(maxlen=WINDOW)
        self.lines = 0
        self.lock = threading.Lock()  # lines are made on several threads (speaker, prefetch)

    def add(self, working: float, made: float) -> None:
        """A line took `working` seconds of the engine's own time to make `made` seconds of audio."""
        if made > 0:
            with self.lock:
                self.factors.append(working / made)
                self.lines += 1

    def measured(self) -> tuple[float, int] | None:
        """(median real-time factor of the last lines, how many lines were measured), or None."""
        with self.lock:
            factors, lines = list(self.factors), self.lines
        return (statistics.median(factors), lines) if factors else None
