"""The quality gate on a fixed set of takes made here (tests/support/quality_takes.py): correct lines
of Piper and Kokoro, and takes with a fault made on purpose (cut at 60%, words appended, another
character's voice, silence, noise). Prints, per fault kind, how many the gate caught (recall) and,
over all takes, how many of those it refused were really bad (precision); then the cost per line.

    .venv/bin/python bench/quality.py [--per-character N]
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

from plugins.voice.core.settings import KokoroSettings, QualitySettings, SpeechInputSettings  # noqa: E402
from plugins.voice.engines.kokoro import KokoroEngine  # noqa: E402
from plugins.voice.listening.transcriber import Transcriber  # noqa: E402
from plugins.voice.quality.gate import QualityGate  # noqa: E402
from plugins.voice.quality.references import ReferenceBook  # noqa: E402
from plugins.voice.quality.speakers import SpeakerModel  # noqa: E402
from tests.support.quality_takes import CAUGHT_BY, FAULTS, takes, tomb_cast  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-character", type=int, default=2, help="lines per character (the tomb has 5)")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-quality-"))
    cast, piper = tomb_cast(folder / "voices")
    kokoro = KokoroEngine(KokoroSettings(model_dir=folder / "no-kokoro"))
    transcriber = Transcriber(SpeechInputSettings(model_dir=folder / "no-whisper"))
    started = time.perf_counter()
    transcriber.load()
    speakers = SpeakerModel()
    gate = QualityGate(QualitySettings(), transcriber, speakers)
    book = ReferenceBook(speakers, lambda voice: cast.seed_text(voice.character_id))
    calibrations = {engine.name: book.calibration(engine, cast.voices()) for engine in (piper, kokoro)}
    setup = time.perf_counter() - started
    results = []
    for take in takes(cast, piper, kokoro, args.per_character):
        begun = time.perf_counter()
        verdict = gate.check(take.text, take.audio, take.character_id, calibrations[take.engine])
        results.append((take, verdict, (time.perf_counter() - begun) * 1000))
    print(f"quality gate on {len(results)} takes of the tomb ({args.per_character} line(s) per character), "
          f"models loaded and voices calibrated on Piper and Kokoro in {setup:.1f} s")
    print(f"{'kind':<12} {'takes':>5} {'refused':>8} {'by its check':>13}")
    for kind in ("ok", *FAULTS):
        found = [(t, v) for t, v, _ in results if t.kind == kind]
        refused = [v for _, v in found if not v.passed]
        right = [v for v in refused if kind == "ok" or {f.split(":")[0] for f in v.faults} & set(CAUGHT_BY[kind])]
        label = "false refusals" if kind == "ok" else "recall"
        print(f"{kind:<12} {len(found):>5} {len(refused):>8} {len(right):>13}   {label} {len(refused) / len(found):.2f}"
              if found else f"{kind:<12} 0")
    bad_refused = sum(1 for t, v, _ in results if t.kind != "ok" and not v.passed)
    refused_all = sum(1 for _, v, _ in results if not v.passed)
    bad = sum(1 for t, _, _ in results if t.kind != "ok")
    print(f"precision {bad_refused / max(1, refused_all):.2f} (refused takes that were bad), "
          f"recall {bad_refused / max(1, bad):.2f} (bad takes refused)")
    costs = [ms for _, _, ms in results]
    speech = [ms for t, _, ms in results if t.kind in ("ok", "cut", "appended", "other_voice")]
    print(f"cost per line: median {statistics.median(speech):.0f} ms on spoken takes "
          f"(seconds of audio: median {statistics.median(t.audio.seconds for t, _, _ in results):.1f}), "
          f"{statistics.median(costs):.0f} ms over all; Whisper tiny.en int8 + resemblyzer on this machine's CPU")


if __name__ == "__main__":
    main()
