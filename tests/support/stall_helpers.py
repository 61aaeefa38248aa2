"""A speaker over real engines with a null sink, its trace in a list (test_stall.py, test_restart.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engine import SpokenLine, load_story
from plugins.voice.casting.cast import Cast
from plugins.voice.casting.references import ReferenceStore
from plugins.voice.core.settings import CacheSettings, StallSettings
from plugins.voice.output.playback import Output
from plugins.voice.output.sinks import NullSink
from plugins.voice.pipeline.fallback import Fallback
from plugins.voice.pipeline.speaker import Speaker
from plugins.voice.store.cache import AudioCache
from tests.support.common import TOMB

STORY = load_story(TOMB)
MARGIN = 2.0  # seconds past the budget that a busy 2-core machine may take to notice and hand the line on
TEXT = "The door is sealed with wax. Nobody has opened it for a thousand years, and nobody should."


def spoken(n: int, character_id: str = "guide", text: str = TEXT) -> SpokenLine:
    return SpokenLine(f"stall.{n}", "stall", character_id, character_id.title(), text, False, "en")


class Rig:
    """A speaker over real engines, a null sink, and the trace in a list."""

    def __init__(self, tmp_path: Path, engines: dict[str, Any], stall: StallSettings, prefetch: int = 0,
                 when_slow: str = "adapt") -> None:
        self.notices: list[str] = []
        self.records: list[dict[str, Any]] = []
        self.cache = AudioCache(CacheSettings(dir=tmp_path / "cache"))
        self.fallback = Fallback(engines, list(engines), self.notices.append, 0)
        self.cast = Cast(STORY, tmp_path / "voices", next(iter(engines)), {}, ReferenceStore(tmp_path / "checked"))
        self.speaker = Speaker(self.cast, self.fallback, self.cache, Output(NullSink(), 24000, -20.0, self.notices.append),
                               self.records.append, self.notices.append, prefetch_depth=prefetch, stall=stall,
                               when_slow=when_slow).start()

    def speak(self, line: SpokenLine) -> dict[str, Any]:
        job = self.speaker.say(line)
        assert job.done.wait(60), "the line never ended"
        return [r for r in self.records if r["event"] == "voice" and r["line_id"] == line.line_id][0]


class Wrapped:
    """A real engine under another name, whose synthesize a test changes (its other parts are the real one's)."""

    name = "wrapped"

    def __init__(self, real: Any) -> None:
        self.real = real

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)
