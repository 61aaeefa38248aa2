"""What the ink format costs the runner, in one run: loading, stepping, and looking ahead for prefetch.

    .venv/bin/python bench/ink.py [--repeat N]

Plays stories/lighthouse (ink, run by bink) and stories/tomb (our scene format) along one full path
each, with no plugins, and times each step and each look-ahead (the upcoming-lines list the runner
fires at every scene entry and choice). The scene format is the baseline measured in the same run.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.stats import percentile  # noqa: E402
from engine.formats import ChoiceStep, EndStep, LineStep, open_playthrough  # noqa: E402
from engine.loader import load_story  # noqa: E402

PATHS = {"lighthouse": [1, 2, 1, 1, 2], "tomb": [2, 1, 2, 1, 2, 1, 1]}


def one_game(name: str) -> dict[str, list[float]]:
    started = time.perf_counter()
    story = load_story(ROOT / "stories" / name)
    game = open_playthrough(story)
    figures: dict[str, list[float]] = {"load": [(time.perf_counter() - started) * 1000], "step": [], "ahead": [],
                                       "ahead_lines": []}
    picks = [n - 1 for n in PATHS[name]]
    while True:
        started = time.perf_counter()
        step = game.next()
        figures["step"].append((time.perf_counter() - started) * 1000)
        if isinstance(step, EndStep):
            return figures
        if not isinstance(step, LineStep):
            started = time.perf_counter()
            lines = game.upcoming(3)
            figures["ahead"].append((time.perf_counter() - started) * 1000)
            figures["ahead_lines"].append(len(lines))
        if isinstance(step, ChoiceStep):
            game.choose(picks.pop(0))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    print(f"{args.repeat} games each, one full path; times in ms (median / p90 over all games)\n")
    print("| story | format | load | step | look-ahead | lines per look-ahead |")
    print("|---|---|---|---|---|---|")
    for name in ("tomb", "lighthouse"):
        merged: dict[str, list[float]] = {}
        for _ in range(args.repeat):
            for key, values in one_game(name).items():
                merged.setdefault(key, []).extend(values)

        def cell(key: str, merged: dict[str, list[float]] = merged) -> str:
            values = merged[key]
            return f"{percentile(values, 0.5):.2f} / {percentile(values, 0.9):.2f}"

        story_format = "ink" if name == "lighthouse" else "scenes"
        print(f"| {name} | {story_format} | {cell('load')} | {cell('step')} | {cell('ahead')} "
              f"| {statistics.median(merged['ahead_lines']):.0f} |")


if __name__ == "__main__":
    main()
