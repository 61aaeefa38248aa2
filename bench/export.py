"""`engine export --web` for the tomb and the lighthouse from Piper packs, then the exported page on a local
static server (python -m http.server) in headless Chromium, loaded again and again.

    .venv/bin/python bench/export.py [--loads 20]

Reported per story: the render (the pack, made first, not part of the export), the export's time, the folder's
size and its audio's, the page's own JavaScript (without inkjs), and over the page loads: from the Start key to
the first line's audio playing, and from a choice's key to the next line's audio playing (p50, p95, max, and
how many samples each rests on). The baseline in the same run: the same page and pack played through
`engine serve --pack` (the server front end), so export/serve is what running the story in the page costs.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a file: the repository's packages

from bench.stats import percentile  # noqa: E402
from tests.support.packs import config_for  # noqa: E402
from tests.support.serving import Server  # noqa: E402
from tests.support.web import StaticServer  # noqa: E402

STORIES = {"tomb": (ROOT / "stories" / "tomb", [2, 1, 2, 1, 2, 1, 1]),
           "lighthouse": (ROOT / "stories" / "lighthouse", [3, 1, 2, 2])}
PAGE_JS = ("play.js", "voice.js", "server.js", "local.js", "scenes.js", "ink_game.js", "sha256.js")
# times the page's keys and its audio elements' first `playing`, from outside its modules
WATCH = """
window.marks = [];
document.addEventListener("keydown", (event) => window.marks.push(["key", event.key, performance.now()]), true);
const play = HTMLMediaElement.prototype.play;
HTMLMediaElement.prototype.play = function () {
  this.addEventListener("playing", () => window.marks.push(["playing", this.src, performance.now()]), { once: true });
  return play.call(this);
};
"""


def engine(*args: str | Path) -> float:
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "engine", *map(str, args)], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    return time.monotonic() - started


def size(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())


def waits(marks: list[list[Any]]) -> list[float]:
    """From each number or Enter key to the first `playing` after it (ms)."""
    found, pressed = [], None
    for kind, what, at in marks:
        if kind == "key" and (what == "Enter" or what.isdigit()):
            pressed = at
        elif kind == "playing" and pressed is not None:
            found.append(at - pressed)
            pressed = None
    return found


def loads(browser: Any, url: str, choices: list[int], count: int) -> tuple[list[float], list[float]]:
    starts, moves = [], []
    for _ in range(count):
        page = browser.new_page()
        page.add_init_script(WATCH)
        page.goto(url)
        page.wait_for_selector("#new-game:focus")
        for key in ["+"] * 12 + ["Enter"]:  # speech at 4x: the same audio, played in a quarter of the time
            page.keyboard.press(key)
        for number in choices[:2]:
            page.wait_for_selector("#choices-area:not([hidden])", timeout=120_000)
            page.keyboard.press(str(number))
        deadline = time.monotonic() + 120
        while len(waits(page.evaluate("window.marks"))) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        measured = waits(page.evaluate("window.marks"))
        starts += measured[:1]
        moves += measured[1:]
        page.close()
    return starts, moves


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loads", type=int, default=20)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    work = Path(tempfile.mkdtemp(prefix="bench-export-"))
    config = config_for(work)
    rows: dict[str, Any] = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        for name, (story, choices) in STORIES.items():
            render = engine("render", story, "--engine", "piper", "--out", work / name / "pack", "--config", config)
            web = work / name / "web"
            export = engine("export", story, "--web", web, "--pack", work / name / "pack", "--config", config)
            static = StaticServer(web, name)
            try:
                starts, moves = loads(browser, static.url, choices, args.loads)
            finally:
                static.stop()
            served = Server(story, config, work / name, "--pack", str(work / name / "pack"))
            try:
                served_starts, served_moves = loads(browser, served.url, choices, args.loads)
            finally:
                served.stop()
            own = sum((web / "static" / js).stat().st_size for js in PAGE_JS if (web / "static" / js).exists())
            rows[name] = {"render_s": round(render, 1), "export_s": round(export, 2), "folder_mb": size(web) / 1e6,
                          "audio_mb": size(web / "audio") / 1e6, "page_js_kb": own / 1e3,
                          "start_ms": [percentile(starts, q) for q in (0.5, 0.95, 1.0)], "starts": len(starts),
                          "choice_ms": [percentile(moves, q) for q in (0.5, 0.95, 1.0)], "choices": len(moves),
                          "served_start_ms": [percentile(served_starts, q) for q in (0.5, 0.95, 1.0)],
                          "served_choice_ms": [percentile(served_moves, q) for q in (0.5, 0.95, 1.0)],
                          "served_samples": [len(served_starts), len(served_moves)]}
        browser.close()
    print(f"{'story':11} {'render s':>8} {'export s':>8} {'folder MB':>9} {'audio MB':>8} {'page JS kB':>10} "
          f"{'start p50/p95/max ms (n)':>26} {'choice p50/p95/max ms (n)':>27}")
    for name, row in rows.items():
        start, choice = row["start_ms"], row["choice_ms"]
        print(f"{name:11} {row['render_s']:8.1f} {row['export_s']:8.2f} {row['folder_mb']:9.2f} {row['audio_mb']:8.2f} "
              f"{row['page_js_kb']:10.1f} {start[0]:8.0f}/{start[1]:.0f}/{start[2]:.0f} ({row['starts']})"
              f"{choice[0]:12.0f}/{choice[1]:.0f}/{choice[2]:.0f} ({row['choices']})")
        start, choice = row["served_start_ms"], row["served_choice_ms"]
        print(f"{'  served':11} {'':8} {'':8} {'':9} {'':8} {'':10} {start[0]:8.0f}/{start[1]:.0f}/{start[2]:.0f} "
              f"({row['served_samples'][0]}){choice[0]:12.0f}/{choice[1]:.0f}/{choice[2]:.0f} ({row['served_samples'][1]})"
              f"   export/serve p95: start {row['start_ms'][1] / start[1]:.2f}, "
              f"choice {row['choice_ms'][1] / choice[1]:.2f}")
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
