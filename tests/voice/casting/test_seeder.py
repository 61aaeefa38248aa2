"""VoiceSeeder: Piper -> reference WAV per character, deterministic, idempotent, distinct."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile

from engine import load_story
from plugins.voice.casting.seed_texts import seed_text
from plugins.voice.casting.seeder import SEED_FAILED, VoiceSeeder
from plugins.voice.core.settings import PiperSettings
from tests.support.audio_checks import median_pitch, spectral_centroid
from tests.support.common import ROOT, TOMB, run_engine
from tests.support.voice import set_profile, write_config

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("seeder")]  # one worker builds the module's fixtures once


def seed(config: Path, *extra: str, story: Path = TOMB) -> tuple[int, str]:
    result = run_engine("voices", "seed", story, "--config", config, *extra, COLUMNS="250")
    assert "Traceback" not in result.stdout + result.stderr
    return result.returncode, result.stdout


def snapshot(folder: Path) -> dict[str, tuple[int, bytes]]:
    return {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in sorted(folder.iterdir()) if p.is_file()}


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tomb seeded once with the shipped voices/piper_voices.toml."""
    tmp = tmp_path_factory.mktemp("seeded")
    config = write_config(tmp)
    shutil.copy(ROOT / "voices" / "piper_voices.toml", tmp / "voices")
    code, out = seed(config)
    assert code == 0 and out.count("created") == 5, out
    return tmp / "voices"


def test_one_wav_per_character_in_the_spec_format(seeded: Path) -> None:
    story = load_story(TOMB)
    voice_map = json.loads((seeded / "voice_map.json").read_text())
    assert voice_map == {cid: c.profile["voice_id"] for cid, c in story.characters.items()}
    for cid, character in story.characters.items():
        info = soundfile.info(seeded / f"{voice_map[cid]}.wav")
        assert (info.samplerate, info.channels, info.subtype, info.format) == (22050, 1, "PCM_16", "WAV")
        target = character.profile["voice_seed_seconds_target"]
        assert 0.6 * target < info.duration < 1.4 * target, (cid, info.duration)


def test_seeds_sound_distinct(seeded: Path) -> None:
    features = {}
    for path in sorted(seeded.glob("*.wav")):
        samples, rate = soundfile.read(path, dtype="float32")
        features[path.stem] = (median_pitch(samples, rate), spectral_centroid(samples, rate))
    pitches = {name: pitch for name, (pitch, _) in features.items()}
    assert pitches["god_deep"] < 0.85 * pitches["narrator_warm"] < pitches["scribe_dry"] * 0.85
    names = sorted(features)
    for i, first in enumerate(names):
        for second in names[i + 1:]:
            (p1, c1), (p2, c2) = features[first], features[second]
            assert abs(p1 - p2) / max(p1, p2) > 0.04 or abs(c1 - c2) / max(c1, c2) > 0.04, (first, second)


def test_deterministic_across_processes_and_idempotent(seeded: Path, tmp_path: Path) -> None:
    config = write_config(tmp_path)
    shutil.copy(ROOT / "voices" / "piper_voices.toml", tmp_path / "voices")
    assert seed(config)[0] == 0  # another process, another folder
    for path in seeded.glob("*.wav"):
        assert (tmp_path / "voices" / path.name).read_bytes() == path.read_bytes(), path.name
    before = snapshot(tmp_path / "voices")
    code, out = seed(config)
    assert code == 0 and out.count("kept") == 5
    assert snapshot(tmp_path / "voices") == before  # nothing rewritten: same bytes, same mtimes


def test_force_regenerates_every_wav(seeded: Path, tmp_path: Path) -> None:
    config = write_config(tmp_path)
    shutil.copytree(seeded, tmp_path / "voices", dirs_exist_ok=True)
    before = snapshot(tmp_path / "voices")
    code, out = seed(config, "--force-regenerate-voices")
    assert code == 0 and out.count("regenerated") == 5
    after = snapshot(tmp_path / "voices")
    for name in (n for n in before if n.endswith(".wav")):
        assert after[name][0] != before[name][0] and after[name][1] == before[name][1]
    assert after["voice_map.json"] == before["voice_map.json"]


def test_missing_voice_id_and_seed_text_are_made_up(story_copy: Path, tmp_path: Path) -> None:
    set_profile(story_copy, "guide", voice_id=None, voice_seed_text=None)
    config = write_config(tmp_path)
    code, out = seed(config, story=story_copy)
    assert code == 0
    assert json.loads((tmp_path / "voices" / "voice_map.json").read_text())["guide"] == "guide_voice"
    assert soundfile.info(tmp_path / "voices" / "guide_voice.wav").duration > 5
    for language in ("en", "de", "fr", "es"):
        words = seed_text("guide", language).split()
        assert 60 <= len(words) <= 120 and not any(w.endswith(":") for w in words)
    assert seed_text("guide", "de") != seed_text("guide", "en") and seed_text("guide", "en") != seed_text("god", "en")


def test_a_failed_seed_is_marked_and_reported(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    (tmp_path / "voices" / "piper_voices.toml").write_text('[god_deep]\nmodel = "no_such_piper_voice"\n')
    code, out = seed(config)
    assert code == 1
    assert SEED_FAILED in out and "no Piper voice named 'no_such_piper_voice'" in out
    assert not (tmp_path / "voices" / "god_deep.wav").exists()
    assert out.count("created") == 4


def test_seeder_progress_and_results(tmp_path: Path) -> None:
    steps: list[tuple[int, int, str]] = []
    seeder = VoiceSeeder(load_story(TOMB), tmp_path, PiperSettings())
    results = seeder.seed(only=["god", "scribe"], progress=lambda n, total, c: steps.append((n, total, c)))
    assert steps == [(1, 2, "god"), (2, 2, "scribe")]
    assert [(r.character_id, r.status) for r in results] == [("god", "created"), ("scribe", "created")]
    assert np.isfinite(soundfile.read(tmp_path / "god_deep.wav")[0]).all()
