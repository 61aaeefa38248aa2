"""The protocol every speech engine follows."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

from plugins.voice.core.audio import AudioChunk
from plugins.voice.core.voice import LineSettings, Voice

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EngineEvent:
    """Something an engine reports while it works (a model loading, ready, refused); the session
    decides who hears of it (a notice for the player, a trace record). Engines never print."""

    engine: str
    kind: str  # "loading", "ready" or "failed"
    text: str


EngineEvents = Callable[[EngineEvent], None]


def log_event(event: EngineEvent) -> None:
    log.info("%s %s: %s", event.engine, event.kind, event.text)


class Engine(Protocol):
    name: str
    pausable: bool
    """True if a synthesis may be left suspended between chunks without holding anything another
    line needs (in-process CPU engines). Prefetch pauses only those while a line is spoken."""
    network: bool
    """True if its audio comes over the network (edge, xtts-remote): its first chunk gets the
    `[voice.stall] first_network` budget. Engines whose chunks come from another thread wait
    through `settings.budget` (core/budget.py) and end with Stalled when it runs out."""

    clones: bool
    """True if it speaks from the character's reference WAVs (XTTS): an emotion's own reference
    (voices/<voice_id>@<emotion>.wav) then carries the emotion's pace and pitch (engines/acting.py)."""
    native_pitch: bool
    """True if it shifts pitch itself (edge's prosody); others have their chunks relabelled (engines/acting.py)."""

    takes_vary: bool
    """True if a second take of a line can differ from the first (sampling engines: XTTS, Piper with
    noise); the quality gate only makes retakes on those."""

    def measured_rtf(self) -> tuple[float, int] | None:
        """(median real-time factor of its last lines, lines measured) if it times itself, else None:
        Pace and Patience read it (an engine slower than speech gets whole lines and more patience)."""

    def missing(self) -> str | None:
        """Cheap check: what keeps this engine from running at all (extra, model), or None."""

    def probe(self) -> str | None:
        """Health check, may take a moment (used to re-probe in the background): reason or None."""

    def prepare(self, voices: Sequence[Voice] = ()) -> None:
        """Loads what the first lines will need (a model, per-voice data), off the playback path."""

    def identity(self, voice: Voice) -> str:
        """Identifies the model and voice used for `voice`, for cache keys."""

    def synthesize(self, text: str, voice: Voice, settings: LineSettings) -> Iterator[AudioChunk]:
        """Yields mono audio chunks as they are produced; raises a SpeechFailure (errors.py).
        Closing the generator early stops the work it started."""

    def close(self) -> None:
        """Stops every thread the engine started and frees its model (at the end of a game)."""


class EngineBase:
    """The capabilities an engine has unless it declares otherwise (engines inherit this)."""

    pausable = False
    network = False
    takes_vary = False
    clones = False
    native_pitch = False

    def measured_rtf(self) -> tuple[float, int] | None:
        return None


@contextlib.contextmanager
def closing(stream: Iterator[AudioChunk]) -> Iterator[Iterator[AudioChunk]]:
    """Closes a synthesis stream however the reading ends, so the engine stops the work at once."""
    try:
        yield stream
    finally:
        close = getattr(stream, "close", None)
        if close is not None:
            close()
