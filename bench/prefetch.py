"""Perceived latency with prefetch on and off, for a simulated player, in one run.

    .venv/bin/python bench/prefetch.py [--long-lines N] [--stories tomb,lighthouse,long]

Plays stories/tomb (one full path), stories/lighthouse (an ink story, one full path) and a
generated ~500-line branching story (its first N lines along a scripted path) with the real
Piper engine and an empty cache, for a player who reads at 250 words per minute (`read` pace)
and one who listens to every line (`listen` pace), each with prefetch on and off. Sound goes
to a simulated sound card that plays in real time (there is none here). Each run is its own
process, so CPU and peak memory are its own.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
TOMB_PATH = [2, 1, 2, 1, 2, 1, 1]
LIGHTHOUSE_PATH = [1, 2, 1, 1, 2]  # the ink story: ask, trim, look, cellar, coat (its longest path)

WORDS = ("sand stone lamp door gold river shadow wind silence temple stair torch map jackal scarab star "
         "water bread rope sun night dune voice echo dust wall pillar king priest oath feather").split()


def generate_story(folder: Path, scenes: int = 70, seed: int = 7) -> list[int]:
    """A branching story of ~500 lines; returns a choice path through it."""
    rng = random.Random(seed)
    (folder / "characters").mkdir(parents=True, exist_ok=True)
    cast = ["narrator", "ana", "bek", "cy"]
    for cid in cast:
        profile = {"character_id": cid, "display_name": cid.title(), "voice_id": f"{cid}_v", "engine": "piper",
                   "language": "en", "speed": 1.0}
        (folder / "characters" / f"{cid}.json").write_text(json.dumps(profile))
    lines = []
    for n in range(scenes):
        lines.append(f"=== s{n} ===")
        for _ in range(rng.randint(5, 9)):
            sentence = " ".join(rng.choice(WORDS) for _ in range(rng.randint(6, 16))).capitalize() + "."
            who = rng.choice(cast)
            lines.append(sentence if who == "narrator" else f"@{who}: {sentence}")
        targets = sorted({min(scenes - 1, n + rng.randint(1, 4)) for _ in range(3)})
        if n == scenes - 1:
            lines.append("-> END The End")
        else:
            lines += [f"* Go {rng.choice(WORDS)} -> s{t}" for t in targets]
    (folder / "main.story").write_text("\n".join(lines) + "\n")
    (folder / "story.toml").write_text('title = "Long"\nstart = "s0"\nscenes = ["main.story"]\n')
    return [1] * scenes


class PacedSink:
    """A simulated sound card: plays in real time, stops when told."""

    name = "paced"

    def __init__(self) -> None:
        self.until = 0.0
        self.stopped = threading.Event()

    def write(self, pcm) -> None:  # type: ignore[no-untyped-def]
        self.stopped.clear()
        self.until = max(time.monotonic(), self.until) + len(pcm) / 24000
        while time.monotonic() < self.until - 0.05 and not self.stopped.is_set():
            time.sleep(0.01)  # like a device buffer: returns shortly before the audio ends

    def drain(self) -> None:
        while time.monotonic() < self.until and not self.stopped.is_set():
            time.sleep(0.005)

    def stop(self) -> None:
        self.stopped.set()
        self.until = 0.0

    def close(self) -> None:
        pass


def xtts_voice(model_dir: str, work: Path, when_slow: str, threads: int = 0) -> dict:
    """[voice] for the full-size XTTS rows: the profiles' own engine (xtts), Piper while it loads and for
    what it cannot say, references seeded by Piper, 8 audio tokens per word (random weights never stop)."""
    return {"voices_dir": str(work / "voices"), "fallback": ["xtts", "piper"], "checked_dir": str(work / "c"),
            "auto_seed": True, "when_slow": when_slow, "cache": {"dir": str(work / "cache")},
            "xtts": {"model_dir": model_dir, "latents_dir": str(work / "latents"), "max_audio_tokens_per_word": 8.0,
                     "cpu_threads": threads},
            "edge": {"endpoint": "ws://127.0.0.1:9/edge"}}


def pocket_voice(model_dir: str, work: Path, when_slow: str) -> dict:
    """[voice] for the full-size Pocket rows: the profiles' cloning engine is Pocket, Piper for what it cannot say,
    references seeded by Piper, exactly 5 frames (400 ms) per word (random weights never end a line by themselves)."""
    return {"voices_dir": str(work / "voices"), "fallback": ["pocket", "piper"], "cloning": "pocket",
            "checked_dir": str(work / "c"), "auto_seed": True, "when_slow": when_slow, "cache": {"dir": str(work / "cache")},
            "pocket": {"model_dir": model_dir, "states_dir": str(work / "states"), "max_frames_per_word": 5.0,
                       "eos_threshold": 1e9},
            "edge": {"endpoint": "ws://127.0.0.1:9/edge"}}


def one_run(story_dir: Path, choices: list[int], pace: str, prefetch: bool, max_lines: int,
            xtts: str | None = None, when_slow: str = "adapt", threads: int = 0, workers: int = 1,
            pocket: str | None = None) -> dict:
    from rich.console import Console

    from engine.config import Config, engine_settings
    from engine.context import PlayContext
    from engine.core.errors import QuitGame, ScriptedChoicesExhausted
    from engine.formats import open_playthrough
    from engine.loader import load_story
    from engine.plugins import make_plugin_manager
    from engine.runner import Driver, Runner
    from engine.terminal import Terminal
    from plugins.voice import plugin as voice_plugin
    from plugins.voice import session as voice_session
    from plugins.voice.output import sinks

    work = Path(tempfile.mkdtemp(prefix="bench-prefetch-"))
    config = Config({"engine": {"words_per_minute": 250}, "plugins": {"disabled": ["voice"]},
              "voice": {"voices_dir": str(work / "voices"), "fallback": ["piper"], "checked_dir": str(work / "c"),
                        "auto_seed": False, "prefetch": {"enabled": prefetch}, "cache": {"dir": str(work / "cache")},
                        # Piper is what this measures: never an XTTS model or edge that happen to be around
                        "engine": "piper", "xtts": {"model_dir": str(work / "no-xtts")},
                        "edge": {"endpoint": "ws://127.0.0.1:9/edge"}}})
    if xtts:
        config = Config({"engine": {"words_per_minute": 250}, "plugins": {"disabled": ["voice"]},
                         "voice": {**xtts_voice(xtts, work, when_slow, threads),
                                   "prefetch": {"enabled": prefetch, "workers": workers}}})
    if pocket:
        config = Config({"engine": {"words_per_minute": 250}, "plugins": {"disabled": ["voice"]},
                         "voice": {**pocket_voice(pocket, work, when_slow), "prefetch": {"enabled": prefetch}}})
    if xtts or pocket:
        (work / "voices").mkdir(parents=True)
        (work / "voices" / "piper_voices.toml").write_bytes((ROOT / "voices" / "piper_voices.toml").read_bytes())
    sinks.open_sink = lambda name, rate: PacedSink()  # type: ignore[assignment]
    voice_session.open_sink = sinks.open_sink  # type: ignore[assignment]
    records: list[dict] = []
    story = load_story(story_dir)
    pm = make_plugin_manager(config)
    plugin = voice_plugin.VoicePlugin()
    pm.register(plugin)
    spoken = 0

    class Limit:
        @voice_plugin.hookimpl
        def engine_narration(self, line) -> None:  # type: ignore[no-untyped-def]
            self.count()

        @voice_plugin.hookimpl
        def engine_dialogue(self, line) -> None:  # type: ignore[no-untyped-def]
            self.count()

        def count(self) -> None:
            nonlocal spoken
            spoken += 1
            if spoken > max_lines:
                raise QuitGame()

    pm.register(Limit())
    read_fd = os.open(os.devnull, os.O_RDONLY)
    terminal = Terminal(Console(file=io.StringIO()), answers=choices, fd=read_fd)
    started, cpu_start = time.monotonic(), time.process_time()
    driver = Driver(PlayContext(story, config, {}, records.append, lambda text: None, game="bench"), pm.hook,
                    engine_settings(config), pace, open_playthrough(story))
    driver.start()
    reason = "quit"
    try:
        Runner(driver, terminal).run()
        reason = "ending"
    except (QuitGame, ScriptedChoicesExhausted):
        pass
    driver.end(reason)
    wall, cpu = time.monotonic() - started, time.process_time() - cpu_start
    voices = [r for r in records if r.get("event") == "voice" and r.get("first_audio_ms") is not None]
    slow = [r for r in records if r.get("event") == "slow_engine"]
    return {
        "engines": {name: sum(1 for r in voices if r["engine"] == name) for name in {r["engine"] for r in voices}},
        "slow": slow[0] if slow else None,
        "lines": len(voices),
        "ready": [bool(r["ready"]) for r in voices],
        "first": [r["first_audio_ms"] for r in voices],
        "wait": [r["wait_ms"] for r in voices],
        "gap_max": max((r["gaps_ms_max"] for r in voices), default=0.0),
        "gap_total": sum(r["gaps_ms_total"] for r in voices),
        "gap_lines": {name: sum(1 for r in voices if r["engine"] == name and r["gaps_ms_max"] > 0)
                      for name in {r["engine"] for r in voices}},
        "cpu": cpu / wall,
        "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "wall": wall,
        "detail": [(r.get("character_id", ""), r["engine"], r.get("cache"), bool(r["ready"]), round(r["wait_ms"] or 0),
                    round(r["gaps_ms_max"])) for r in voices],
    }


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))] if ordered else 0.0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--long-lines", type=int, default=40)
    parser.add_argument("--stories", default="tomb,lighthouse,long", help="which rows to play (comma-separated)")
    parser.add_argument("--xtts", choices=("full",), help="instead: the tomb with the full-size random XTTS "
                        "(tests/support/tiny_xtts.py), whole lines (when_slow adapt) against streaming")
    parser.add_argument("--pocket", choices=("full",), help="instead: the tomb with the full-size random Pocket TTS "
                        "(tests/support/pocket_model.py) as the cast's cloning engine")
    parser.add_argument("--xtts-lines", type=int, default=14, help="lines of the --xtts and --pocket rows")
    parser.add_argument("--xtts-rows", default="adapt,stream,adapt-1",
                        help="which full-size XTTS rows to play: adapt, stream, adapt-1 (torch on one core fewer)")
    parser.add_argument("--prefetch-workers", type=int, default=1, help="the full-size XTTS rows' prefetch threads")
    parser.add_argument("--detail", action="store_true", help="the full-size XTTS rows: each line's character, "
                        "engine, cache, ready, wait and longest gap")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        spec = json.loads(args.one)
        print(json.dumps(one_run(Path(spec["story"]), spec["choices"], spec["pace"], spec["prefetch"], spec["max"],
                                 spec.get("xtts"), spec.get("when_slow", "adapt"), spec.get("threads", 0),
                                 spec.get("workers", 1), spec.get("pocket"))))
        return
    if args.xtts:
        full_xtts(args.xtts_lines, args.xtts_rows.split(","), args.prefetch_workers, args.detail)
        return
    if args.pocket:
        full_pocket(args.xtts_lines, args.detail)
        return
    long_dir = Path(tempfile.mkdtemp(prefix="bench-long-"))
    long_path = generate_story(long_dir)
    stories = [("tomb", ROOT / "stories" / "tomb", TOMB_PATH, 1000),
               ("lighthouse", ROOT / "stories" / "lighthouse", LIGHTHOUSE_PATH, 1000),
               ("long", long_dir, long_path, args.long_lines)]
    stories = [row for row in stories if row[0] in args.stories.split(",")]
    total = sum(1 for line in (long_dir / "main.story").read_text().splitlines() if line and line[0] not in "=*-")
    print(f"generated story: {total} spoken lines; playing {args.long_lines} of them\n")
    print("| story | pace | prefetch | lines | ready after 1st | event->audio median / p95 ms "
          "| wait median / p95 ms | gaps max / total ms | CPU | peak RSS MB |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name, folder, path, limit in stories:
        for pace in ("read", "listen"):
            for prefetch in (False, True):
                spec = json.dumps({"story": str(folder), "choices": path, "pace": pace, "prefetch": prefetch,
                                   "max": limit})
                out = subprocess.run([sys.executable, __file__, "--one", spec], capture_output=True, text=True,
                                     check=True).stdout
                r = json.loads(out.strip().splitlines()[-1])
                ready = r["ready"][1:]
                share = 100 * sum(ready) / len(ready) if ready else 0.0
                print(f"| {name} | {pace} | {'on' if prefetch else 'off'} | {r['lines']} | {share:.0f}% "
                      f"| {statistics.median(r['first']):.0f} / {pct(r['first'], 95):.0f} "
                      f"| {statistics.median(r['wait']):.0f} / {pct(r['wait'], 95):.0f} "
                      f"| {r['gap_max']:.0f} / {r['gap_total']:.0f} | {r['cpu']:.0%} | {r['rss_mb']:.0f} |",
                      flush=True)


def full_xtts(lines: int, rows: list[str], workers: int, detail: bool) -> None:
    from plugins.voice.engines.models import XTTS, install
    from tests.support.tiny_xtts import build_full_xtts

    with tempfile.TemporaryDirectory(prefix="bench-full-xtts-") as work:  # a 1.8 GB copy: gone after the run
        target = Path(work) / "xtts_v2"
        install(XTTS, build_full_xtts(), target)
        full_xtts_rows(target, lines, rows, workers, detail)


def full_pocket(lines: int, detail: bool) -> None:
    from plugins.voice.engines.pocket.install import install_pocket
    from tests.support.pocket_model import make_pocket_model

    with tempfile.TemporaryDirectory(prefix="bench-full-pocket-") as work:
        target = Path(work) / "pocket"
        install_pocket(make_pocket_model(Path(work) / "download", tiny=False), target / "en", "en")
        print(f"the tomb, first {lines} lines, full-size random Pocket TTS (int8) on this CPU ({os.cpu_count()} "
              "cores), read pace, prefetch on\n")
        print("| lines | by engine | ready after 1st | wait median / p95 ms | gaps max / total ms | peak RSS MB |")
        print("|---|---|---|---|---|---|")
        spec = json.dumps({"story": str(ROOT / "stories" / "tomb"), "choices": TOMB_PATH, "pace": "read",
                           "prefetch": True, "max": lines, "pocket": str(target)})
        out = subprocess.run([sys.executable, __file__, "--one", spec], capture_output=True, text=True,
                             check=True).stdout
        r = json.loads(out.strip().splitlines()[-1])
        ready = r["ready"][1:]
        engines = ", ".join(f"{k} {v}" for k, v in sorted(r["engines"].items()))
        print(f"| {r['lines']} | {engines} | {100 * sum(ready) / max(1, len(ready)):.0f}% "
              f"| {statistics.median(r['wait']):.0f} / {pct(r['wait'], 95):.0f} "
              f"| {r['gap_max']:.0f} / {r['gap_total']:.0f} | {r['rss_mb']:.0f} |", flush=True)
        if detail:
            print(describe(r["detail"]))
        print(json.dumps({"ready_after_first": round(sum(ready) / max(1, len(ready)), 4),
                          "first_wait_ms": r["wait"][0], "wait_p95_ms": pct(r["wait"], 95), "gap_max_ms": r["gap_max"]}))


def describe(detail: list) -> str:  # type: ignore[type-arg]
    """Each line: its number, character, engine, how it was had, whether it was ready, its wait and its longest gap."""
    return "  " + "; ".join(f"{n} {who or '-'} {engine} {cache}{' ready' if ready else ''} {wait} ms"
                            f"{f' (gap {gap} ms)' if gap else ''}"
                            for n, (who, engine, cache, ready, wait, gap) in enumerate(detail, 1))


def full_xtts_rows(target: Path, lines: int, rows: list[str], workers: int, detail: bool) -> None:
    print(f"the tomb, first {lines} lines, full-size random XTTS on this CPU ({os.cpu_count()} cores), read pace, "
          "prefetch on; Piper speaks while the model loads\n")
    print("| when_slow | torch threads | lines | by engine | XTTS judged slow | ready after 1st | wait median / p95 ms "
          "| gaps max / total ms (lines with one) | peak RSS MB |")
    print("|---|---|---|---|---|---|---|---|---|")
    cores = os.cpu_count() or 1
    table = {"adapt": ("adapt", 0), "stream": ("stream", 0), "adapt-1": ("adapt", max(1, cores - 1))}
    for mode, threads in (table[row] for row in rows):
        spec = json.dumps({"story": str(ROOT / "stories" / "tomb"), "choices": TOMB_PATH, "pace": "read",
                           "prefetch": True, "max": lines, "xtts": str(target), "when_slow": mode, "threads": threads,
                           "workers": workers})
        out = subprocess.run([sys.executable, __file__, "--one", spec], capture_output=True, text=True,
                             check=True).stdout
        r = json.loads(out.strip().splitlines()[-1])
        ready = r["ready"][1:]
        share = 100 * sum(ready) / len(ready) if ready else 0.0
        slow = f"RTF {r['slow']['rtf']} after {r['slow']['lines']} lines" if r["slow"] else "no"
        engines = ", ".join(f"{k} {v}" for k, v in sorted(r["engines"].items()))
        used = threads or cores
        print(f"| {mode} | {used}{' (default)' if not threads else ''} | {r['lines']} | {engines} | {slow} | {share:.0f}% "
              f"| {statistics.median(r['wait']):.0f} / {pct(r['wait'], 95):.0f} "
              f"| {r['gap_max']:.0f} / {r['gap_total']:.0f} "
              f"({', '.join(f'{k} {v}' for k, v in sorted(r['gap_lines'].items()) if v) or 'none'}) "
              f"| {r['rss_mb']:.0f} |", flush=True)
        if detail:
            print(describe(r["detail"]), flush=True)


if __name__ == "__main__":
    main()
