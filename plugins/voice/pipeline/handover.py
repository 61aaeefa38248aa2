"""When a character's voice moves to another engine (its cloned voice is ready at last, after a stand-in spoke while
the model loaded): at its first line that engine has ready. Until then the character keeps the voice it has, whose
lines prefetch keeps making too (`standby`, first: they are cheap), so they play at once instead of the player
waiting while the new engine makes them; the new engine's are made beside them, and once it has a line ready the
character moves for good. A character that has not spoken yet gets its lines made by the order's last engine too
(the stand-in) and takes one of those rather than wait. A voice whose engine went down moves at once: there is
nothing to wait for. (Moving only at scene boundaries keeps a stand-in's voice for most of a game where the new
engine is XTTS on a CPU: its lines are rarely ready at a scene's first line.) `engine` and `spoke` run on the
speaker's thread; `standby` on prefetch threads (it reads one dict entry)."""

from __future__ import annotations

from dataclasses import dataclass

from engine import SpokenLine
from plugins.voice.core.voice import Voice
from plugins.voice.engines.base import Engine
from plugins.voice.pipeline.fallback import Fallback
from plugins.voice.store.cache import AudioCache
from plugins.voice.store.keys import line_key


@dataclass(frozen=True)
class Spoke:
    engine: str
    scene: str


class Handover:
    def __init__(self, fallback: Fallback, cache: AudioCache) -> None:
        self.fallback = fallback
        self.cache = cache
        self.last: dict[str, Spoke] = {}  # character_id -> the engine of its last line, and that line's scene

    def engine(self, line: SpokenLine, voice: Voice, preferred: str) -> str:
        """The engine to try first for this line: the character keeps the engine it spoke with until a line is
        ready in `preferred`'s; one that has not spoken yet takes a line a later engine has ready over waiting for
        `preferred` to make it."""
        engines = self.fallback.plan(preferred).engines
        if not engines:
            return preferred
        before = self.last.get(voice.character_id)
        if before is not None and before.engine != engines[0].name:
            if any(engine.name == before.engine for engine in engines):  # its voice is still there to keep
                return preferred if self._ready(engines[0], voice, line) else before.engine
        if before is None and not self._ready(engines[0], voice, line):
            ready = next((engine for engine in engines[1:] if self._ready(engine, voice, line)), None)
            return ready.name if ready is not None else preferred
        return preferred

    def standby(self, line: SpokenLine, voice: Voice, first: str) -> str | None:
        """The engine whose voice the character has while `first` is not yet its voice (for one that has not
        spoken: the order's last engine, the stand-in), or None."""
        before = self.last.get(voice.character_id)
        if before is None:
            engines = self.fallback.plan(first).engines
            stand_in = engines[-1].name if len(engines) > 1 else None
            return stand_in if stand_in != first else None
        if before.engine == first or not self.fallback.ready(before.engine):
            return None
        return before.engine

    def spoke(self, line: SpokenLine, engine: str) -> None:
        self.last[line.character_id] = Spoke(engine, line.scene_id)

    def _ready(self, engine: Engine, voice: Voice, line: SpokenLine) -> bool:
        return self.cache.contains(line_key(engine, voice, line.text))
