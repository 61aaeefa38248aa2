"""Crash safety: processes killed with SIGKILL at random moments while they write; then started again.

Nothing corrupt is ever served or loaded, stale temporary files are cleaned, saves load or are
refused with a sentence, and a recording is a playable WAV of what was heard up to the kill.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile

from plugins.voice.casting.references import check
from plugins.voice.core.settings import CacheSettings
from plugins.voice.store.cache import STALE_SECONDS, AudioCache, cache_key
from tests.support.common import ENDINGS, ROOT, TOMB, engine_env, run_engine
from tests.support.voice import write_config

pytestmark = pytest.mark.slow
RANDOM = random.Random(12)

WRITER = """
import sys
import numpy as np
from pathlib import Path
from plugins.voice.core.audio import AudioChunk
from plugins.voice.store.cache import AudioCache, cache_key
from plugins.voice.core.settings import CacheSettings

cache = AudioCache(CacheSettings(dir=Path(sys.argv[1])))
for n in range(100000):
    samples = np.full(11025, (n % 50) / 100, dtype=np.float32)
    cache.put(cache_key(n=n), AudioChunk(samples, 22050))
    print(n, flush=True)
"""


def kill_after_lines(command: list[str], lines: int, extra: float, **options: object) -> None:
    """Kills the process `extra` seconds after it printed `lines` lines (its progress, not the clock: on a busy
    machine a process may not have started writing after seconds)."""
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, **options)  # type: ignore[call-overload]
    assert process.stdout is not None
    for _ in range(lines):
        if not process.stdout.readline():
            break
    time.sleep(extra)
    process.send_signal(signal.SIGKILL)
    process.wait()
    process.stdout.close()


def kill_after(command: list[str], seconds: float, **options: object) -> None:
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **options)  # type: ignore[call-overload]
    time.sleep(seconds)
    process.send_signal(signal.SIGKILL)
    process.wait()


def test_cache_writers_killed_at_random_never_leave_a_served_corrupt_entry(tmp_path: Path) -> None:
    folder = tmp_path / "cache"
    for _ in range(6):  # killed at random moments of its writing: after 25-60 entries, then 0-30 ms into the next
        kill_after_lines([sys.executable, "-c", WRITER, str(folder)], RANDOM.randint(25, 60), RANDOM.uniform(0, 0.03),
                         cwd=ROOT, env=engine_env())
    cache = AudioCache(CacheSettings(dir=folder))
    written = len(cache._all())
    assert written > 20
    for n in range(written + 50):  # every entry there is either right or not served at all
        audio = cache.get(cache_key(n=n))
        if audio is not None:
            assert np.allclose(audio.samples, (n % 50) / 100, atol=1e-4)
    # what a killed writer leaves behind: a half-written temporary file beside the entries
    leftover = folder / "ab" / ".abcd.wav.x1y2.tmp"
    leftover.parent.mkdir(exist_ok=True)
    leftover.write_bytes(b"RIFF" + b"\0" * 5000)
    old = time.time() - STALE_SECONDS - 60
    for stale in folder.glob("??/.*.tmp"):
        os.utime(stale, (old, old))
    found = len(list(folder.glob("??/.*.tmp")))
    assert cache.stats().bytes >= 5004  # counted in the cache's size
    assert AudioCache(CacheSettings(dir=folder)).evict() >= found
    assert not list(folder.glob("??/.*.tmp"))


def test_seeding_killed_at_random_then_run_again_gives_valid_voices(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    voices = tmp_path / "voices"
    command = [sys.executable, "-m", "engine", "voices", "seed", str(TOMB), "--config", str(config)]
    for _ in range(3):
        kill_after(command, RANDOM.uniform(1.5, 4.0), cwd=ROOT, env=engine_env())
        for path in voices.glob("*.wav"):
            check(path)  # every WAV there is whole, even right after a kill
        if (voices / "voice_map.json").exists():
            json.loads((voices / "voice_map.json").read_text())
    old = time.time() - 120
    for stale in voices.glob(".*.tmp"):
        os.utime(stale, (old, old))
    finished = run_engine("voices", "seed", TOMB, "--config", config)
    assert finished.returncode == 0, finished.stderr
    assert sorted(p.stem for p in voices.glob("*.wav")) == sorted(json.loads((voices / "voice_map.json").read_text())
                                                                  .values())
    for path in voices.glob("*.wav"):
        check(path)
    assert not list(voices.glob(".*.tmp"))  # the next seeding cleans what a killed one left


def test_a_recording_killed_mid_game_is_a_playable_wav_of_what_was_heard(tmp_path: Path) -> None:
    record, trace = tmp_path / "heard.wav", tmp_path / "t.jsonl"
    config = write_config(tmp_path, voice="line_gap = 0.0")
    choices = ",".join(map(str, ENDINGS["Buried Again"]))
    process = subprocess.Popen([sys.executable, "-m", "engine", "play", str(TOMB), "--pace", "listen", "--choices",
                                choices, "--record", str(record), "--trace", str(trace), "--config", str(config)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, cwd=ROOT,
                               env=engine_env())
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and (not trace.exists() or trace.read_text().count('"event": "voice"') < 4):
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    spoken = [json.loads(x) for x in trace.read_text().splitlines() if '"event": "voice"' in x]
    assert len(spoken) >= 4
    samples, rate = soundfile.read(record, dtype="int16")
    assert rate == 24000 and len(samples) > 0
    # at least the lines the trace says were spoken are in it (a line being played may be there too)
    assert len(samples) / rate >= 0.9 * sum(r.get("seconds", 0.0) for r in spoken)


def test_a_damaged_save_is_refused_with_one_sentence(tmp_path: Path) -> None:
    from engine import load_story
    from engine.core.saves import save_path

    config = write_config(tmp_path)
    save = save_path(tmp_path / "saves", load_story(TOMB))
    save.parent.mkdir(parents=True)
    save.write_text('{"format": 1, "scene": "gate", "pc"')  # what a non-atomic writer killed mid-write would leave
    refused = run_engine("play", TOMB, "--continue", "--pace", "instant", "--choices", "1", "--config", config)
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert refused.stderr.strip() == f"engine: The saved game {save} is damaged; delete it to start again."


def test_half_written_latents_are_recomputed(installed_xtts: Path, reference_wav: Path, tmp_path: Path) -> None:
    from plugins.voice.core.settings import XttsSettings
    from plugins.voice.core.voice import LineSettings
    from plugins.voice.engines.xtts.engine import XttsEngine
    from tests.support.xtts_helpers import latents_computed, xtts_voice

    settings = XttsSettings(model_dir=installed_xtts, latents_dir=tmp_path / "latents", while_loading="wait")
    first = XttsEngine(settings)
    list(first.synthesize("Hello.", xtts_voice(reference_wav), LineSettings()))
    first.close()
    (stored,) = (tmp_path / "latents").glob("*.pt")
    stored.write_bytes(stored.read_bytes()[:100])
    again = XttsEngine(settings)
    computed = latents_computed(again)
    assert list(again.synthesize("Hello.", xtts_voice(reference_wav), LineSettings()))
    again.close()
    assert len(computed) == 1 and stored.stat().st_size > 100
