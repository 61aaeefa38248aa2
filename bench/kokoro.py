"""Kokoro against Piper on the same tomb lines, and our Kokoro engine against calling kokoro-onnx directly.

    .venv/bin/python bench/kokoro.py [--lines N]

Real-time factor = synthesis seconds / audio seconds (below 1: faster than it plays).
First audio = time to the first chunk of a line (our engine yields one chunk per sentence).
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

from engine import load_story  # noqa: E402
from plugins.voice.casting.cast import Voice  # noqa: E402
from plugins.voice.core.settings import KokoroSettings, PiperSettings  # noqa: E402
from plugins.voice.engines.base import Engine, LineSettings  # noqa: E402
from plugins.voice.engines.kokoro import KokoroEngine  # noqa: E402
from plugins.voice.engines.piper.engine import PiperEngine  # noqa: E402


def measure(engine: Engine, texts: list[str]) -> tuple[list[float], list[float]]:
    """(real-time factors, first-chunk milliseconds), one per line."""
    rtfs, firsts = [], []
    voice = Voice("narrator", "narrator", engine.name, "en", 1.0, 0)
    for text in texts:
        started = time.perf_counter()
        first, seconds = None, 0.0
        for chunk in engine.synthesize(text, voice, LineSettings()):
            first = first or time.perf_counter() - started
            seconds += chunk.seconds
        rtfs.append((time.perf_counter() - started) / seconds)
        firsts.append((first or 0.0) * 1000)
    return rtfs, firsts


def direct(model: object, texts: list[str]) -> list[float]:
    """kokoro-onnx's own create() on the whole line: the floor our engine adds to."""
    rtfs = []
    for text in texts:
        started = time.perf_counter()
        samples, rate = model.create(text, voice="jf_alpha", lang="en-us")  # type: ignore[attr-defined]
        rtfs.append((time.perf_counter() - started) / (len(samples) / rate))
    return rtfs


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=20)
    args = parser.parse_args()
    texts = [line.text for line in load_story(ROOT / "stories" / "tomb").all_lines()[: args.lines]]

    started = time.perf_counter()
    kokoro = KokoroEngine(KokoroSettings(model_dir=Path(tempfile.mkdtemp())))  # the bundled model
    kokoro.prepare()
    load = time.perf_counter() - started
    piper = PiperEngine(PiperSettings())
    piper.prepare()
    for engine in (kokoro, piper):  # warm-up
        measure(engine, texts[:1])

    k_rtf, k_first = measure(kokoro, texts)
    p_rtf, p_first = measure(piper, texts)
    raw = direct(kokoro.model, texts)
    words = statistics.median(len(t.split()) for t in texts)
    print(f"{len(texts)} tomb lines (median {words:.0f} words); Kokoro load incl. SHA-256 check: {load:.2f} s\n")
    print("| engine | RTF median | RTF p90 | first audio median (ms) | first audio p90 (ms) |")
    print("|---|---|---|---|---|")
    for name, rtf, first in (("kokoro (ours)", k_rtf, k_first), ("piper (ours)", p_rtf, p_first)):
        q = statistics.quantiles
        print(f"| {name} | {statistics.median(rtf):.3f} | {q(rtf, n=10)[-1]:.3f} | {statistics.median(first):.0f} "
              f"| {q(first, n=10)[-1]:.0f} |")
    print(f"| kokoro-onnx create() directly | {statistics.median(raw):.3f} | {statistics.quantiles(raw, n=10)[-1]:.3f}"
          " | (whole line) | |")
    print(f"\nKokoro / Piper RTF: {statistics.median(k_rtf) / statistics.median(p_rtf):.2f}; "
          f"ours / direct kokoro-onnx RTF: {statistics.median(k_rtf) / statistics.median(raw):.2f}")


if __name__ == "__main__":
    main()
