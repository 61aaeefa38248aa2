"""When a character's voice moves to another engine (its cloned voice is ready at last, after a stand-in spoke while
the model loaded): at its first line that engine has ready, or that the voice it has has not (nothing is gained by
waiting for either: an engine back after a failure is used again at once). Until then the character keeps the
voice it has, whose lines prefetch keeps making too (`standby`, first: they are cheap), so they play at once
instead of the player waiting while the new engine makes them; the new engine's are made beside them. A character
that has not spoken yet, while others speak through a stand-in, gets its lines made by the order's last engine too
and takes one of those rather than wait. A voice whose engine went down moves at once. (Moving only at scene
boundaries keeps a stand-in's voice for most of a game where the new engine is XTTS on a CPU: its lines are rarely
ready at a scene's first line.) `engine` and `spoke` run on the speaker's thread; `standby` on prefetch threads
(it reads the dict of who spoke last)."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from engine import SpokenLine
from plugins.voice.core.errors import VoiceError
from plugins.voice.core.voice import Voice
from plugins.voice.engines.base import Engine
from plugins.voice.pipeline.fallback import Fallback
from plugins.voice.store.cache import AudioCache
from plugins.voice.store.keys import line_key


@dataclass(frozen=True)
class Spoke:
    engine: str
    stand_in: bool  # not the engine the line asked for first (that one could not, or had nothing ready)


class Handover:
    def __init__(self, fallback: Fallback, cache: AudioCache) -> None:
        self.fallback = fallback
        self.cache = cache
        self.last: dict[str, Spoke] = {}  # character_id -> the engine of its last line (written by the speaker)
        self.lock = threading.Lock()  # for `last`: prefetch threads read it

    def engine(self, line: SpokenLine, voice: Voice, preferred: str) -> str:
        """The engine to try first for this line: the character keeps the engine it spoke with while that one has
        the line ready and `preferred`'s has not; one that has not spoken yet takes a line a later engine has ready
        over waiting for `preferred` to make it."""
        engines = self.fallback.plan(preferred).engines
        if not engines:
            return preferred
        with self.lock:
            before = self.last.get(voice.character_id)
        if before is not None and before.engine != engines[0].name:
            kept = next((engine for engine in engines if engine.name == before.engine), None)  # still up?
            if kept is not None and self._ready(kept, voice, line) and not self._ready(engines[0], voice, line):
                return before.engine
        if before is None and not self._ready(engines[0], voice, line):
            ready = next((engine for engine in engines[1:] if self._ready(engine, voice, line)), None)
            return ready.name if ready is not None else preferred
        return preferred

    def standby(self, line: SpokenLine, voice: Voice, first: str) -> str | None:
        """The engine whose voice the character has while `first` is not yet its voice (for one that has not
        spoken, while other characters speak through a stand-in: the order's last engine), or None."""
        with self.lock:
            before = self.last.get(voice.character_id)
            standing_in = any(spoke.stand_in for spoke in self.last.values())
        if before is None:  # while others speak through a stand-in (not when the player chose to wait for a model)
            if not standing_in:
                return None
            engines = self.fallback.plan(first).engines
            stand_in = engines[-1].name if len(engines) > 1 else None
            return stand_in if stand_in != first else None
        if before.engine == first or not self.fallback.ready(before.engine):
            return None
        return before.engine

    def spoke(self, line: SpokenLine, engine: str, asked: str) -> None:
        """The line was spoken by `engine`; `asked` is the engine the line asked for (before the handover)."""
        engines = self.fallback.plan(asked).engines
        with self.lock:
            self.last[line.character_id] = Spoke(engine, bool(engines) and engines[0].name != engine)

    def _ready(self, engine: Engine, voice: Voice, line: SpokenLine) -> bool:
        try:
            return self.cache.contains(line_key(engine, voice, line.text))
        except VoiceError:  # the engine cannot speak this voice at all (its key names a voice it lacks)
            return False
