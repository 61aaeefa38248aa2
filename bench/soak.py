"""The whole product at once, for a long time, with faults: no hang, no lost line, no traceback.

    .venv/bin/python bench/soak.py [--lines 1000] [--seed 7] [--quiet] [--instant]

Plays a generated branching story that loops (answers said aloud: recorded WAVs heard by
Whisper; acting directions and qualifiers on its lines, a recorded take for its first) with every
part on: XTTS (the tiny test checkpoint) with prefetch, xtts-remote to
a real bridge process, a Kokoro character, Piper, edge against a local fake server, the
voices/ watcher, the quality gate in play (Whisper shared with speech input, resemblyzer, XTTS
retakes), --record, read pace with a fast reader who listens to every line (the sink takes as
long as the audio, like a sound card; --instant: lines heard at once). Faults come at random from a fixed
seed: inside the game (tests/support/chaos_plugin.py: engine exceptions mid-line, CUDA
out-of-memory, ENOSPC on cache writes, a sound card that fails) and from outside (here:
the bridge killed and restarted, edge answering 403 / cutting streams / never answering,
cache entries corrupted on disk, reference WAVs replaced or broken, voice_map.json edited);
--quiet: none of them.
A watchdog fails the run if the game makes no progress for 30 s (and prints every stack).
It reports what the player heard while faults were noticed: silences inside lines and waits before
them, each long one with the faults that explain it (the engines passed over for that line, and the
outside faults under way while it was due).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a file: the repository's packages

from tests.support.soak import run  # noqa: E402
from tests.support.soak_report import unexplained  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    parser.add_argument("--quiet", action="store_true", help="no faults, inside or outside the game")
    parser.add_argument("--instant", action="store_true", help="a player who hears each line instantly (the "
                        "sound card takes no time): the harshest case for prefetch")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="soak-"))
    try:
        figures = run(work, args.lines, args.seed, chaos=not args.quiet, listening=not args.instant)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    rss = figures.pop("rss_mb")
    print(json.dumps(figures, indent=1))
    if rss:
        tenth = max(1, len(rss) // 10)
        print(f"RSS MB: first 10% median {sorted(rss[:tenth])[tenth // 2]:.0f}, last 10% median "
              f"{sorted(rss[-tenth:])[tenth // 2]:.0f}, max {max(rss):.0f}")
    heard = figures["silences"]
    print(f"silences inside lines (ms): max {heard['inside_ms']['max']}, p99 {heard['inside_ms']['p99']}, "
          f"{heard['inside_ms']['over_500']} over 500; waits before lines (ms): median {heard['before_ms']['median']}, "
          f"p95 {heard['before_ms']['p95']}, max {heard['before_ms']['max']} (less {heard['first_load']['lines']} line(s) "
          f"that waited for XTTS's first load, up to {heard['first_load']['wait_ms_max']} ms); "
          f"{len(heard['long'])} long ones listed above")
    lost = figures["reached"] - figures["voice_records"]
    print(f"lines reached {figures['reached']}, voice records {figures['voice_records']}, lost {lost}, "
          f"spoken by an engine {figures['reached'] - figures['engines'].get('none', 0)}, "
          f"hang {figures['hang']}, tracebacks {figures['tracebacks']} (in the logs: "
          f"{sum(unexplained(found) for found in figures['log_tracebacks'].values())} not from an injected fault), "
          + (f"threads start/end {len(figures['start']['threads'])}/{len(figures['end']['threads'])}, "
             f"fds start/end {len(figures['start']['fds'])}/{len(figures['end']['fds'])}" if "start" in figures
             else "no exit report (the game was killed)"))


if __name__ == "__main__":
    main()
