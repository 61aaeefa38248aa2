"""One user at a time of something that cannot be shared (Kokoro's phonemizer, the Whisper model),
with the line being heard first.

A plain lock is not fair: a background thread that releases it and takes it again at once (the
quality gate calibrating six voices in a row) can keep the speaker waiting for as long as it runs.
Here a caller that is not background goes before every background caller already waiting.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

from plugins.voice.core.budget import SLICE, Budget


class Turns:
    def __init__(self) -> None:
        self.changed = threading.Condition()  # for the three fields below
        self.busy = False
        self.waiting = 0
        self.urgent_waiting = 0

    @contextlib.contextmanager
    def turn(self, background: bool = False, budget: Budget | None = None, engine: str = "") -> Iterator[None]:
        """Holds the turn for the block; background callers wait while any other caller waits. With the reader's
        `budget`, a wait past its allowance ends with Stalled (another user kept the turn too long)."""
        urgent = 0 if background else 1
        free = lambda: not self.busy and (not background or self.urgent_waiting == 0)  # noqa: E731
        with self.changed:
            self.waiting += 1
            self.urgent_waiting += urgent
            try:
                if budget is None:
                    self.changed.wait_for(free)
                while budget is not None and not self.changed.wait_for(free, timeout=SLICE):
                    left = budget.left()
                    if left is not None and left <= 0:
                        raise budget.stalled(engine)
            finally:
                self.waiting -= 1
                self.urgent_waiting -= urgent
            self.busy = True
        try:
            yield
        finally:
            with self.changed:
                self.busy = False
                self.changed.notify_all()
