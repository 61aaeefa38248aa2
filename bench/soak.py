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
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SUPPORT = ROOT / "tests" / "support"
sys.path.insert(0, str(ROOT))  # run as a file: the repository's packages

from bench.soak_faults import Bridge, Chaos, LineClock  # noqa: E402
from bench.soak_report import count_lines, log_tracebacks, notices, silences, unexplained  # noqa: E402

HANG_SECONDS = 30.0
CAST = {  # character -> engine: every engine at once
    "narrator": "piper", "guide": "xtts", "keeper": "xtts", "oracle": "xtts-remote", "scribe": "kokoro",
    "herald": "edge",
}
ANSWERS = ["Take the left door.", "Take the right door.", "Climb the stairs."]
IN_GAME_FAULTS = {"piper_error": 0.03, "kokoro_error": 0.05, "xtts_oom": 0.03, "xtts_error": 0.03,
                  "enospc": 0.03, "sink_error": 0.002}


def in_game_faults(listening: bool) -> dict[str, float]:
    """A listening player keeps the sound card: once it fails, play goes on as text, instantly, for good."""
    return {kind: rate for kind, rate in IN_GAME_FAULTS.items() if not (listening and kind == "sink_error")}


def write_story(folder: Path, scenes: int, seed: int) -> None:
    """A story that never ends: every scene offers three doors to other scenes."""
    rng = random.Random(seed)
    (folder / "characters").mkdir(parents=True)
    for character, engine in CAST.items():
        profile: dict[str, Any] = {"character_id": character, "display_name": character.title(), "engine": engine,
                                   "voice_id": f"{character}_voice"}
        if engine == "xtts-remote":
            profile["voice_clone_ref"] = "oracle_voice.wav"
        (folder / "characters" / f"{character}.json").write_text(json.dumps(profile, indent=2))
    speakers = [c for c in CAST if c != "narrator"]
    lines = []
    for n in range(scenes):
        lines.append(f"=== s{n}: Room {n} ===")
        lines.append(f"You stand in room {n}. The walls are painted with {rng.choice(['birds', 'boats', 'suns'])}.")
        for k in range(3):  # acted: a direction, a qualifier (an effect on the audio), or neither
            who = speakers[(n + k) % len(speakers)]
            acting = ["(quietly) ", f"{' (radio)' if n % 2 else ' (O.S.)'}", ""][k]
            qualifier, direction = (acting, "") if acting.startswith(" ") else ("", acting)
            lines.append(f"@{who}{qualifier}: {direction}Room {n} is quiet. I counted {rng.randint(2, 90)} steps to get "
                         "here, friend.")
        targets = [rng.randrange(scenes) for _ in ANSWERS]
        lines += [f"* Take the left door -> s{targets[0]}", f"* Take the right door -> s{targets[1]}",
                  f"* Climb the stairs -> s{targets[2]}", ""]
    (folder / "main.story").write_text("\n".join(lines))
    (folder / "story.toml").write_text('title = "The Endless House"\nstart = "s0"\nnarrator = "narrator"\n'
                                       'scenes = ["main.story"]\n')


def write_config(work: Path, bridge_port: int, edge_url: str, chaos: bool, name: str = "config.toml",
                 quality: bool = True) -> Path:
    path = work / name
    path.write_text(f"""
[engine]
pace = "read"
words_per_minute = 4000
min_pause = 0.05
saves_dir = "{work / 'saves'}"

[plugins]
modules = [{'"chaos_plugin"' if chaos else ''}]

[voice]
voices_dir = "{work / 'voices'}"
checked_dir = "{work / 'checked'}"
sink = "null"
reprobe_seconds = 2.0

[voice.cache]
dir = "{work / 'cache'}"

[voice.prefetch]
depth = 8

[voice.quality]
play = {str(quality).lower()}

[voice.xtts]
model_dir = "{work / 'models' / 'xtts_v2'}"
latents_dir = "{work / 'latents'}"
while_loading = "wait"

[voice.xtts_remote]
urls = ["http://127.0.0.1:{bridge_port}"]
connect_timeout = 1.0
read_timeout = 10.0

[voice.edge]
endpoint = "{edge_url}"
connect_timeout = 2
receive_timeout = 3

[voice.bridge]
port = {bridge_port}
voices_dir = "{work / 'bridge-voices'}"
""")
    return path


def speak(text: str, path: Path, variant: int = 0) -> Path:
    import soundfile

    from plugins.voice.core.audio import concat
    from plugins.voice.core.settings import PiperSettings
    from plugins.voice.core.voice import LineSettings, Voice
    from plugins.voice.engines.piper.engine import PiperEngine

    piper = PiperEngine(PiperSettings(noise_scale=0.0, noise_w_scale=0.0))
    audio = concat(list(piper.synthesize(text, Voice("p", "p", "piper", "en", 1.0, variant), LineSettings())))
    soundfile.write(path, audio.samples, audio.sample_rate, subtype="PCM_16")
    return path


def prepare(work: Path, lines: int, seed: int) -> tuple[Path, list[Path]]:
    from plugins.voice.engines.models import XTTS, install
    from tests.support.tiny_xtts import build_tiny_xtts

    story = work / "story"
    write_story(story, scenes=max(6, lines // 40), seed=seed)
    (work / "voices").mkdir(parents=True)
    (work / "spares").mkdir()
    install(XTTS, build_tiny_xtts(), work / "models" / "xtts_v2")
    (story / "takes" / "final").mkdir(parents=True)
    speak("You stand in the first room.", story / "takes" / "final" / "s0.1.wav", 2)  # an actor's take
    speak("The oracle speaks slowly and remembers every visitor to this house.", work / "voices" / "oracle_voice.wav", 3)
    for n in range(3):
        speak(f"A spare voice, number {n}, for a character whose reference changes during play.",
              work / "spares" / f"spare{n}.wav", n + 4)
    answers = [speak(text, work / f"answer{n}.wav", 1) for n, text in enumerate(ANSWERS)]
    rng = random.Random(seed)
    choices = int(lines / 4 * 1.15) + 2  # four lines a room; some answers are misheard
    return story, [rng.choice(answers) for _ in range(choices)]


def run(work: Path, lines: int = 1000, seed: int = 7, chaos: bool = True, quality: bool = True,
        listening: bool = True, by_lines: bool = False) -> dict[str, Any]:
    """Plays until about `lines` lines were reached; returns the figures (also used by the suite).
    listening: the player hears each line in its own time (a sound card's pace), else instantly.
    by_lines: outside faults come after so many lines (a line a second of the schedule), not seconds."""
    from tests.support.edge_server import FakeEdgeServer
    from tests.support.net import free_port

    story, answers = prepare(work, lines, seed)
    edge = FakeEdgeServer("ok")
    port = free_port()
    config = write_config(work, port, edge.url, chaos or listening, quality=quality)  # the plugin holds the sink too
    bridge = Bridge(write_config(work, port, edge.url, False, "bridge.toml"), port, work / "bridge.log")
    os.environ["VOICED_IF_BRIDGE_TOKEN"] = "soak-token"  # the bridge and the game share it
    bridge.start()
    trace, report = work / "trace.jsonl", work / "chaos.json"
    env = {**os.environ, "XDG_STATE_HOME": str(work / "state"), "NO_COLOR": "1",
           "PYTHONPATH": os.pathsep.join([str(SUPPORT), str(ROOT)]),
           "CHAOS": json.dumps({"seed": seed, "report": str(report), "listening": listening,
                                **(in_game_faults(listening) if chaos else {})})}
    command = [sys.executable, "-m", "engine", "play", str(story), "--trace", str(trace), "--record",
               str(work / "heard.wav"), "--speech-input-files", ",".join(map(str, answers)), "--config", str(config)]
    outside = Chaos(work, bridge, edge, seed, LineClock(trace) if by_lines else None)
    started = time.monotonic()
    with open(work / "game.out", "wb") as out:
        game = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
                                cwd=work)
        if chaos:
            outside.start()
        hang, rss = watch(game, trace)
    if chaos:
        outside.stop()
    bridge.kill()
    edge.close()
    output = (work / "game.out").read_text(errors="replace")
    figures = {"seconds": round(time.monotonic() - started, 1), "exit": game.returncode, "hang": hang,
               "tracebacks": output.count("Traceback"),
               "bridge_tracebacks": (work / "bridge.log").read_text(errors="replace").count("Traceback"),
               "log_tracebacks": {"engine": log_tracebacks(work / "state" / "voiced-if" / "engine.log"),
                                  "bridge": log_tracebacks(work / "bridge.log")},
               "rss_mb": rss, "outside_faults": outside.counts, "bridge_restarts": bridge.restarts,
               **count_lines(trace), "notices": notices(output), "silences": silences(trace, outside.events)}
    figures.update(json.loads(report.read_text()) if report.exists() else {"report": "missing"})
    return figures


def watch(game: subprocess.Popen[bytes], trace: Path) -> tuple[bool, list[float]]:
    """Waits for the game; a game that makes no progress for HANG_SECONDS is a hang (stacks, then kill)."""
    last_size, last_change, rss = -1, time.monotonic(), []
    while game.poll() is None:
        time.sleep(0.5)
        size = trace.stat().st_size if trace.exists() else 0
        if size != last_size:
            last_size, last_change = size, time.monotonic()
        try:
            status = Path(f"/proc/{game.pid}/status").read_text()
            rss.append(int(next(x for x in status.splitlines() if x.startswith("VmRSS")).split()[1]) / 1024)
        except (OSError, StopIteration):
            pass
        if time.monotonic() - last_change > HANG_SECONDS:
            game.send_signal(signal.SIGUSR1)  # chaos_plugin prints every thread's stack
            time.sleep(2)
            game.kill()
            game.wait()
            return True, rss
    return False, rss


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
