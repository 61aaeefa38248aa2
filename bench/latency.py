"""Line event -> first audio, against the floor of each path, measured in one run.

    .venv/bin/python bench/latency.py [--lines N]

Cache hit: our pipeline vs reading the same cached WAV and handing it to the sink.
Cold Piper line: our pipeline (cache miss) vs calling Piper directly for its first chunk.
The sink is simpleaudio on an ALSA null device (set up here), so opening the sound
device is counted on both sides.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_HOME = tempfile.mkdtemp(prefix="bench-alsa-")
Path(_HOME, ".asoundrc").write_text('pcm.!default { type null }\n')
os.environ["HOME"] = _HOME  # before ALSA is first used
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import soundfile  # noqa: E402

from engine import SpokenLine, load_story  # noqa: E402
from plugins.voice.casting.cast import Cast  # noqa: E402
from plugins.voice.casting.references import ReferenceStore  # noqa: E402
from plugins.voice.core.audio import normalize, resample, to_int16  # noqa: E402
from plugins.voice.core.settings import CacheSettings, PiperSettings  # noqa: E402
from plugins.voice.engines.base import LineSettings  # noqa: E402
from plugins.voice.engines.piper.engine import PiperEngine  # noqa: E402
from plugins.voice.output.playback import Output  # noqa: E402
from plugins.voice.output.sinks import open_sink  # noqa: E402
from plugins.voice.pipeline.fallback import Fallback  # noqa: E402
from plugins.voice.pipeline.speaker import Speaker  # noqa: E402
from plugins.voice.store.cache import AudioCache  # noqa: E402
from plugins.voice.store.keys import line_key  # noqa: E402


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q))


def row(name: str, ours: list[float], floor: list[float]) -> str:
    m_ours, m_floor = statistics.median(ours), statistics.median(floor)
    return (f"| {name} | {m_ours:.1f} | {pct(ours, 95):.1f} | {m_floor:.1f} | {pct(floor, 95):.1f} "
            f"| {m_ours / m_floor:.3f} |")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=30)
    args = parser.parse_args()

    story = load_story(ROOT / "stories" / "tomb")
    lines = story.all_lines()[: args.lines]
    cache_dir = Path(tempfile.mkdtemp(prefix="bench-cache-"))
    piper = PiperEngine(PiperSettings(voices_dir=ROOT / "voices" / "piper"))
    piper.prepare()
    cast = Cast(story, ROOT / "voices", "piper", {}, ReferenceStore(cache_dir / "checked"))
    records: list[dict] = []
    output = Output(open_sink("simpleaudio", 24000), 24000, -20.0, print)
    speaker = Speaker(cast, Fallback({"piper": piper}, ["piper"], print, 0), AudioCache(CacheSettings(cache_dir)),
                      output, records.append, print).start()

    def spoken(index: int, line) -> SpokenLine:
        return SpokenLine(f"b{index}", line.scene_id, line.character_id, "x", line.text, line.is_narration, "en")

    def say(item: SpokenLine) -> float:
        speaker.say(item).done.wait()
        return float(records[-1]["first_audio_ms"])

    direct, cold, hits, floor = [], [], [], []
    for index, line in enumerate(lines):
        voice = cast.voice_for(line.character_id)
        started = time.monotonic()
        next(iter(piper.synthesize(line.text, voice, LineSettings(voice.speed, voice.language))))
        direct.append((time.monotonic() - started) * 1000)
        cold.append(say(spoken(index, line)))  # empty cache: a miss
        hits.append(say(spoken(index, line)))  # now cached
        entry = next(cache_dir.glob(f"??/{line_key(piper, voice, line.text)}.*.wav"))
        sink = open_sink("simpleaudio", 24000)
        started = time.monotonic()
        samples, rate = soundfile.read(entry, dtype="float32")
        sink.write(to_int16(normalize(resample(samples, rate, 24000), -20.0)))
        floor.append((time.monotonic() - started) * 1000)
        sink.stop()
    speaker.close(drain=False)

    print(f"{len(lines)} lines of stories/tomb, Piper {PiperSettings().default_voice}, {os.cpu_count()} CPUs\n")
    print("| path | ours median ms | ours p95 ms | baseline median ms | baseline p95 ms | ratio |")
    print("|---|---|---|---|---|---|")
    print(row("cache hit vs read WAV + open sink", hits, floor))
    print(row("cold Piper line vs Piper's first chunk", cold, direct))


if __name__ == "__main__":
    main()
