"""When a character moves to another engine (its cloned voice is ready at last, after a stand-in spoke while the
model loaded): only once that engine's audio for its line is ready, and within a scene only if the voice it had
has nothing ready. Until then the lines already made in the voice it had play at once (prefetch made them while
the model loaded), instead of waiting for the new engine to make them. A voice whose engine went down moves at
once: there is nothing to wait for. Speaker's thread only."""

from __future__ import annotations

from dataclasses import dataclass

from engine import SpokenLine
from plugins.voice.core.voice import Voice
from plugins.voice.pipeline.fallback import Fallback
from plugins.voice.store.cache import AudioCache
from plugins.voice.store.keys import line_key


@dataclass
class Spoke:
    engine: str
    scene: str


class Handover:
    def __init__(self, fallback: Fallback, cache: AudioCache) -> None:
        self.fallback = fallback
        self.cache = cache
        self.last: dict[str, Spoke] = {}  # character_id -> the engine of its last line, and that line's scene

    def engine(self, line: SpokenLine, voice: Voice, preferred: str) -> str:
        """The engine to try first for this line: `preferred`, or the one the character spoke with, where that
        one has the line ready and the new one has not (or the scene is the same and both are ready)."""
        before = self.last.get(voice.character_id)
        engines = self.fallback.plan(preferred).engines
        if before is None or not engines or engines[0].name == before.engine:
            return preferred
        kept = next((engine for engine in engines if engine.name == before.engine), None)
        if kept is None or not self.cache.contains(line_key(kept, voice, line.text)):
            return preferred
        new_ready = self.cache.contains(line_key(engines[0], voice, line.text))
        return before.engine if not new_ready or before.scene == line.scene_id else preferred

    def spoke(self, line: SpokenLine, engine: str) -> None:
        self.last[line.character_id] = Spoke(engine, line.scene_id)
