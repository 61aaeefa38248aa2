"""Transcription time per spoken answer: our Transcriber against calling faster-whisper directly.

    .venv/bin/python bench/speech_input.py [--rounds N]

The answers are the tomb's choices said by our own TTS (Piper and Kokoro), as in the tests.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from engine.choosing import match_choice  # noqa: E402
from engine.core.model import ChoiceOption  # noqa: E402
from plugins.voice.casting.cast import Voice  # noqa: E402
from plugins.voice.core.audio import AudioChunk, concat, resample  # noqa: E402
from plugins.voice.core.settings import KokoroSettings, PiperSettings, SpeechInputSettings  # noqa: E402
from plugins.voice.engines.base import Engine, LineSettings  # noqa: E402
from plugins.voice.engines.kokoro import KokoroEngine  # noqa: E402
from plugins.voice.engines.piper.engine import PiperEngine  # noqa: E402
from plugins.voice.listening.transcriber import RATE, Transcriber  # noqa: E402

# (what is said, the choices offered, the number it should pick)
ANSWERS = [
    ("Go in now.", ["Go in now, before the light is gone", "Make camp and wait for dawn"], 1),
    ("Number two.", ["Cut through the seal with the chisel", "Look for another way in"], 2),
    ("Take the golden scarab.", ["Take the golden scarab", "Read the writing on the pillars", "Follow the footprints"], 1),
    ("The second one.", ["Follow the footprints", "Go straight down the stairs"], 2),
    ("Turn back and run.", ["Go down into the light", "Turn back and run"], 2),
    ("Tell him the truth.", ["Tell him the truth: you came to learn", "Tell him you came for treasure"], 1),
]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    engines: list[Engine] = [PiperEngine(PiperSettings(noise_scale=0.0, noise_w_scale=0.0)),
               KokoroEngine(KokoroSettings(model_dir=Path(tempfile.mkdtemp())))]
    clips: list[tuple[str, str, AudioChunk, list[str], int]] = []
    for engine in engines:
        voice = Voice("player", "player", engine.name, "en", 1.0, 0, {"kokoro": "jm_kumo"})
        for text, labels, number in ANSWERS:
            clips.append((engine.name, text, concat(list(engine.synthesize(text, voice, LineSettings()))), labels, number))

    started = time.perf_counter()
    transcriber = Transcriber(SpeechInputSettings(model_dir=Path(tempfile.mkdtemp())))  # the bundled tiny.en
    transcriber.load()
    load = time.perf_counter() - started
    model = transcriber.model
    ours: list[float] = []
    raw: list[float] = []
    right = 0
    for round_ in range(args.rounds + 1):  # round 0 warms up
        for _, _, audio, labels, number in clips:
            t0 = time.perf_counter()
            heard = transcriber.transcribe(audio.samples, audio.sample_rate)
            t1 = time.perf_counter()
            samples = resample(audio.samples, audio.sample_rate, RATE)
            segments, _ = model.transcribe(np.asarray(samples), language="en", beam_size=5, vad_filter=True,
                                           condition_on_previous_text=False)
            " ".join(s.text for s in segments)
            t2 = time.perf_counter()
            if round_:
                ours.append((t1 - t0) * 1000)
                raw.append((t2 - t1) * 1000)
            elif [o.number for o in match_choice(heard, [ChoiceOption(n, label, "x") for n, label in
                                                         enumerate(labels, start=1)])] == [number]:
                right += 1
    seconds = statistics.median(c[2].seconds for c in clips)
    print(f"{len(clips)} answers (Piper and Kokoro, median {seconds:.1f} s of speech), {args.rounds} rounds; "
          f"Whisper tiny.en int8 load incl. SHA-256 check: {load:.2f} s; matched to the right choice: "
          f"{right}/{len(clips)}\n")
    print("| transcription per answer | median (ms) | p90 (ms) |")
    print("|---|---|---|")
    for name, values in (("ours (Transcriber)", ours), ("faster-whisper directly", raw)):
        print(f"| {name} | {statistics.median(values):.0f} | {statistics.quantiles(values, n=10)[-1]:.0f} |")
    print(f"\nours / direct: {statistics.median(ours) / statistics.median(raw):.2f}")


if __name__ == "__main__":
    main()
