"""How long the speaker and prefetch wait for an engine's next chunk ([voice.stall]).

The silence is budgeted, not the socket: a line being heard gives its engine `first_network` or
`first_local` seconds for the first chunk (an engine measured slower than speech, a bridge included,
gets what two chunks take at its measured pace), then, for each next chunk, the audio already queued for the
sound card plus `grace`. A model on this machine also gets the time its previous chunk took, so a
slow but steady XTTS is not mistaken for a stuck one (slowness is Pace's business: its lines start
whole); a network stream gets no such allowance, since its pace is the server's. A line made
ahead (prefetch) allows `prefetch` seconds a chunk. An engine that overruns is given up for the
line (Stalled: its stream is cancelled, it is marked down and re-probed) and the line starts again
on the next engine. The engines tried then share one late chunk's budget for the silence, counted from
when the line's audio ran out (`resumed`), and the last resort (Piper) speaks once it is spent; a line
held back (a slow engine's) counts as silence too. It starts again rather than going on from the next
sentence: the stalled engine's chunks carry no text positions, so no sentence is known to have been heard
whole, and a restart in the next voice loses no word.
"""

from __future__ import annotations

from plugins.voice.core.settings import StallSettings
from plugins.voice.engines.base import Engine

MIN_SHARE = 1 / 3  # of the restart's silence budget: the least an engine tried after a cut is given
JUDGED_SHARE = 2 / 3  # ... and what it must have had to be marked down when it sends nothing
CHUNK_SECONDS = 1.0  # about what one streamed chunk of a measured engine holds (XTTS: 20 tokens = 0.93 s)


class Patience:
    def __init__(self, settings: StallSettings) -> None:
        self.settings = settings

    def first(self, engine: Engine) -> float:
        """Seconds from the line's turn to the engine's first chunk."""
        base = self.settings.first_network if engine.network else self.settings.first_local
        return max(base, 2 * _chunk_seconds(engine))

    def resumed(self, silent: float) -> float | None:
        """Seconds an engine other than the last resort has for its first heard audio when the line was cut by
        a failure midway and starts again on it, `silent` seconds after its audio ran out: the whole restart
        shares one budget for that silence, a late chunk's (`grace`), so an engine gets what is left of it,
        at least a third; None once it is spent (the engine is passed over: the last resort speaks now)."""
        left = self.settings.grace - silent
        return max(left, self.settings.grace * MIN_SHARE) if left > 0 else None

    def short(self, seconds: float) -> bool:
        """Whether a restart gave an engine too little of a late chunk's budget to judge it: if it is not heard
        in that time it is passed over for the line (Outwaited), not taken out of use."""
        return seconds < self.settings.grace * JUDGED_SHARE

    def next(self, engine: Engine, buffered: float, took: float = 0.0) -> float:
        """Seconds the next chunk may take, with `buffered` seconds of the line still to be heard and
        `took` seconds spent waiting for the previous one."""
        pace = 0.0 if engine.network else max(_chunk_seconds(engine), took)
        return max(buffered, pace) + self.settings.grace

    def first_for(self, engine: Engine, foreground: bool) -> float:
        return self.first(engine) if foreground else self.prefetch

    @property
    def prefetch(self) -> float:
        return self.settings.prefetch


def _chunk_seconds(engine: Engine) -> float:
    """What one chunk takes to make at the engine's measured pace (0 for engines that do not measure it)."""
    found = engine.measured_rtf()  # engines that time themselves: XTTS, Kokoro, xtts-remote
    return found[0] * CHUNK_SECONDS if found else 0.0
