"""Pocket TTS in a game (a tiny model with random weights through the real code): the tomb to an ending with
prefetch and the quality gate, a reference replaced during play, a damaged model, a stalled stream."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from engine import PlayContext, SpokenLine, load_story
from plugins.voice.core.settings import PocketSettings, StallSettings
from plugins.voice.engines.pocket.engine import PocketEngine
from plugins.voice.plugin import VoicePlugin
from tests.support.audio_checks import write_tone
from tests.support.common import CRYPT, ENDINGS, ROOT, TOMB, engine_env, run_engine
from tests.support.stall_helpers import MARGIN, Rig, spoken
from tests.support.voice import write_config
from tests.voice.test_whole import BURIED, documented_threads

pytestmark = pytest.mark.slow


def pocket_config(tmp_path: Path, installed_pocket: Path, voice: str = "", engine: str = "") -> Path:
    models = tmp_path / "models" / "pocket"
    shutil.copytree(installed_pocket, models)
    return write_config(tmp_path, engine=engine, voice=(
        f'cloning = "pocket"\n{voice}[voice.pocket]\nmodel_dir = "{models}"\nstates_dir = "{tmp_path / "states"}"\n'))


def test_the_tomb_to_an_ending_in_pocket_voices_with_prefetch_and_the_gate(tmp_path: Path,
                                                                           installed_pocket: Path) -> None:
    config = pocket_config(tmp_path, installed_pocket, engine="words_per_minute = 800\nmin_pause = 0.05",
                           voice='when_slow = "stream"\n')
    config.write_text(config.read_text() + '[voice.quality]\nplay = true\n[plugins]\nmodules = ["chaos_plugin"]\n')
    trace, report = tmp_path / "t.jsonl", tmp_path / "report.json"
    chaos = engine_env(CHAOS=json.dumps({"report": str(report)}))
    result = subprocess.run([sys.executable, "-m", "engine", "play", str(TOMB), "--pace", "read", "--choices",
                             ",".join(map(str, ENDINGS[BURIED])), "--trace", str(trace), "--config", str(config)],
                            capture_output=True, text=True, cwd=ROOT, env=chaos, timeout=480, stdin=subprocess.DEVNULL)
    output = result.stdout + result.stderr
    assert result.returncode == 0 and "Traceback" not in output, output
    assert result.stdout.rstrip().endswith(f"*** {BURIED} ***")
    assert "Seeding 5 reference voice(s) with Piper before the first line..." in result.stdout  # as for XTTS
    records = [json.loads(x) for x in trace.read_text().splitlines()]
    reached = [r["line_id"] for r in records if r["event"] in ("narration", "dialogue")]
    voiced = [r for r in records if r["event"] == "voice"]
    assert [r["line_id"] for r in voiced] == reached and {r["engine"] for r in voiced} == {"pocket"}
    speakers = {r["character_id"] for r in voiced}
    assert len(speakers) >= 3 and len({r["reference"] for r in voiced}) == len(speakers)  # each its own voice
    assert any(r["prefetched"] for r in voiced)
    checked = [r for r in records if r["event"] == "quality" and r["engine"] == "pocket"]
    assert checked and not [r for r in checked if "error" in r or r["passed"]]  # random weights say no word
    seen = json.loads(report.read_text())
    assert seen["end"]["threads"] == ["MainThread"]
    ours = [name for name, module in seen["seen_in"].items() if module.split(".")[0] in ("engine", "plugins")]
    assert [name for name in ours if not documented_threads()(name)] == []


def test_a_reference_replaced_during_play_changes_the_voice_from_the_next_line(tmp_path: Path,
                                                                               installed_pocket: Path) -> None:
    config = pocket_config(tmp_path, installed_pocket, voice="auto_seed = false\n")
    voices = tmp_path / "voices"
    write_tone(voices / "god_deep.wav", 3, 110)
    records: list[dict[str, Any]] = []
    notices: list[str] = []
    plugin = VoicePlugin()
    from engine.config import load_config

    plugin.engine_story_loaded(PlayContext(load_story(TOMB), load_config(config), {}, records.append, notices.append,
                                           game="pocket"))

    def speak(n: int) -> dict[str, Any]:
        line = SpokenLine(f"god.{n}", "sanctum", "god", "Khepri-Anu", "Who walks so softly in my house?", False, "en")
        plugin.engine_dialogue(line, "pocket")
        assert plugin.engine_line_delivery(line, "pocket").wait(60)
        return [r for r in records if r.get("event") == "voice" and r["line_id"] == line.line_id][0]

    try:
        first = speak(1)
        assert first["engine"] == "pocket" and first["cache"] == "miss"
        (tmp_path / "new.wav").write_bytes(write_tone(tmp_path / "tone.wav", 4, 180).read_bytes())
        (tmp_path / "new.wav").replace(voices / "god_deep.wav")
        deadline = time.monotonic() + 10
        while "New voice for Khepri-Anu from god_deep.wav." not in notices and time.monotonic() < deadline:
            time.sleep(0.05)
        assert "New voice for Khepri-Anu from god_deep.wav." in notices, notices
        changed = speak(2)
        assert changed["engine"] == "pocket" and changed["reference"] != first["reference"]
        assert changed["cache"] == "miss" and len(list((tmp_path / "states").iterdir())) == 2  # its own state
    finally:
        plugin.engine_story_ended(ending=None, reason="quit", game="pocket")


def test_a_damaged_model_is_one_notice_and_the_next_engine_speaks(tmp_path: Path, installed_pocket: Path,
                                                                  reference_wav: Path) -> None:
    config = pocket_config(tmp_path, installed_pocket, voice="auto_seed = false\n")
    shutil.copy(reference_wav, tmp_path / "voices" / "god_deep.wav")
    with (tmp_path / "models" / "pocket" / "en" / "model.safetensors").open("r+b") as handle:
        handle.seek(4000)
        handle.write(b"\x00\x01\x02")
    trace = tmp_path / "t.jsonl"
    result = run_engine("play", CRYPT, "--pace", "instant", "--choices", "1", "--trace", trace, "--config", config)
    assert result.returncode == 0 and "Traceback" not in result.stdout + result.stderr, result.stderr
    assert result.stdout.count("pocket voice unavailable:") == 1, result.stdout
    assert "model.safetensors changed since it was installed" in result.stdout
    god = [json.loads(x) for x in trace.read_text().splitlines() if '"character_id": "god"' in x and '"voice"' in x]
    assert god and {r["engine"] for r in god} == {"piper"}


def test_a_stalled_pocket_stream_is_replaced_within_the_stall_budget(tmp_path: Path, installed_pocket: Path,
                                                                     reference_wav: Path, piper: Any) -> None:
    """Another line keeps the model's turn (a chunk that does not come back): the line waits no longer than its
    budget for its first audio, then the next engine speaks it."""
    shutil.copytree(installed_pocket, tmp_path / "pocket")
    pocket = PocketEngine(PocketSettings(model_dir=tmp_path / "pocket", states_dir=tmp_path / "states"))
    (tmp_path / "voices").mkdir()
    shutil.copy(reference_wav, tmp_path / "voices" / "guide_young.wav")
    budget = StallSettings(grace=1.0, first_network=1.0, first_local=1.0, prefetch=1.0)
    rig = Rig(tmp_path, {"pocket": pocket, "piper": piper}, budget)
    rig.cast.set_voice_map({"guide": "guide_young"})
    release, holding = threading.Event(), threading.Event()

    def hold() -> None:
        with pocket.turns.turn():
            holding.set()
            release.wait(60)

    holder = threading.Thread(target=hold, name="test-holds-the-model")
    try:
        assert rig.speak(spoken(1))["engine"] == "pocket"
        holder.start()
        assert holding.wait(10)
        record = rig.speak(spoken(2, text="The second line is not in the cache yet, so it needs the model."))
        assert record["engine"] == "piper"
        (passed,) = record["fallback"]
        assert passed["engine"] == "pocket" and passed["reason"].startswith("sent no audio for ")
        assert float(passed["reason"].split()[4]) < budget.first_local + MARGIN
    finally:
        release.set()
        holder.join(10)
        rig.speaker.close(drain=True)


def test_a_pack_rendered_with_pocket_verifies_as_rendered(tmp_path: Path, installed_pocket: Path) -> None:
    """`engine render` with Pocket voices (their references seeded first), then `engine pack verify` in another
    process: the same signatures (the model's key does not change when it loads; verify checks the references
    as the render did)."""
    config = pocket_config(tmp_path, installed_pocket)
    pack = tmp_path / "pack"
    rendered = run_engine("render", CRYPT, "--out", pack, "--no-gate", "--config", config)
    assert rendered.returncode == 0 and "0 failed" in rendered.stdout, rendered.stdout + rendered.stderr
    entries = json.loads((pack / "manifest.json").read_text())["entries"]
    assert {entry["engine"] for entry in entries.values() if entry["character_id"] == "god"} == {"pocket"}
    verified = run_engine("pack", "verify", CRYPT, "--pack", pack, "--config", config)
    assert verified.returncode == 0 and " 0 problem(s)" in verified.stdout, verified.stdout
