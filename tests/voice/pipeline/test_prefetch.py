"""Prefetch queue and gapless streaming.

Queue behaviour (priority, preemption, cancellation, dedup, bound, shutdown) is tested with
an engine whose progress the test controls, so that the order is deterministic; real Piper
prefetching end to end is measured by bench/prefetch.py and covered in test_plugin.py.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import soundfile

from engine import SpokenLine, load_story
from plugins.voice.casting.cast import Cast
from plugins.voice.casting.references import ReferenceStore
from plugins.voice.core.audio import AudioChunk, normalize, resample, to_int16
from plugins.voice.core.settings import CacheSettings
from plugins.voice.core.voice import LineSettings, Voice
from plugins.voice.engines.base import EngineBase
from plugins.voice.engines.piper.engine import PiperEngine
from plugins.voice.output.playback import Output, Recording
from plugins.voice.output.sinks import NullSink
from plugins.voice.pipeline.fallback import Fallback
from plugins.voice.pipeline.prefetch import Gate, Prefetcher
from plugins.voice.pipeline.speaker import Speaker
from plugins.voice.store.cache import AudioCache
from plugins.voice.store.keys import line_key
from tests.support.common import TOMB, wait_until

STORY = load_story(TOMB)


class SteppedEngine(EngineBase):
    """Yields one short chunk per sentence, each only when the test releases it."""

    name = "piper"
    pausable = True

    def __init__(self, auto: bool = False) -> None:
        self.started: list[str] = []
        self.chunks: list[str] = []
        self.release = threading.Semaphore(0)
        self.auto = auto

    def missing(self) -> str | None:
        return None

    def probe(self) -> str | None:
        return None

    def prepare(self, voices: Sequence[Voice] = ()) -> None:
        pass

    def close(self) -> None:
        pass

    def identity(self, voice: Voice) -> str:
        return f"stepped:{voice.voice_id}"

    def synthesize(self, text: str, voice: Voice, settings: LineSettings) -> Iterator[AudioChunk]:
        self.started.append(text)
        for sentence in text.split(". "):
            if not self.auto:
                assert self.release.acquire(timeout=10), "the test never released this chunk"
            self.chunks.append(sentence)
            yield AudioChunk(np.full(2400, 0.1, dtype=np.float32), 24000)


def lines(*texts: str) -> list[SpokenLine]:
    return [SpokenLine(f"line:{text}", "s", "guide", "Tariq", text, False, "en") for text in texts]


class HeldGate(Gate):
    """A Gate that tells when prefetch has come to wait for its turn (between two chunks of a line)."""

    def __init__(self) -> None:
        super().__init__()
        self.reached = threading.Event()

    def wait_turn(self, task: Any) -> bool:
        self.reached.set()
        return super().wait_turn(task)


def rig(tmp_path: Path, engine: Any, depth: int = 12,
        gate: Gate | None = None) -> tuple[Prefetcher, AudioCache, Fallback, Cast]:
    cache = AudioCache(CacheSettings(dir=tmp_path / "cache"))
    fallback = Fallback({"piper": engine}, ["piper"], lambda text: None, 0)
    cast = Cast(STORY, tmp_path / "voices", "piper", {}, ReferenceStore(tmp_path / "checked"))
    return Prefetcher(cast, fallback, cache, gate or Gate(), line_key, depth).start(), cache, fallback, cast


def test_nearest_first_bounded_and_deduplicated(tmp_path: Path) -> None:
    engine = SteppedEngine(auto=True)
    prefetcher, cache, _, cast = rig(tmp_path, engine, depth=3)
    wanted = lines("One.", "Two.", "One.", "Three.", "Four.", "Five.")
    prefetcher.update(wanted)
    wait_until(lambda: len(prefetcher.produced) == 3)
    prefetcher.close()
    assert engine.started == ["One.", "Two.", "Three."]  # in order, "One." once, at most 3
    voice = cast.voice_for("guide")
    assert cache.contains(line_key(engine, voice, "Three.")) and not cache.contains(line_key(engine, voice, "Four."))


def test_lines_already_cached_are_not_queued(tmp_path: Path) -> None:
    engine = SteppedEngine(auto=True)
    prefetcher, cache, _, cast = rig(tmp_path, engine)
    cache.put(line_key(engine, cast.voice_for("guide"), "Cached."), AudioChunk(np.zeros(100, np.float32), 24000))
    prefetcher.update(lines("Cached.", "New."))
    wait_until(lambda: len(prefetcher.produced) == 1)
    prefetcher.close()
    assert engine.started == ["New."]


def test_a_choice_cancels_branches_no_longer_reachable(tmp_path: Path) -> None:
    engine = SteppedEngine()
    prefetcher, cache, _, cast = rig(tmp_path, engine)
    prefetcher.update(lines("Left one. Left two", "Left three.", "Right one."))
    engine.release.release()  # "Left one" is made; the task now waits for its second chunk
    wait_until(lambda: engine.chunks == ["Left one"])
    prefetcher.update(lines("Right one."))  # the player chose the right branch
    for _ in range(5):
        engine.release.release()
    wait_until(lambda: len(prefetcher.produced) == 1)
    prefetcher.close()
    voice = cast.voice_for("guide")
    assert not cache.contains(line_key(engine, voice, "Left one. Left two"))  # dropped half-way, not cached
    assert "Left three." not in engine.started
    assert cache.contains(line_key(engine, voice, "Right one."))


def test_the_current_line_preempts_prefetch(tmp_path: Path) -> None:
    engine = SteppedEngine(auto=True)
    gate = HeldGate()
    prefetcher, _, _, _ = rig(tmp_path, engine, gate=gate)
    with prefetcher.gate.urgent():  # the speaker is synthesizing the line being played
        prefetcher.update(lines("A. B. C. D"))
        assert gate.reached.wait(30)  # its first chunk made, prefetch waits for its turn...
        assert engine.chunks == ["A"]  # ... with the engine paused after that chunk
    wait_until(lambda: len(engine.chunks) == 4)
    prefetcher.close()


def test_a_line_reached_mid_prefetch_plays_what_is_made_and_streams_the_rest(tmp_path: Path) -> None:
    engine = SteppedEngine()
    cache = AudioCache(CacheSettings(dir=tmp_path / "cache"))
    cast = Cast(STORY, tmp_path / "voices", "piper", {}, ReferenceStore(tmp_path / "checked"))
    records: list[dict[str, Any]] = []
    speaker = Speaker(cast, Fallback({"piper": engine}, ["piper"], print, 0), cache,
                      Output(NullSink(), 24000, -20.0, print), records.append, print, prefetch_depth=4).start()
    played: list[AudioChunk] = []
    real_play = speaker.output.play

    def play(chunk: AudioChunk) -> float:
        played.append(chunk)
        return real_play(chunk)

    speaker.output.play = play  # type: ignore[method-assign]
    line = lines("Hello there. General")[0]
    speaker.prefetch([line])
    engine.release.release()
    wait_until(lambda: engine.chunks == ["Hello there"])
    job = speaker.say(line)  # reached while prefetch is half-way
    wait_until(lambda: len(played) == 1)  # what was made is heard at once, before the rest exists
    assert engine.chunks == ["Hello there"]
    engine.release.release()
    assert job.done.wait(10)
    speaker.close(drain=True)
    assert engine.started == ["Hello there. General"] and len(played) == 2  # one synthesis only
    assert records[-1]["cache"] == "adopted" and records[-1]["prefetched"] is True


def test_shutdown_is_clean_mid_synthesis(tmp_path: Path) -> None:
    engine = SteppedEngine()
    prefetcher, _, _, _ = rig(tmp_path, engine)
    prefetcher.update(lines("Never finished. Really"))
    engine.release.release()
    wait_until(lambda: engine.chunks == ["Never finished"])
    engine.release.release()  # lets the worker reach its next cancellation check
    prefetcher.close()
    assert not any(thread.is_alive() for thread in prefetcher.threads)
    assert not list((tmp_path / "cache").rglob("*.wav")) and not list((tmp_path / "cache").rglob("*.tmp"))


def test_streamed_chunks_are_played_back_to_back(tmp_path: Path, piper: PiperEngine) -> None:
    text = "The stair turns downward. There is light down there. Golden light, like honey."
    voice = Cast(STORY, tmp_path, "piper", {}, ReferenceStore(tmp_path / "c")).voice_for("archaeologist")
    chunks = list(piper.synthesize(text, voice, LineSettings(speed=voice.speed)))
    output = Output(NullSink(), 24000, -20.0, print, Recording(tmp_path / "line.wav", 24000, 0.0))
    output.start_line()
    for chunk in chunks:  # as they come from a stream faster than real time
        output.play(chunk)
    output.close()
    expected = np.concatenate([to_int16(normalize(resample(c.samples, c.sample_rate, 24000), -20.0)) for c in chunks])
    recorded, _ = soundfile.read(tmp_path / "line.wav", dtype="int16")
    assert output.gaps == [] and np.array_equal(recorded, expected)  # no silence between chunks


def test_a_late_chunk_is_heard_as_a_gap(tmp_path: Path) -> None:
    output = Output(NullSink(), 24000, -20.0, print, Recording(tmp_path / "late.wav", 24000, 0.0))
    tone = AudioChunk((0.2 * np.sin(np.arange(2400) / 5)).astype(np.float32), 24000)  # 0.1 s
    output.start_line()
    output.play(tone)
    time.sleep(0.35)  # the next chunk comes 0.25 s after the first one ended
    output.play(tone)
    output.close()
    assert len(output.gaps) == 1 and 0.2 < output.gaps[0] < 0.6
    recorded, _ = soundfile.read(tmp_path / "late.wav", dtype="int16")
    silent = len(recorded) - 2 * 2400
    assert silent == int(output.gaps[0] * 24000)
    assert not recorded[2400:2400 + silent].any()


def test_the_opening_scene_is_prefetched_when_the_first_engine_is_offline(tmp_path: Path) -> None:
    """Prefetch falls back from an engine that fails (edge offline) as play does, so the opening scene,
    announced before any line has marked edge down, is prefetched all the same."""
    from plugins.voice.core.settings import EdgeSettings
    from plugins.voice.engines.edge import EdgeEngine
    from tests.support.voice import OFFLINE_EDGE

    piper = SteppedEngine(auto=True)
    edge = EdgeEngine(EdgeSettings(endpoint=OFFLINE_EDGE, connect_timeout=2, receive_timeout=2))
    notices: list[str] = []
    cache = AudioCache(CacheSettings(dir=tmp_path / "cache"))
    fallback = Fallback({"edge": edge, "piper": piper}, ["edge", "piper"], notices.append, 0)
    cast = Cast(STORY, tmp_path / "voices", "edge", {}, ReferenceStore(tmp_path / "checked"))
    prefetcher = Prefetcher(cast, fallback, cache, Gate(), line_key, depth=12).start()
    opening = STORY.scenes[STORY.start]
    spoken = [SpokenLine(x.line_id, x.scene_id, x.character_id, "", x.text, x.is_narration, "en") for x in opening.lines]
    prefetcher.update(spoken)
    wait_until(lambda: len(prefetcher.produced) == len({x.text for x in spoken}))
    prefetcher.close()
    for line in spoken:
        assert cache.contains(line_key(piper, cast.voice_for(line.character_id), line.text)), line.line_id
    assert notices == ["edge voice unavailable: cannot reach the speech service (ClientConnectorError). "
                       "Using the next engine."]  # once, like the speaker says it


def test_background_checks_wait_while_a_live_line_is_made_and_not_past_a_stop() -> None:
    gate = Gate()
    checked = threading.Event()
    stopping = threading.Event()
    with gate.urgent():  # the speaker synthesizes the line being heard

        def check() -> None:
            gate.wait_quiet(lambda: False)
            checked.set()

        checker = threading.Thread(target=check)
        checker.start()
        assert not checked.wait(0.3)  # a quality check does not start beside it
    assert checked.wait(10)
    with gate.urgent():
        stopped = threading.Thread(target=gate.wait_quiet, args=(stopping.is_set,))
        stopped.start()
        stopping.set()
        gate.wake()  # what Prefetcher.close does after setting its stopping flag
        stopped.join(10)
        assert not stopped.is_alive()
    checker.join(10)
