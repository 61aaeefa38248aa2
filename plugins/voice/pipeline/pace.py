"""What the player gets when an engine is slower than speech (full-size XTTS on a CPU).

Engines that measure themselves (`measured_rtf()`: XTTS times its own thread, which waits on no
one, on every line it makes, prefetched ones included) are slow when the median real-time factor
of their last lines is above 1 after SLOW_AFTER lines, or above CLEARLY_SLOW after one: a streamed
line would run dry midway. With `[voice] when_slow = "adapt"` (the default) such an engine's lines are then
held until the rest will come before it is heard (HeadStart: a wait before the line, shorter than for
the whole line, never a silence inside it; prefetch makes most of them while the player reads),
narration moves to the fast engine (Piper) so the story keeps moving,
characters keep their cloned voices, and the player is told once, with the figure. "stream" keeps
streaming (the gaps stay, and are told once too).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from engine import SpokenLine
from plugins.voice.core.voice import Voice
from plugins.voice.engines.base import Engine
from plugins.voice.pipeline.fallback import Fallback

SLOW_AFTER = 3  # lines an engine must have made before it is judged on a factor just above 1
CLEARLY_SLOW = 1.5  # ... or after its first line, when this slow (a first line's warm-up stays under it on a GPU)
TOLD_GAP_SECONDS = 1.0  # a silence this long inside a line is explained to the player
FAST = "piper"


class Pace:
    def __init__(self, fallback: Fallback, notify: Callable[[str], None], trace: Callable[[dict[str, Any]], None],
                 mode: str = "adapt") -> None:
        self.fallback = fallback
        self.notify = notify
        self.trace = trace
        self.mode = mode
        self.told: set[str] = set()
        self.lock = threading.Lock()  # for `told` (speaker and prefetch threads)

    def slow(self, engine: Engine) -> float | None:
        """The engine's measured real-time factor if it is slower than speech, else None."""
        found = engine.measured_rtf()
        if found is None or found[0] <= 1.0 or (found[1] < SLOW_AFTER and found[0] <= CLEARLY_SLOW):
            return None
        rtf, lines = found
        if self._first(engine.name):
            self.trace({"event": "slow_engine", "engine": engine.name, "rtf": round(rtf, 2), "lines": lines,
                        "mode": self.mode})
            if self.mode == "adapt":
                narrator = f", and the narrator speaks with {FAST}" if self.fallback.ready(FAST) else ""
                self.notify(f"{engine.name} makes speech {rtf:.1f}x slower than it plays on this machine (measured on "
                            f"{lines} line(s)): its lines now start once enough is made that none stops midway{narrator}.")
            else:
                self.notify(f"{engine.name} makes speech {rtf:.1f}x slower than it plays on this machine: lines may "
                            "pause midway (set [voice] when_slow = \"adapt\" to wait before lines instead).")
        return rtf

    def holds(self, engine: Engine) -> bool:
        """Whether the engine's lines are held back until the rest will come in time."""
        slow = self.slow(engine) is not None  # judged in either mode: the player is told either way
        return slow and self.mode == "adapt"

    def preferred(self, line: SpokenLine, voice: Voice) -> str:
        """The engine to try first for a line: the profile's, or the fast one for narration while it is slow."""
        if self.mode != "adapt" or not line.is_narration or voice.engine == FAST:
            return voice.engine
        engines = self.fallback.plan(voice.engine).engines
        if engines and engines[0].name != FAST and self.slow(engines[0]) is not None and self.fallback.ready(FAST):
            return FAST
        return voice.engine

    def after_line(self, engine: Engine, gaps: list[float]) -> None:
        """A long silence inside a line before the engine was judged slow is explained once."""
        if max(gaps, default=0.0) >= TOLD_GAP_SECONDS and self.slow(engine) is None and self._first(f"gap:{engine.name}"):
            self.notify(f"{engine.name} could not keep up with this line ({max(gaps):.1f} s of silence in it): it is "
                        "slower than speech on this machine so far; lines are made ahead while you read.")

    def _first(self, key: str) -> bool:
        with self.lock:
            if key in self.told:
                return False
            self.told.add(key)
            return True
