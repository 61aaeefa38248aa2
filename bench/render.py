"""Voice pack rendering, in one run: this process vs Ray with 1 and 2 workers, pack sizes, first audio.

    .venv/bin/python bench/render.py [--repeat N]

Renders every reachable line of stories/tomb (95 lines) with the real Piper engine, each worker
held to one onnxruntime thread (one core), into fresh packs:
- in this process (LocalPool): the baseline, no Ray;
- on a local Ray cluster (num_cpus=2) with 1 worker, then 2 workers.
A rate is lines per minute from the moment the workers are ready (engine loaded) to the last line.
Then the pack sizes per minute of audio (Opus and FLAC), and what `engine play` takes to the first
audio of each line from the pack and from a warm cache (median over the game's lines).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine import load_story  # noqa: E402
from engine.config import load_config  # noqa: E402
from plugins.voice.core.settings import voice_settings  # noqa: E402
from plugins.voice.render.render import Renderer, RenderJob  # noqa: E402

PATH = "1,2,1,2,2"


def write_config(work: Path) -> Path:
    config = work / "config.toml"
    config.write_text(
        f'[engine]\nsaves_dir = "{work / "saves"}"\n[voice]\nsink = "null"\nvoices_dir = "{ROOT / "voices"}"\n'
        f'checked_dir = "{work / "checked"}"\nfallback = ["piper"]\n[voice.cache]\ndir = "{work / "cache"}"\n'
        f'[voice.edge]\nendpoint = "ws://127.0.0.1:9/edge"\n[voice.piper]\nthreads = 1\n', encoding="utf-8")
    return config


def one_render(config: Path, folder: Path, audio_format: str, ray: str | None, workers: int) -> dict[str, float]:
    settings = voice_settings(load_config(config))
    settings = replace(settings, piper=replace(settings.piper, threads=1))
    renderer = Renderer(RenderJob(load_story(ROOT / "stories" / "tomb"), settings, folder, audio_format, "piper", ray,
                            workers), tell=lambda text: None)
    ready: list[float] = []
    finished: list[float] = []

    def started(pool: object) -> None:
        if hasattr(pool, "pids"):
            pool.pids()  # blocks until every actor has built and prepared its engine
        ready.append(time.monotonic())

    began = time.monotonic()
    report = renderer.run(lambda done, total: finished.append(time.monotonic()) if done else None, pool_ready=started)
    lines = report.made
    span = finished[-1] - ready[0]
    size = sum(p.stat().st_size for p in folder.iterdir() if p.suffix in (".opus", ".flac"))
    return {"lines": lines, "per_min": lines / span * 60, "ms_per_line": span / lines * 1000,
            "startup": ready[0] - began, "audio_min": report.audio_seconds / 60, "mb": size / 1e6,
            "workers": report.workers}


def first_audio(config: Path, *extra: str) -> float:
    trace = Path(tempfile.mkdtemp()) / "t.jsonl"
    subprocess.run([sys.executable, "-m", "engine", "play", str(ROOT / "stories" / "tomb"), "--choices", PATH,
                    "--pace", "listen", "--trace", str(trace), "--config", str(config), *extra],
                   check=True, capture_output=True, cwd=ROOT, stdin=subprocess.DEVNULL)
    records = [json.loads(x) for x in trace.read_text().splitlines()]
    return statistics.median(r["wait_ms"] for r in records if r["event"] == "voice" and r.get("wait_ms") is not None)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=1, help="renders of each kind (the median is shown)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-render-"))
    config = write_config(work)
    rows = {}
    for name, fmt, ray, workers in (("this process", "opus", None, 1), ("this process", "flac", None, 1),
                                    ("Ray, 1 worker", "opus", "auto", 1), ("Ray, 2 workers", "opus", "auto", 2)):
        name = f"{name} ({fmt})"
        runs = [one_render(config, work / f"{name}-{n}".replace(" ", "_").replace(",", ""), fmt, ray, workers)
                for n in range(args.repeat)]
        rows[name] = {key: statistics.median(r[key] for r in runs) for key in runs[0]}
    print("stories/tomb, Piper (en_US-joe-medium), one onnxruntime thread per worker, 2-core machine\n")
    print("| how | workers | lines | lines/min | ms/line | startup s | audio min | pack MB | MB per audio min |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, r in rows.items():
        print(f"| {name} | {r['workers']:.0f} | {r['lines']:.0f} | {r['per_min']:.0f} "
              f"| {r['ms_per_line']:.0f} | {r['startup']:.1f} | {r['audio_min']:.1f} | {r['mb']:.2f} "
              f"| {r['mb'] / r['audio_min']:.2f} |")
    base, one, two = rows["this process (opus)"], rows["Ray, 1 worker (opus)"], rows["Ray, 2 workers (opus)"]
    print(f"\nscaling, 2 workers vs 1: {two['per_min'] / one['per_min']:.2f}x (ideal 2.00x)")
    print(f"Ray's cost per line: {one['ms_per_line'] - base['ms_per_line']:.0f} ms "
          f"({one['ms_per_line'] / base['ms_per_line']:.2f}x the in-process time per line)")
    pack = work / "Ray_2_workers_(opus)-0"
    first_audio(config)  # a live game fills the cache
    cache_ms = first_audio(config)
    pack_ms = first_audio(config, "--pack", str(pack))
    print(f"`engine play` wait for each line's first audio, median: pack {pack_ms:.1f} ms, warm cache {cache_ms:.1f} ms")


if __name__ == "__main__":
    main()
