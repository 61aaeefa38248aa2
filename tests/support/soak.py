"""The soak's rig: a generated looping story with every engine, faults inside and outside the game, and the
figures of what the player heard. bench/soak.py runs it long; tests/voice/test_whole.py runs it short."""


from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from tests.support.soak_faults import Bridge, Chaos, LineClock
from tests.support.soak_report import count_lines, log_tracebacks, notices, silences

ROOT = Path(__file__).resolve().parents[2]
SUPPORT = ROOT / "tests" / "support"

HANG_SECONDS = 30.0
CAST = {  # character -> engine: every engine at once
    "narrator": "piper", "guide": "xtts", "keeper": "xtts", "oracle": "xtts-remote", "scribe": "kokoro",
    "herald": "edge", "sage": "pocket",
}
ANSWERS = ["Take the left door.", "Take the right door.", "Climb the stairs."]
IN_GAME_FAULTS = {"piper_error": 0.03, "kokoro_error": 0.05, "xtts_oom": 0.03, "xtts_error": 0.03,
                  "pocket_error": 0.03, "enospc": 0.03, "sink_error": 0.002}


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
cloning = "xtts"  # XTTS's characters stay XTTS's on every machine; the sage names pocket
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

[voice.pocket]
model_dir = "{work / 'models' / 'pocket'}"
states_dir = "{work / 'pocket-voices'}"

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
    from plugins.voice.engines.pocket.install import install_pocket
    from tests.support.pocket_model import make_pocket_model
    from tests.support.tiny_xtts import build_tiny_xtts

    story = work / "story"
    write_story(story, scenes=max(6, lines // 40), seed=seed)
    (work / "voices").mkdir(parents=True)
    (work / "spares").mkdir()
    install(XTTS, build_tiny_xtts(), work / "models" / "xtts_v2")
    install_pocket(make_pocket_model(work / "pocket-download"), work / "models" / "pocket" / "en", "en")
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

