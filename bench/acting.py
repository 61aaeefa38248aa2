"""Acting directions with real Piper: how loud each emotion is heard, how much each effect removes, what it costs.

    .venv/bin/python bench/acting.py [--repeats N]

Each line goes through the output's loudness rule (what the player hears). Loudness: speech RMS in dBFS, against
the same text neutral. Bands: energy below 300 Hz and above 3.4 kHz, against the dry line at the same loudness.
Cost: synthesis + effects time over plain synthesis time of the same text, in the same run (a ratio).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from scipy.signal import welch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine import SpokenLine  # noqa: E402
from plugins.voice.core.acting import NEUTRAL, Acting, Directions  # noqa: E402
from plugins.voice.core.audio import normalize, resample, speech_rms  # noqa: E402
from plugins.voice.core.settings import PiperSettings  # noqa: E402
from plugins.voice.core.voice import LineSettings, Voice  # noqa: E402
from plugins.voice.engines.piper.engine import PiperEngine  # noqa: E402

TEXTS = ["Stay where you are, and do not move until I call.", "The lamp flickers and steadies in the cold air.",
         "Who is there? Show yourself, or I will come down."]
RATE = 24000


def acting(directions: tuple[str, ...] = (), qualifier: str = "") -> Acting:
    return Directions().of(SpokenLine("x", "s", "c", "C", "", False, "en", directions, qualifier))


def heard(piper: PiperEngine, text: str, how: Acting) -> tuple[np.ndarray, float]:
    """(what the output plays, seconds the engine took)."""
    voice = Voice("c", "c", "piper", "en", 1.0, 0, acting=how)
    started = time.perf_counter()
    chunks = list(piper.synthesize(text, voice, LineSettings()))
    took = time.perf_counter() - started
    played = [normalize(resample(c.samples, c.sample_rate, RATE), -20.0 + how.gain_db, how.gain_db > 0) for c in chunks]
    return np.concatenate(played), took


def band(samples: np.ndarray, low: float, high: float) -> float:
    freqs, power = welch(samples, RATE, nperseg=2048)
    return 10 * float(np.log10(power[(freqs >= low) & (freqs < high)].sum()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    piper = PiperEngine(PiperSettings(noise_scale=0.0, noise_w_scale=0.0))  # repeatable takes
    piper.prepare()
    rows = {"neutral": NEUTRAL, **{e: acting((d,)) for e, d in (("whisper", "whispering"), ("shout", "shouting"),
            ("angry", "angrily"), ("sad", "sadly"), ("afraid", "nervously"), ("calm", "calmly"))},
            **{f: acting(qualifier=q) for f, q in (("offscreen", "O.S."), ("radio", "radio"), ("phone", "phone"))}}
    results: dict[str, dict[str, list[float]]] = {name: {"db": [], "low": [], "high": [], "cost": [], "len": []}
                                                  for name in rows}
    for _ in range(args.repeats):
        for text in TEXTS:
            dry, plain = heard(piper, text, NEUTRAL)
            for name, how in rows.items():
                audio, took = heard(piper, text, how)
                cell = results[name]
                cell["db"].append(20 * np.log10(speech_rms(audio)) - 20 * np.log10(speech_rms(dry)))
                cell["low"].append(band(dry, 0, 300) - band(audio, 0, 300))
                cell["high"].append(band(dry, 3400, 12000) - band(audio, 3400, 12000))
                cell["cost"].append(took / plain)
                cell["len"].append(len(audio) / len(dry))
    print(f"Piper ({PiperSettings().default_voice}), {len(TEXTS)} lines x {args.repeats}; medians against the same "
          "text neutral, in the same run")
    print(f"{'acting':<10} {'loudness dB':>11} {'-dB <300 Hz':>11} {'-dB >3.4 kHz':>12} {'length x':>9} {'time x':>7}")
    for name, cell in results.items():
        med = {k: statistics.median(v) for k, v in cell.items()}
        print(f"{name:<10} {med['db']:>+11.1f} {med['low']:>11.1f} {med['high']:>12.1f} {med['len']:>9.2f} "
              f"{med['cost']:>7.2f}")


if __name__ == "__main__":
    main()
