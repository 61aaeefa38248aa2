"""Pocket TTS at its released sizes (random weights) on this CPU, beside XTTS's fastest CPU path and coqui's
`inference_stream`, in one run, each path in its own process (its own peak RSS):

    .venv/bin/python bench/pocket.py                   (every row: ~6 minutes on 2 cores, XTTS's rows included)
    .venv/bin/python bench/pocket.py --no-xtts         (Pocket's rows only)

Random weights never end a line by themselves, so each line gets 5 frames (400 ms) a word, what speech at
~2.5 words a second takes. Rows: the engine's default (int8 linear layers in the flow LM), fp32, and the
smaller English models (18 M, 7 M and 2 M parameters), each through the engine's own loading (loading.build:
verified files, weights taken as read) and streaming loop (stream.speak). First audio is from the line's start
(its voice's prompt state already made, as in a game) to its first chunk. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

FRAMES_PER_WORD = 5
ROWS = {  # name: (package config, int8)
    "pocket int8": ("english", True),
    "pocket int8 (1 thread)": ("english", True),
    "pocket fp32": ("english", False),
    "pocket 18M int8": ("english_18m_2026-10", True),
    "pocket 7M int8": ("english_7m_2026-10", True),
    "pocket 2M int8": ("english_2m_2026-10", True),
}
XTTS_ROWS = ("coqui inference_stream", "ours int4 + bf16 decoder", "ours int4 + bf16 decoder (second start)")
GOALS = "RTF <= 0.25 at 24 words, first audio <= 250 ms, RTF 48 / 5 words <= 1.0, load <= 3 s, peak RSS <= 1 GB"


def run_row(name: str, model_dir: Path, reference: Path) -> dict:
    from bench.xtts_full import SENTENCES
    from plugins.voice.core.settings import PocketSettings
    from plugins.voice.engines.pocket.loading import build
    from plugins.voice.engines.pocket.states import prompt_audio
    from plugins.voice.engines.pocket.stream import SAMPLE_RATE, parts, speak

    started = time.perf_counter()
    loaded = build(PocketSettings(int8=ROWS[name][1], threads=1 if "1 thread" in name else 0), model_dir)
    load_s = time.perf_counter() - started
    rss_loaded = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    import torch

    model = loaded.model
    state_started = time.perf_counter()
    state = model.get_state_for_audio_prompt(prompt_audio((reference,), SAMPLE_RATE))
    state_s = time.perf_counter() - state_started

    def line(words: int) -> tuple[float, float, int]:
        text = parts(model, SENTENCES[words])
        began, first, samples = time.perf_counter(), None, 0
        for part in text:
            for chunk in speak(model, state, part, 0, forced=len(part.split()) * FRAMES_PER_WORD):
                first = first if first is not None else time.perf_counter() - began
                samples += int(chunk.shape[-1])
        return (first or 0.0) * 1000, time.perf_counter() - began, samples

    line(5)  # one-time costs, on no row
    rows = {}
    for words in SENTENCES:
        torch.manual_seed(1)
        first, total, samples = line(words)
        rows[words] = {"first_ms": first, "rtf": total / (samples / SAMPLE_RATE), "audio_s": samples / SAMPLE_RATE}
    return {"rows": rows, "load_s": load_s, "state_s": state_s, "rss_loaded_mb": rss_loaded,
            "threads": torch.get_num_threads(),
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "parameters_m": sum(p.numel() for p in model.parameters()) / 1e6}


def child(name: str, model_dir: Path, reference: Path) -> dict:
    proc = subprocess.run([sys.executable, __file__, "--child", name, "--model-dir", str(model_dir),
                           "--reference", str(reference)], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"{name} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def installed_model(work: Path, config: str) -> Path:
    from plugins.voice.engines.pocket.install import install_pocket
    from tests.support.pocket_model import make_pocket_model

    install_pocket(make_pocket_model(work / f"{config}-source", tiny=False, language=config), work / config, "en")
    return work / config


def xtts_rows(work: Path, reference: Path) -> dict:
    from bench.xtts_full import child as xtts_child
    from plugins.voice.engines.models import XTTS, install
    from tests.support.tiny_xtts import build_full_xtts

    target = work / "xtts_v2"
    install(XTTS, build_full_xtts(), target)
    return {name: xtts_child(name, target, reference) for name in XTTS_ROWS}


def report(results: dict) -> None:
    base = results.get(XTTS_ROWS[0])
    print("| path | words | audio s | first audio ms | real-time factor | RTF vs coqui | load s | peak RSS MB |")
    print("|---|---|---|---|---|---|---|---|")
    for name, result in results.items():
        for words, row in result["rows"].items():
            versus = f"{base['rows'][words]['rtf'] / row['rtf']:.1f}x" if base else "-"
            print(f"| {name} | {words} | {row['audio_s']:.1f} | {row['first_ms']:.0f} | {row['rtf']:.3f} | {versus} | "
                  f"{result['load_s']:.2f} | {result['peak_rss_mb']:,.0f} |")
    for name, result in results.items():
        rows = result["rows"]
        extra = (f", {result['parameters_m']:.1f} M parameters, voice prompt state {result['state_s']:.2f} s, "
                 f"{result['threads']} torch threads") if "parameters_m" in result else ""
        print(f"{name}: RTF 48 / 5 words = {rows['48']['rtf'] / rows['5']['rtf']:.2f}{extra}")
    summary = {name: {"rtf": {w: round(r["rtf"], 4) for w, r in result["rows"].items()},
                      "first_ms": {w: round(r["first_ms"], 1) for w, r in result["rows"].items()},
                      "load_s": round(result["load_s"], 3), "peak_rss_mb": round(result["peak_rss_mb"])}
               for name, result in results.items()}
    print(f"\ngoals for 'pocket int8': {GOALS}")
    print(json.dumps(summary))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--child")
    parser.add_argument("--model-dir", type=Path)
    parser.add_argument("--reference", type=Path)
    parser.add_argument("--rows", default=",".join(ROWS), help="which Pocket rows, comma-separated")
    parser.add_argument("--no-xtts", action="store_true", help="without XTTS's rows (they build a 1.8 GB model)")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_row(args.child, args.model_dir, args.reference)))
        return
    from bench.xtts import reference as make_reference

    with tempfile.TemporaryDirectory(prefix="bench-pocket-") as folder:
        work = Path(folder)
        ref, _ = make_reference(work)
        print(f"Pocket TTS at its released sizes, random weights, CPU ({os.cpu_count()} cores), "
              f"{FRAMES_PER_WORD} frames a word\n")
        models = {config: installed_model(work, config) for config in {ROWS[row][0] for row in args.rows.split(",")}}
        results = {row: child(row, models[ROWS[row][0]], ref) for row in args.rows.split(",")}
        if not args.no_xtts:
            results.update(xtts_rows(work, ref))
        report(results)


if __name__ == "__main__":
    main()
