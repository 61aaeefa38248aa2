"""When a slow engine's line may start (`[voice] when_slow = "adapt"`): as soon as what is in hand and the
engine's pace mean the rest will come before it is heard, not once the whole line is made.

A line of D seconds from an engine that makes a second of audio in r seconds (r > 1): with M seconds in
hand, the rest is made in r * (D - M) seconds, while the player hears D - c seconds before needing the
last chunk (c seconds long). So the line starts once r * (D - M) <= D - c: a wait of (r - 1) * D + c
instead of the r * D a whole line costs (r = 1.2, a 4-second line in 1-second chunks: 1.8 s instead of
4.8 s; 2.4 s with the margins below). A pace or a length misjudged by a fraction e costs a pause of only
about e * (D - M) (the pace) or (r - 1) * e * D (the length).
D is not known before the line is made: it is the line's characters at the engine's seconds per
character on its last lines. The pace is the slower of the engine's measured one and this line's so far.
Both get a margin, so a line a little longer or slower than expected still has no pause.
"""

from __future__ import annotations

import time
from collections import deque

from plugins.voice.core.audio import AudioChunk

RATE_MARGIN = 1.1  # the pace may be this much slower than measured ...
LENGTH_MARGIN = 1.25  # ... and the line this much longer than expected (it costs little where r is near 1)
SECONDS_PER_CHAR = 0.075  # speech before an engine has made a line (~13 characters a second)
LAST_LINES = 20  # lines an engine's seconds per character is taken from
LEAST_CHUNK = 1.0  # seconds: the last chunk is assumed at least this long (XTTS's is 0.93 s)


class SpeechLength:
    """Seconds of audio per character of text, per engine, from the last lines it made (the speaker's
    thread only)."""

    def __init__(self) -> None:
        self.lines: dict[str, deque[tuple[int, float]]] = {}

    def learn(self, engine: str, text: str, seconds: float) -> None:
        if text.strip() and seconds > 0:
            self.lines.setdefault(engine, deque(maxlen=LAST_LINES)).append((len(text.strip()), seconds))

    def expect(self, engine: str, text: str) -> float:
        """The line's expected length in seconds."""
        seen = self.lines.get(engine)
        per_char = (sum(s for _, s in seen) / sum(n for n, _ in seen)) if seen else SECONDS_PER_CHAR
        return len(text.strip()) * per_char


def may_start(rate: float, made: float, expected: float, chunk: float) -> bool:
    """Whether a line with `made` seconds in hand, `expected` seconds long, made at `rate` seconds per second
    of audio, chunks up to `chunk` seconds long, can start now and never run dry."""
    last = max(chunk, LEAST_CHUNK)
    length = max(max(expected, made) * LENGTH_MARGIN, made + last)  # longer than expected: longer still
    return rate * RATE_MARGIN * (length - made) <= length - last


class HeadStart:
    """Follows one held line's chunks as they come: `ready(held)` after each says whether it may start."""

    def __init__(self, measured_rate: float, expected: float) -> None:
        self.measured_rate = measured_rate
        self.expected = expected
        self.first_at = 0.0

    def ready(self, held: list[AudioChunk]) -> bool:
        now = time.monotonic()
        if len(held) == 1:
            self.first_at = now
        made = sum(chunk.seconds for chunk in held)
        since_first = made - held[0].seconds  # this line's own pace: what came after its first chunk
        rate = max(self.measured_rate, (now - self.first_at) / since_first if since_first > 0 else 0.0)
        return may_start(rate, made, self.expected, max(chunk.seconds for chunk in held))
