"""Lines for a browser (`engine serve`): each line's audio is kept as it is made, for the page to fetch.

The speaker writes to a LineSink exactly as it writes to a sound card; the sink never blocks (the
browser plays the audio), so the speaker goes on to the next line while the page still plays this one.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import numpy as np


class LineAudio:
    """One line's audio (int16 mono PCM at `rate`), growing while the line is made; read from any thread."""

    def __init__(self, rate: int) -> None:
        self.rate = rate
        self.data = bytearray()
        self.finished = False
        self.changed = threading.Condition()

    def add(self, pcm: bytes) -> None:
        with self.changed:
            if not self.finished:
                self.data += pcm
                self.changed.notify_all()

    def finish(self) -> None:
        with self.changed:
            self.finished = True
            self.changed.notify_all()

    def read(self, offset: int, timeout: float) -> tuple[bytes, bool]:
        """The bytes after `offset` (waits up to `timeout` for some), and whether the line is complete."""
        with self.changed:
            self.changed.wait_for(lambda: len(self.data) > offset or self.finished, timeout)
            return bytes(self.data[offset:]), self.finished

    def wait(self, timeout: float | None = None) -> bool:
        """True once the line is complete (waits up to `timeout`): a Waitable, as engine_line_delivery returns."""
        with self.changed:
            return self.changed.wait_for(lambda: self.finished, timeout)


class LineSink:
    """A Sink (output/sinks.py) that adds what is played to the line being spoken, `current()`."""

    name = "browser"

    def __init__(self, current: Callable[[], LineAudio | None]) -> None:
        self.current = current

    def write(self, pcm: np.ndarray) -> None:
        audio = self.current()
        if audio is not None:
            audio.add(np.ascontiguousarray(pcm, dtype=np.int16).tobytes())

    def drain(self) -> None:
        """The line is whole (Output.end_line): its readers learn it now, not when the speaker is done with it."""
        audio = self.current()
        if audio is not None:
            audio.finish()

    def stop(self) -> None:
        pass

    def close(self) -> None:
        pass
