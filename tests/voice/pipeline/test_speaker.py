"""The line pipeline: cache, fallback (visible, once), re-probing, skipping. Real Piper throughout."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile

from engine import SpokenLine, load_story
from plugins.voice.casting.cast import Cast
from plugins.voice.casting.references import ReferenceStore
from plugins.voice.core.audio import AudioChunk
from plugins.voice.core.errors import SynthesisFailed
from plugins.voice.core.settings import CacheSettings, EdgeSettings, XttsSettings
from plugins.voice.core.voice import LineSettings, Voice
from plugins.voice.engines.base import Engine, EngineBase
from plugins.voice.engines.edge import EdgeEngine
from plugins.voice.engines.piper.engine import PiperEngine
from plugins.voice.engines.xtts.engine import XttsEngine
from plugins.voice.output.playback import Output, Recording
from plugins.voice.output.sinks import NullSink
from plugins.voice.pipeline.fallback import Fallback
from plugins.voice.pipeline.speaker import Speaker
from plugins.voice.store.cache import AudioCache
from tests.support.common import TOMB, wait_until
from tests.support.edge_server import FakeEdgeServer, edge_url
from tests.support.net import free_port

STORY = load_story(TOMB)


def line(n: int, character_id: str = "guide", text: str = "This is the place. Nobody knocks after dark.") -> SpokenLine:
    return SpokenLine(f"test.{n}", "test", character_id, character_id.title(), text, False, "en")


class Counting(EngineBase):
    """Wraps a real engine and counts its syntheses; can fail after the first chunk."""

    def __init__(self, inner: Engine, fail_after_first: bool = False) -> None:
        self.inner = inner
        self.name = inner.name
        self.network, self.pausable, self.takes_vary = inner.network, inner.pausable, inner.takes_vary
        self.calls = 0
        self.fail_after_first = fail_after_first

    def missing(self) -> str | None:
        return self.inner.missing()

    def probe(self) -> str | None:
        return self.inner.probe()

    def prepare(self, voices: Sequence[Voice] = ()) -> None:
        self.inner.prepare(voices)

    def identity(self, voice: Voice) -> str:
        return self.inner.identity(voice)

    def synthesize(self, text: str, voice: Voice, settings: LineSettings) -> Iterator[AudioChunk]:
        self.calls += 1
        for index, chunk in enumerate(self.inner.synthesize(text, voice, settings)):
            yield chunk
            if self.fail_after_first and index == 0:
                raise SynthesisFailed(self.name, "injected failure half-way")


class Rig:
    def __init__(self, tmp_path: Path, engines: dict[str, Any], order: list[str], sink: Any = None,
                 reprobe: float = 0.0) -> None:
        self.notices: list[str] = []
        self.records: list[dict[str, Any]] = []
        self.recording_path = tmp_path / "heard.wav"
        self.output = Output(sink or NullSink(), 24000, -20.0, self.notices.append,
                             Recording(self.recording_path, 24000, 0.0))
        self.fallback = Fallback(engines, order, self.notices.append, reprobe)
        cast = Cast(STORY, tmp_path / "voices", order[0], {}, ReferenceStore(tmp_path / "checked"))
        self.speaker = Speaker(cast, self.fallback, AudioCache(CacheSettings(dir=tmp_path / "cache")), self.output,
                               self.records.append, self.notices.append).start()

    def speak(self, *lines: SpokenLine) -> list[dict[str, Any]]:
        jobs = [self.speaker.say(item) for item in lines]
        for job in jobs:
            assert job.done.wait(60)
        return self.records[-len(lines):]

    def heard(self) -> np.ndarray:
        self.speaker.close(drain=True)
        samples, _ = soundfile.read(self.recording_path, dtype="float32")
        return samples


@pytest.fixture
def make_rig(tmp_path: Path) -> Iterator[Callable[..., Rig]]:
    """Makes the test's Rig; one the test left running (a failed assertion) is closed here, threads joined."""
    made: list[Rig] = []

    def make(engines: dict[str, Any], order: list[str], sink: Any = None, reprobe: float = 0.0) -> Rig:
        made.append(Rig(tmp_path, engines, order, sink, reprobe))
        return made[-1]

    yield make
    for left in made:
        if left.speaker.thread.is_alive():
            left.speaker.close(drain=False)


def test_a_cache_hit_does_no_synthesis(make_rig: Callable[..., Rig], piper: PiperEngine) -> None:
    counting = Counting(piper)
    rig = make_rig({"piper": counting}, ["piper"])
    first = rig.speak(line(1))[0]
    second = rig.speak(line(2))[0]  # same character, same text: same audio
    assert (first["cache"], second["cache"], counting.calls) == ("miss", "hit", 1)
    assert rig.speak(line(3, "god"))[0]["cache"] == "miss" and counting.calls == 2  # another voice
    rig.speaker.close(drain=True)


def test_unavailable_engines_fall_back_visibly_once(tmp_path: Path, make_rig: Callable[..., Rig],
                                                    piper: PiperEngine) -> None:
    edge = EdgeEngine(EdgeSettings(endpoint="wss://speech.invalid/edge/v1?x=1"))
    engines = {"xtts": XttsEngine(XttsSettings(model_dir=tmp_path / "no-model")), "edge": edge, "piper": piper}
    rig = make_rig(engines, ["xtts", "edge", "piper"])
    records = rig.speak(line(1), line(2, text="Another line entirely."))
    assert [r["engine"] for r in records] == ["piper", "piper"]
    no_model = f"no XTTS model in {tmp_path / 'no-model'}; install one with 'engine models install xtts --from DIR'"
    assert records[0]["fallback"] == [{"engine": "xtts", "reason": no_model},
                                      {"engine": "edge", "reason": "offline (cannot resolve Microsoft's speech service)"}]
    assert [r["engine"] for r in records[1]["fallback"]] == ["xtts", "edge"]  # recorded per line
    assert len(rig.notices) == 2  # shown once per engine
    assert rig.notices[0].startswith("xtts voice unavailable: no XTTS model")
    assert rig.notices[1].startswith("edge voice unavailable: offline")
    rig.speaker.close(drain=True)


def test_a_line_that_fails_half_way_is_spoken_again(make_rig: Callable[..., Rig], piper: PiperEngine) -> None:
    flaky = Counting(PiperEngine(piper.settings), fail_after_first=True)
    flaky.name = "edge"  # stands in the edge slot of the chain
    rig = make_rig({"edge": flaky, "piper": piper}, ["edge", "piper"])
    text = "First sentence here. Second sentence there. Third one too."
    (record,) = rig.speak(line(1, text=text))
    assert record["engine"] == "piper"
    assert record["fallback"] == [{"engine": "edge", "reason": "injected failure half-way"}]
    heard = rig.heard()
    full = sum(c.seconds for c in piper.synthesize(text, rig.speaker.cast.voice_for("guide"), LineSettings(1.1)))
    # the player heard the failed engine's first sentence, then the whole line again
    assert len(heard) / 24000 > full * 1.2


def test_a_failed_engine_is_used_again_once_it_is_back(make_rig: Callable[..., Rig], piper: PiperEngine) -> None:
    port = free_port()
    edge = EdgeEngine(EdgeSettings(endpoint=edge_url(port), connect_timeout=1, receive_timeout=2))
    rig = make_rig({"edge": edge, "piper": piper}, ["edge", "piper"], reprobe=0.2)
    assert rig.speak(line(1))[0]["engine"] == "piper"
    server = FakeEdgeServer("ok", port=port)
    try:
        wait_until(lambda: "edge voice is ready." in rig.notices, 10, "edge back")
        assert rig.speak(line(2, text="Now the bridge is back."))[0]["engine"] == "edge"
    finally:
        rig.speaker.close(drain=True)
        server.close()


class PacedSink:
    """Plays in real time, like a sound card (none exists here); records what it played."""

    name = "paced"

    def __init__(self) -> None:
        self.played = 0
        self.stopped = threading.Event()

    def write(self, pcm: np.ndarray) -> None:
        self.stopped.clear()
        for start in range(0, len(pcm), 240):
            if self.stopped.wait(0.01):
                return
            self.played += len(pcm[start:start + 240])

    def drain(self) -> None:
        pass

    def stop(self) -> None:
        self.stopped.set()

    def close(self) -> None:
        pass


def test_skipping_cuts_the_line(make_rig: Callable[..., Rig], piper: PiperEngine) -> None:
    sink = PacedSink()
    rig = make_rig({"piper": piper}, ["piper"], sink=sink)
    job = rig.speaker.say(line(1, text="A long line. " * 6))
    wait_until(lambda: sink.played > 0, 30, "the first audio")
    rig.speaker.skip(job)
    assert job.done.wait(5)
    assert rig.records[-1]["skipped"] is True
    assert sink.played < 24000 * 2  # far less than the whole line
    rig.speaker.close(drain=False)


def test_re_probing_survives_a_probe_that_fails_half_way(make_rig: Callable[..., Rig], piper: PiperEngine) -> None:
    """A probe that raises (edge's "broke off in the middle of the line") must not end the re-probe thread:
    engines that dropped out must still come back."""
    server = FakeEdgeServer("disconnect")
    edge = EdgeEngine(EdgeSettings(endpoint=server.url, connect_timeout=1, receive_timeout=2))
    rig = make_rig({"edge": edge, "piper": piper}, ["edge", "piper"], reprobe=0.2)
    try:
        assert rig.speak(line(1))[0]["engine"] == "piper"
        time.sleep(1.0)  # several probes, each broken off half-way
        assert rig.speaker.fallback._thread is not None and rig.speaker.fallback._thread.is_alive()
        server.mode = "ok"
        wait_until(lambda: "edge voice is ready." in rig.notices, 10, "edge back")
        assert rig.speak(line(2, text="Back again, after it broke off."))[0]["engine"] == "edge"
    finally:
        rig.speaker.close(drain=True)
        server.close()
