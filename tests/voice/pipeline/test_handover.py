"""A character's voice moves to a new engine only once that engine has its line ready; until then it keeps the voice
it has (real Piper under two names, a real cache; the decisions the speaker and prefetch take)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engine import SpokenLine
from plugins.voice.core.audio import AudioChunk
from plugins.voice.core.settings import CacheSettings
from plugins.voice.core.voice import Voice
from plugins.voice.pipeline.fallback import Fallback
from plugins.voice.pipeline.handover import Handover
from plugins.voice.store.cache import AudioCache
from plugins.voice.store.keys import line_key
from tests.support.stall_helpers import Wrapped

VOICE = Voice("guide", "guide_young", "piper", "en", 1.0, 0)


def line(n: int, scene: str = "hall") -> SpokenLine:
    return SpokenLine(f"guide.{n}", scene, "guide", "Guide", f"Line number {n} of the guide.", False, "en")


def rig(tmp_path: Path, piper: Any) -> tuple[Handover, AudioCache, Any, Fallback]:
    stand_in = Wrapped(piper)  # the same voice under another name: the order's last engine
    fallback = Fallback({"piper": piper, "wrapped": stand_in}, ["piper", "wrapped"], lambda text: None, 0)
    cache = AudioCache(CacheSettings(dir=tmp_path / "cache"))
    return Handover(fallback, cache), cache, stand_in, fallback


def ready(cache: AudioCache, engine: Any, spoken: SpokenLine) -> None:
    import numpy as np

    cache.put(line_key(engine, VOICE, spoken.text), AudioChunk(np.zeros(2400, dtype=np.float32), 24000))


def test_a_character_keeps_its_voice_until_the_new_engine_has_its_line_ready(tmp_path: Path, piper: Any) -> None:
    handover, cache, stand_in, _ = rig(tmp_path, piper)
    handover.spoke(line(1), "wrapped", "piper")  # spoke while the first engine could not
    assert handover.standby(line(2), VOICE, "piper") == "wrapped"  # prefetch makes its lines in that voice too
    ready(cache, stand_in, line(3))
    assert handover.engine(line(3), VOICE, "piper") == "wrapped"  # ready there, not in the new engine: kept
    ready(cache, piper, line(4))
    assert handover.engine(line(4), VOICE, "piper") == "piper"  # ready in the new engine: it moves
    handover.spoke(line(4), "piper", "piper")
    ready(cache, stand_in, line(5))
    assert handover.engine(line(5), VOICE, "piper") == "piper"  # and stays: no voice going back and forth
    assert handover.standby(line(5), VOICE, "piper") is None
    handover.spoke(line(6), "wrapped", "piper")
    assert handover.engine(line(7), VOICE, "piper") == "piper"  # ready nowhere: no reason to wait for the old one


def test_a_character_that_has_not_spoken_takes_a_stand_ins_ready_line_rather_than_wait(tmp_path: Path,
                                                                                      piper: Any) -> None:
    handover, cache, stand_in, fallback = rig(tmp_path, piper)
    assert handover.standby(line(1), VOICE, "piper") is None  # nobody speaks through a stand-in: nothing to make
    other = SpokenLine("scribe.1", "hall", "scribe", "Scribe", "Ink.", False, "en")
    handover.spoke(other, "wrapped", "piper")  # the scribe does (its model is loading, say)
    assert handover.standby(line(1), VOICE, "piper") == "wrapped"  # so the guide's lines are made by it too
    assert handover.engine(line(1), VOICE, "piper") == "piper"  # nothing ready: the preferred engine makes it
    ready(cache, stand_in, line(1))
    assert handover.engine(line(1), VOICE, "piper") == "wrapped"
    ready(cache, piper, line(1))
    assert handover.engine(line(1), VOICE, "piper") == "piper"
    handover.spoke(line(1), "wrapped", "piper")
    fallback.mark_down("wrapped", "gone")  # its voice's engine went down: it moves at once
    assert handover.engine(line(2), VOICE, "piper") == "piper"
    fallback.close()
