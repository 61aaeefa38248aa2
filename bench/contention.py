"""Engines at once on this machine's cores: how much does their threads' spin-waiting slow the others?

    .venv/bin/python bench/contention.py [--seconds 40]
    .venv/bin/python bench/contention.py --pocket [--seconds 30]   (Pocket TTS at full size beside Kokoro and Piper)

Piper and Kokoro run on onnxruntime, whose worker threads spin for a while after each operator waiting
for more work (`session.intra_op.allow_spinning`); XTTS runs on torch's OpenMP threads, which spin too
(`OMP_WAIT_POLICY`, GOMP_SPINCOUNT). Alone on a machine spinning saves a thread's wake-up; beside other
engines it burns the time they need. Each row is a fresh process (an OpenMP runtime reads its environment
once): XTTS (the tiny test checkpoint), Kokoro and Piper each alone, then all three at once (one thread
each, lines back to back for --seconds). The engines load as in play, so their defaults (nothing spins:
plugins/voice/__init__.py, engines/onnx.py) are what a row turns back on ("unset": OpenMP's own default).
Figure: each engine's real-time factor (seconds to make a second of audio; median of its lines), and the
row's against "all, spinning" (a ratio).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

LINES = ["The door is sealed with wax, and nobody has opened it for a thousand years.",
         "Who walks so softly in my house? Speak, or be silent forever.",
         "I counted forty steps to get here, friend, and every one of them was cold."]
ALL = ["xtts", "kokoro", "piper"]
PASSIVE = {"OMP_WAIT_POLICY": "PASSIVE"}
SHORT_SPIN = {"OMP_WAIT_POLICY": "unset", "GOMP_SPINCOUNT": "20000"}  # spin a little, then sleep
ROWS = {  # name: (engines, onnxruntime spinning, OpenMP's environment)
    "xtts alone, spinning": (["xtts"], True, {"OMP_WAIT_POLICY": "unset"}), "xtts alone": (["xtts"], False, PASSIVE),
    "xtts alone, short spin": (["xtts"], False, SHORT_SPIN),
    "kokoro alone, spinning": (["kokoro"], True, {}), "kokoro alone": (["kokoro"], False, PASSIVE),
    "piper alone": (["piper"], False, PASSIVE), "all, spinning": (ALL, True, {"OMP_WAIT_POLICY": "unset"}),
    "all, onnxruntime not spinning": (ALL, False, {"OMP_WAIT_POLICY": "unset"}),
    "all, OpenMP short spin": (ALL, False, SHORT_SPIN), "all, nothing spinning (ours)": (ALL, False, PASSIVE),
}
POCKET_ALL = ["pocket", "kokoro", "piper"]
POCKET_ROWS = {  # Pocket TTS (full size, random weights) in XTTS's place
    "pocket alone": (["pocket"], False, PASSIVE), "kokoro alone": (["kokoro"], False, PASSIVE),
    "piper alone": (["piper"], False, PASSIVE), "all, spinning": (POCKET_ALL, True, {"OMP_WAIT_POLICY": "unset"}),
    "all, nothing spinning (ours)": (POCKET_ALL, False, PASSIVE),
}


def engines(names: list[str], spinning: bool, work: Path) -> dict[str, Any]:
    from plugins.voice.core.settings import KokoroSettings, PiperSettings, XttsSettings
    from plugins.voice.engines.kokoro import KokoroEngine
    from plugins.voice.engines.piper.engine import PiperEngine

    made: dict[str, Any] = {}
    if "xtts" in names:
        from plugins.voice.engines.xtts.engine import XttsEngine

        made["xtts"] = XttsEngine(XttsSettings(model_dir=work / "xtts_v2", latents_dir=work / "latents",
                                               while_loading="wait"))
    if "pocket" in names:
        from plugins.voice.core.settings import PocketSettings
        from plugins.voice.engines.pocket.engine import PocketEngine

        made["pocket"] = PocketEngine(PocketSettings(model_dir=work / "pocket", states_dir=work / "pocket-states",
                                                     max_frames_per_word=5.0, eos_threshold=1e9))  # 400 ms a word
    if "kokoro" in names:
        made["kokoro"] = KokoroEngine(KokoroSettings())
    if "piper" in names:
        made["piper"] = PiperEngine(PiperSettings())
    if spinning:
        _spinning()
    return made


def _spinning() -> None:
    """Every onnxruntime session made from now on spins as onnxruntime does by default (the engines load lazily)."""
    import onnxruntime

    original = onnxruntime.SessionOptions.add_session_config_entry

    def add(self: Any, key: str, value: str) -> None:
        original(self, key, "1" if key == "session.intra_op.allow_spinning" else value)

    onnxruntime.SessionOptions.add_session_config_entry = add  # type: ignore[method-assign]


def child(row: str, seconds: float, work: Path) -> dict[str, float]:
    import plugins.voice  # noqa: F401 - its default for OpenMP first, then the row's, before torch loads

    if os.environ.get("OMP_WAIT_POLICY") == "unset":
        del os.environ["OMP_WAIT_POLICY"]
    from bench.xtts import reference
    from plugins.voice.core.voice import LineSettings, Voice

    names, spinning, _ = (POCKET_ROWS if os.environ.get("BENCH_ROWS") == "pocket" else ROWS)[row]
    made = engines(names, spinning, work)
    ref, ref_hash = reference(work)
    voices = {name: Voice(name, name, name, "en", 1.0, 0, {}, (ref,), ref_hash) for name in made}
    for name, engine in made.items():  # loaded and warm before the clock starts
        engine.prepare([voices[name]])
        list(engine.synthesize(LINES[0], voices[name], LineSettings()))
    rtfs: dict[str, list[float]] = {name: [] for name in made}
    stop = threading.Event()

    def loop(name: str) -> None:
        index = 0
        while not stop.is_set():
            started = time.monotonic()
            audio = sum(chunk.seconds for chunk in made[name].synthesize(LINES[index % 3], voices[name], LineSettings()))
            rtfs[name].append((time.monotonic() - started) / audio)
            index += 1

    threads = [threading.Thread(target=loop, args=(name,)) for name in made]
    for thread in threads:
        thread.start()
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join()
    for engine in made.values():
        engine.close()
    return {name: statistics.median(found) for name, found in rtfs.items() if found}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=40.0)
    parser.add_argument("--pocket", action="store_true", help="Pocket TTS at full size in XTTS's place")
    parser.add_argument("--row", help=argparse.SUPPRESS)
    parser.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.row:
        print(json.dumps(child(args.row, args.seconds, args.work)))
        return
    from plugins.voice.engines.models import XTTS, install
    from tests.support.tiny_xtts import build_tiny_xtts

    work = Path(tempfile.mkdtemp(prefix="bench-contention-"))
    rows, columns = (POCKET_ROWS, POCKET_ALL) if args.pocket else (ROWS, ALL)
    if args.pocket:
        from plugins.voice.engines.pocket.install import install_pocket
        from tests.support.pocket_model import make_pocket_model

        install_pocket(make_pocket_model(work / "pocket-download", tiny=False), work / "pocket" / "en", "en")
    else:
        install(XTTS, build_tiny_xtts(), work / "xtts_v2")
    found: dict[str, dict[str, float]] = {}
    for row, (_, _, omp) in rows.items():
        env = {**os.environ, **omp, "BENCH_ROWS": "pocket" if args.pocket else "xtts"}
        done = subprocess.run([sys.executable, __file__, "--row", row, "--seconds", str(args.seconds), "--work",
                               str(work)], env=env, capture_output=True, text=True, check=True)
        found[row] = json.loads(done.stdout.strip().splitlines()[-1])
    print(f"{os.cpu_count()} cores, {args.seconds:.0f} s a row; real-time factor (median), and / 'all, spinning'\n")
    print(f"| row | {' | '.join(columns)} |")
    print("|---|---|---|---|")
    base = found["all, spinning"]
    for row, figures in found.items():
        cells = [f"{figures[n]:.3f} ({figures[n] / base[n]:.2f}x)" if n in figures else "" for n in columns]
        print(f"| {row} | {' | '.join(cells)} |")


if __name__ == "__main__":
    main()
