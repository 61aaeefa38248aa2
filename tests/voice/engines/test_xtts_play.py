"""XTTS in a game: `engine play`, `engine say`, `engine models`, and a failure in the middle of a game."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any

import pytest

from engine import SpokenLine, load_story
from plugins.voice.casting.cast import Cast
from plugins.voice.casting.references import ReferenceStore
from plugins.voice.core.settings import CacheSettings, XttsSettings
from plugins.voice.engines.piper.engine import PiperEngine
from plugins.voice.engines.xtts.engine import XttsEngine
from plugins.voice.output.playback import Output
from plugins.voice.output.sinks import NullSink
from plugins.voice.pipeline.fallback import Fallback
from plugins.voice.pipeline.speaker import Speaker
from plugins.voice.store.cache import AudioCache
from tests.support.common import CRYPT, TOMB, run_engine
from tests.support.voice import PATIENT, TINY_LINES, write_config
from tests.support.xtts_helpers import Spy

pytestmark = pytest.mark.slow


def xtts_config(tmp_path: Path, tiny_xtts_dir: Path, reference: Path, wait: bool = True, seed: bool = False) -> Path:
    source = tmp_path / "from-user"
    shutil.copytree(tiny_xtts_dir, source)
    (source / "speakers_xtts.pth").unlink()  # a model that reports speakers=0 works the same
    config = write_config(tmp_path, voice=(
        f'auto_seed = {str(seed).lower()}\nwhen_slow = "stream"\n'  # same engines on a busy machine
        f'[voice.xtts]\nmodel_dir = "{tmp_path / "models" / "xtts_v2"}"\nlatents_dir = "{tmp_path / "latents"}"\n'
        f'while_loading = "{"wait" if wait else "fallback"}"\n{TINY_LINES}'))
    shutil.copy(reference, tmp_path / "voices" / "god_deep.wav")
    installed = run_engine("models", "install", "xtts", "--from", source, "--config", config)
    assert installed.returncode == 0, installed.stderr
    assert "model.pth  sha256 " in installed.stdout
    return config


def test_play_speaks_the_cloned_character_with_xtts(tmp_path: Path, tiny_xtts_dir: Path, reference_wav: Path) -> None:
    config = xtts_config(tmp_path, tiny_xtts_dir, reference_wav)
    trace = tmp_path / "t.jsonl"
    result = run_engine("play", CRYPT, "--pace", "instant", "--choices", "1", "--trace", trace, "--config", config)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stdout + result.stderr and "[transformers]" not in result.stdout + result.stderr
    voices = [json.loads(x) for x in trace.read_text().splitlines() if '"event": "voice"' in x]
    god = [v for v in voices if v["character_id"] == "god"]
    others = [v for v in voices if v["character_id"] != "god"]
    assert len(god) == 2 and {v["engine"] for v in god} == {"xtts"}
    assert all(v["first_audio_ms"] is not None for v in god)
    assert {v["engine"] for v in others} == {"piper"}  # every other character keeps its own voice
    assert result.stdout.count("xtts cannot speak for Tariq: no reference WAV") == 1
    verified = run_engine("models", "verify", "--config", config)
    assert verified.returncode == 0 and "xtts: ok (3 files" in verified.stdout


def test_lines_before_the_model_is_ready_use_the_fallback(tmp_path: Path, tiny_xtts_dir: Path,
                                                          reference_wav: Path) -> None:
    config = xtts_config(tmp_path, tiny_xtts_dir, reference_wav, wait=False)
    trace = tmp_path / "t.jsonl"
    result = run_engine("play", CRYPT, "--pace", "instant", "--choices", "2", "--trace", trace, "--config",
                        config)  # the shortest game: only its first lines matter
    assert result.returncode == 0
    assert "xtts voice unavailable: its model is still loading" in result.stdout
    first = next(json.loads(x) for x in trace.read_text().splitlines() if '"event": "voice"' in x)
    assert first["engine"] == "piper" and first["fallback"][0]["reason"] == "its model is still loading"


def test_say_with_xtts_and_models_verify_failure(tmp_path: Path, tiny_xtts_dir: Path, reference_wav: Path) -> None:
    config = xtts_config(tmp_path, tiny_xtts_dir, reference_wav)
    out = tmp_path / "god.wav"
    said = run_engine("say", "--story", TOMB, "--character", "god", "Why have you come?", "-o", out, "--engine", "xtts",
                      "--config", config)
    assert said.returncode == 0 and "at 24000 Hz by xtts" in said.stdout, said.stderr
    with (tmp_path / "models" / "xtts_v2" / "model.pth").open("r+b") as handle:
        handle.seek(1000)
        handle.write(b"\x00\x01\x02")
    verified = run_engine("models", "verify", "--config", config)
    assert verified.returncode == 1 and "model.pth changed since it was installed" in verified.stdout
    refused = run_engine("say", "--story", TOMB, "--character", "god", "Hi.", "-o", out, "--engine", "xtts",
                         "--config", config)
    assert refused.returncode == 1 and "changed since it was installed" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1


def test_xtts_failing_mid_game_falls_back_then_returns(tmp_path: Path, installed_xtts: Path, reference_wav: Path,
                                                       piper: PiperEngine) -> None:
    story = load_story(TOMB)
    shutil.copy(reference_wav, tmp_path / "god_deep.wav")
    engine = XttsEngine(XttsSettings(model_dir=installed_xtts, latents_dir=tmp_path / "l", while_loading="wait"))
    notices: list[str] = []
    records: list[dict[str, Any]] = []
    fallback = Fallback({"xtts": engine, "piper": piper}, ["xtts", "piper"], notices.append, 0.2)
    cast = Cast(story, tmp_path, "xtts", {}, ReferenceStore(tmp_path / "checked"))
    speaker = Speaker(cast, fallback, AudioCache(CacheSettings(tmp_path / "c")),
                      Output(NullSink(), 24000, -20.0, notices.append), records.append, notices.append,
                      stall=PATIENT).start()

    def say(n: int) -> dict[str, Any]:
        job = speaker.say(SpokenLine(f"god.{n}", "s", "god", "Khepri-Anu", f"Line {n} of the god.", False, "en"))
        assert job.done.wait(120)
        return records[-1]

    assert say(1)["engine"] == "xtts"
    assert engine.warmed.wait(60)  # its warm-up line would take the failure meant for line 2
    import torch

    with Spy(engine, fail_once=torch.cuda.OutOfMemoryError("CUDA out of memory")):
        failed = say(2)
        assert failed["engine"] == "piper"  # the line is spoken again, by the fallback
        assert failed["fallback"] == [{"engine": "xtts", "reason": "ran out of GPU memory", "code": "XTTS_FAILED"}]
        assert (tmp_path / "god_deep.wav").read_bytes() == reference_wav.read_bytes()  # seeds are never touched
        assert notices.count("xtts voice unavailable: ran out of GPU memory. Using the next engine.") == 1
        deadline = time.monotonic() + 10
        while "xtts voice is ready." not in notices and time.monotonic() < deadline:
            time.sleep(0.05)
        assert say(3)["engine"] == "xtts"  # back, without a restart
    speaker.close(drain=True)


def test_play_seeds_missing_voices_before_the_first_line(tmp_path: Path, tiny_xtts_dir: Path,
                                                          reference_wav: Path) -> None:
    config = xtts_config(tmp_path, tiny_xtts_dir, reference_wav, seed=True)
    (tmp_path / "voices" / "piper_voices.toml").write_text('[scribe_dry]\nmodel = "no_such_piper_voice"\n')
    trace = tmp_path / "t.jsonl"
    result = run_engine("play", CRYPT, "--pace", "instant", "--choices", "1", "--trace", trace, "--config", config)
    assert result.returncode == 0, result.stderr
    assert "Seeding 4 reference voice(s) with Piper before the first line..." in result.stdout
    assert "seeding scribe (4/4)" in result.stdout
    records = [json.loads(x) for x in trace.read_text().splitlines()]
    seeds = {r["character_id"]: r["status"] for r in records if r["event"] == "seed"}
    assert seeds == {"archaeologist": "created", "guide": "created", "narrator": "created",
                     "scribe": "VOICE_SEED_FAILED"}
    voices = [r for r in records if r["event"] == "voice"]
    first_voice = next(i for i, r in enumerate(records) if r["event"] == "voice")
    assert max(i for i, r in enumerate(records) if r["event"] == "seed") < first_voice  # seeding came first
    assert {v["engine"] for v in voices if v["character_id"] != "scribe"} == {"xtts"}
    scribe = [v for v in voices if v["character_id"] == "scribe"]
    assert scribe and all(v["engine"] is None for v in scribe)
    assert all({"engine": "xtts", "reason": "VOICE_SEED_FAILED: its reference WAV could not be seeded",
                "code": "VOICE_SEED_FAILED"} in v["fallback"] for v in scribe)


def test_say_with_xtts_on_a_fresh_clone_seeds_the_reference_first(tmp_path: Path, tiny_xtts_dir: Path) -> None:
    from plugins.voice.casting.references import check
    from plugins.voice.engines.models import XTTS, install

    install(XTTS, tiny_xtts_dir, tmp_path / "models" / "xtts_v2")
    config = write_config(tmp_path, voice=(
        f'[voice.xtts]\nmodel_dir = "{tmp_path / "models" / "xtts_v2"}"\nlatents_dir = "{tmp_path / "latents"}"\n'))
    out = tmp_path / "guide.wav"
    said = run_engine("say", "--story", TOMB, "--character", "guide", "Stay close to me.", "-o", out, "--engine", "xtts",
                      "--config", config)
    assert said.returncode == 0, said.stderr
    assert "Seeding guide_young.wav with Piper: created." in said.stderr and "by xtts." in said.stdout
    check(tmp_path / "voices" / "guide_young.wav")
    assert json.loads((tmp_path / "voices" / "voice_map.json").read_text())["guide"] == "guide_young"
