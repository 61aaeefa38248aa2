"""When a slow engine's line may start (plugins/voice/pipeline/head_start.py): the rule, played out on
streams made at a known pace, and a real Kokoro held back by a speaker. The whole game with a throttled
XTTS is tests/voice/pipeline/test_slow_engine.py (the tiny XTTS's lines are a second long whatever their text, so
it cannot show a line started before it is whole)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from engine import SpokenLine, load_story
from plugins.voice.casting.cast import Cast
from plugins.voice.casting.references import ReferenceStore
from plugins.voice.core.audio import AudioChunk
from plugins.voice.core.settings import CacheSettings, KokoroSettings
from plugins.voice.engines.kokoro import KokoroEngine
from plugins.voice.engines.piper.engine import PiperEngine
from plugins.voice.output.playback import Output
from plugins.voice.output.sinks import NullSink
from plugins.voice.pipeline.fallback import Fallback
from plugins.voice.pipeline.head_start import HeadStart, SpeechLength, may_start
from plugins.voice.pipeline.speaker import Speaker
from plugins.voice.store.cache import AudioCache
from tests.support.common import TOMB

RATE = 24000


def chunk(seconds: float) -> AudioChunk:
    return AudioChunk(np.zeros(int(seconds * RATE), dtype=np.float32), RATE)


def xtts_like(length: float) -> list[float]:
    """Chunk lengths as our XTTS loop makes them: 10 audio tokens first, then 20 (0.93 s), the rest last."""
    sizes: list[float] = []
    made = 0.0
    while made < length - 1e-9:
        size = min(0.465 if not sizes else 0.93, length - made)
        sizes.append(size)
        made += size
    return sizes


def played(sizes: list[float], rate: float, assumed_rate: float, expected: float) -> tuple[float, float]:
    """A stream whose chunk k is whole `rate` seconds per second of audio after the request; the line starts
    at the first chunk `may_start` allows. Returns (wait before the line, longest silence inside it)."""
    made_at, made = [], 0.0
    for size in sizes:
        made += size
        made_at.append(rate * made)
    start = next(k for k in range(len(sizes))
                 if k == len(sizes) - 1 or may_start(assumed_rate, sum(sizes[:k + 1]), expected, max(sizes[:k + 1])))
    clock, silence = made_at[start], 0.0
    clock += sum(sizes[:start + 1])
    for k in range(start + 1, len(sizes)):
        silence = max(silence, made_at[k] - clock)
        clock = max(clock, made_at[k]) + sizes[k]
    return made_at[start], silence


@pytest.mark.parametrize("rate", [1.05, 1.2, 1.5, 2.0, 3.0, 4.0])
@pytest.mark.parametrize("error", [-0.2, 0.0, 0.2])
def test_a_line_starts_before_it_is_whole_and_never_runs_dry(rate: float, error: float) -> None:
    """Lines of 2 to 12 s, paced exactly as measured, up to 20% longer or shorter than expected."""
    for length in (2.0, 4.0, 8.0, 12.0):
        sizes = xtts_like(length * (1 + error))
        wait, silence = played(sizes, rate, rate, expected=length)
        assert silence == 0.0, (length, sizes)
        whole = rate * sum(sizes)
        assert wait <= whole
        if error == 0.0 and length >= 4.0 and rate <= 2.0:  # the point: a shorter wait than the whole line's
            assert wait < (0.6 if rate <= 1.2 else 0.85) * whole, (rate, length, wait, whole)


def test_the_pace_margin_covers_a_line_made_ten_percent_slower_than_measured() -> None:
    for length in (4.0, 8.0):
        wait, silence = played(xtts_like(length), 1.2 * 1.1, 1.2, expected=length)
        assert silence == 0.0
        assert wait < 1.32 * length


def test_a_line_twice_as_long_as_expected_may_pause_for_less_than_a_chunk_takes_to_make() -> None:
    """The length is a guess from the engine's last lines: twice as long is not covered."""
    for rate in (1.5, 2.0, 3.0):
        wait, silence = played(xtts_like(8.0), rate, rate, expected=4.0)
        assert silence < rate * 0.93, rate
        assert (silence > 0.0) == (rate >= 2.0)  # not covered where the pace is far from speech's
        assert wait < rate * 8.0


def test_an_engine_faster_than_speech_starts_at_its_first_chunk() -> None:
    assert may_start(0.8, 0.465, 4.0, 0.465)
    assert not may_start(1.2, 0.465, 4.0, 0.465)
    assert may_start(2.0, 4.0, 1.0, 0.93)  # four times as long as expected, guessed 5 s: the last 1 s made in 2.2
    assert not may_start(2.0, 1.0, 1.0, 0.93)


def test_head_start_follows_chunks_and_takes_the_slower_of_measured_and_seen_pace() -> None:
    start = HeadStart(measured_rate=1.2, expected=4.0)
    held = [chunk(0.465)]
    assert not start.ready(held)
    held += [chunk(0.93), chunk(0.93)]  # came at once (made ahead by prefetch): the measured pace decides
    assert start.ready(held)
    slow = HeadStart(measured_rate=1.2, expected=4.0)
    held = [chunk(0.465)]
    slow.ready(held)
    slow.first_at -= 100.0  # this line's own chunks came far slower than measured
    assert not slow.ready(held + [chunk(0.93), chunk(0.93)])


def test_speech_length_learns_seconds_per_character_per_engine() -> None:
    lengths = SpeechLength()
    default = lengths.expect("xtts", "x" * 100)
    assert 5.0 < default < 10.0  # about 13 characters a second before anything is known
    lengths.learn("xtts", "a" * 50, 5.0)
    lengths.learn("xtts", "b" * 150, 11.0)
    lengths.learn("xtts", "  ", 3.0)  # nothing to learn from
    assert lengths.expect("xtts", "c" * 100) == pytest.approx(8.0)
    assert lengths.expect("kokoro", "x" * 100) == pytest.approx(default)


def test_a_kokoro_twice_slower_than_speech_starts_a_long_line_before_it_is_whole_and_never_pauses(
        tmp_path: Path, piper: PiperEngine) -> None:
    """Real Kokoro, each model call (a sentence) taking twice its audio's length however busy the machine is
    (it waits out the rest of that time), so its measured pace is 2. Its first line is held by its slow first
    chunk (Kokoro has measured nothing yet) and teaches the speaker Kokoro's pace and length; the second, of
    seven sentences, is held back and plays without a pause. On a quiet machine it starts before its last
    sentence is made (6.8 s of 8.2 in hand); on a loaded one Kokoro's own calls can pass ~2.5x their audio,
    and then the rule holds it whole (a fresh-clone CI run did), so how much it holds is not asserted here:
    tests above play the rule out on exact streams."""
    records = spoken_by_kokoro(tmp_path, piper, [(2.0, " ".join(STEPS[:3])), (2.0, " ".join(STEPS))])
    first, second = [r for r in records if r["event"] == "voice"]
    assert first["engine"] == "kokoro" and first["held"] and first["gaps_ms_max"] == 0, first  # by its first chunk
    assert second["engine"] == "kokoro" and second["held"] and second["gaps_ms_max"] == 0, second
    assert 0 < second["held_s"] <= second["seconds"], second


def test_a_line_whose_first_chunk_comes_slowly_is_held_though_its_engine_was_fast_so_far(
        tmp_path: Path, piper: PiperEngine) -> None:
    """Real Kokoro, which made its last lines at half their length (set: this machine's load would decide it
    otherwise); then the CPU gets busy: each call of the next line takes three times its audio's length.
    Kokoro is not judged slow on its past, but that line's first sentence came 3x slower than it plays, so the
    line is held at Kokoro's pace until a second sentence shows its own, and plays without a pause (streamed, it
    would fall silent for ~1.8 s after each sentence)."""
    records = spoken_by_kokoro(tmp_path, piper, [(3.0, " ".join(STEPS[:4]))], past=0.5)
    busy = next(r for r in records if r["event"] == "voice")
    assert not any(r["event"] == "slow_engine" for r in records), records
    assert busy["engine"] == "kokoro" and busy["held"] and busy["gaps_ms_max"] == 0, busy


def test_the_first_chunk_holds_a_line_clearly_slower_than_speech_from_an_engine_paced_by_this_machine(
        piper: PiperEngine) -> None:
    from plugins.voice.pipeline.line_play import LinePlay
    from plugins.voice.pipeline.pace import Pace

    class Measured:
        name = "kokoro"

        def __init__(self, found: tuple[float, int] | None, network: bool = False) -> None:
            self.found = found
            self.network = network

        def measured_rtf(self) -> tuple[float, int] | None:
            return self.found

    fallback = Fallback({"piper": piper}, ["piper"], lambda text: None, 0)

    def held(found: tuple[float, int] | None, took: float | None, mode: str = "adapt",
             network: bool = False) -> float | None:
        play = LinePlay(None, None, None, None, Pace(fallback, lambda text: None, lambda record: None, mode), None)  # type: ignore[arg-type]
        return play.held_rate(Measured(found, network), chunk(1.0), took)  # type: ignore[arg-type]

    assert held((0.5, 3), 1.6) == 1.0 and held((1.2, 2), 2.0) == 1.2  # held at its measured pace, at least 1
    assert held((0.5, 3), 1.4) is None and held((0.5, 3), None) is None  # quick enough; a chunk prefetch made
    assert held(None, 3.0) == 1.0 and held(None, 1.2) == 1.0  # a local engine that has not measured itself yet:
    assert held(None, 0.9) is None  # its first chunk, made slower than speech, is all there is to go by
    assert held(None, 3.0, network=True) is None and held((1.2, 1), 3.0, network=True) == 1.2  # edge; the bridge
    assert held((0.5, 3), 3.0, "stream") is None  # streams anyway
    assert held((2.0, 3), 0.1) == 2.0  # judged slow: held whatever its first chunk took


STEPS = ["Go north.", "Go east.", "Go south.", "Go west.", "Go up.", "Go down.", "Stop here."]  # a chunk each


def spoken_by_kokoro(tmp_path: Path, piper: PiperEngine, lines: list[tuple[float, str]],
                     past: float | None = None) -> list[dict[str, Any]]:
    """Speaks lines with real Kokoro through a speaker, each as (pace, text): every model call for that line
    takes `pace` times its audio's length (it waits out the rest of that time). `past`: the real-time factor
    Kokoro measured on its last lines before these."""
    engine = KokoroEngine(KokoroSettings(model_dir=tmp_path / "no-kokoro-installed"))
    engine.prepare()
    for _ in range(3 if past is not None else 0):
        engine.speeds.add(past or 0.0, 1.0)
    real = engine.model.create
    pace = [0.0]

    def paced(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        samples, rate = real(*args, **kwargs)
        time.sleep(max(0.0, pace[0] * len(samples) / rate - (time.perf_counter() - started)))
        return samples, rate

    engine.model.create = paced
    records: list[dict[str, Any]] = []
    fallback = Fallback({"kokoro": engine, "piper": piper}, ["kokoro", "piper"], lambda text: None, 0)
    cast = Cast(load_story(TOMB), tmp_path, "kokoro", {}, ReferenceStore(tmp_path / "checked"))
    speaker = Speaker(cast, fallback, AudioCache(CacheSettings(tmp_path / "c")),
                      Output(NullSink(), 24000, -20.0, lambda text: None), records.append, lambda text: None).start()
    try:
        for n, (pace[0], text) in enumerate(lines):
            assert speaker.say(SpokenLine(f"l.{n}", "s", "god", "God", text, False, "en")).done.wait(120)
    finally:
        speaker.close(drain=True)
        engine.close()
    return records
