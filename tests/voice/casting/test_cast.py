"""Who speaks: resolution order, its errors, and reference paths that must stay inside voices/."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from engine import load_story
from plugins.voice.casting.cast import Cast, read_voice_map, safe_path
from plugins.voice.casting.references import ReferenceStore
from plugins.voice.core.errors import MissingVoice, UnsafePath, VoiceError
from tests.support.audio_checks import write_tone
from tests.support.common import CRYPT, run_engine
from tests.support.voice import set_profile


def copy_of(story: Path, tmp_path: Path) -> Path:
    target = tmp_path / story.name
    shutil.copytree(story, target)
    return target


def test_profile_voice_id_comes_first_then_the_map(story_copy: Path, tmp_path: Path) -> None:
    set_profile(story_copy, "guide", voice_id=None)
    story = load_story(story_copy)
    cast = Cast(story, tmp_path, "piper", {"guide": "mapped_guide", "god": "mapped_god"}, ReferenceStore(tmp_path / "c"))
    assert cast.voice_for("god").voice_id == "god_deep"  # the profile wins over the map
    assert cast.voice_for("guide").voice_id == "mapped_guide"  # no profile voice_id: the map


def test_missing_voice_is_a_clear_error(story_copy: Path, tmp_path: Path) -> None:
    set_profile(story_copy, "guide", voice_id=None)
    story = load_story(story_copy)
    # a map keyed by the display name must not be used: voices never come from display names
    cast = Cast(story, tmp_path, "piper", {"Tariq": "tariq_voice"}, ReferenceStore(tmp_path / "c"))
    with pytest.raises(MissingVoice, match="missing voice_id for character_id guide"):
        cast.voice_for("guide")


def test_reference_is_the_clone_ref_else_voice_id_wav(story_copy: Path, tmp_path: Path) -> None:
    voices = tmp_path / "voices"
    write_tone(voices / "god_deep.wav", 2.0, 140)
    set_profile(story_copy, "god", voice_clone_ref=None)
    set_profile(story_copy, "guide", voice_clone_ref="voices/other.wav")

    def cast() -> Cast:
        found = Cast(load_story(story_copy), voices, "piper", {}, ReferenceStore(tmp_path / "checked"))
        found.check_references(print)
        return found

    god, guide = cast().voice_for("god"), cast().voice_for("guide")
    assert len(god.references) == 1 and god.reference_hash is not None  # the checked copy of god_deep.wav
    assert guide.references == () and guide.reference_hash is None  # voices/other.wav does not exist
    write_tone(voices / "other.wav", 2.0, 200)
    write_tone(voices / "more.wav", 2.0, 300)
    set_profile(story_copy, "guide", voice_clone_ref=["other.wav", "more.wav"])
    several = cast().voice_for("guide")
    assert len(several.references) == 2
    write_tone(voices / "more.wav", 2.5, 300)
    changed = cast().voice_for("guide")
    assert changed.reference_hash != several.reference_hash


@pytest.mark.parametrize("bad", ["../x.wav", "/etc/passwd", "a/../../x.wav", "voices/../../x.wav", ""])
def test_paths_may_not_escape(bad: str, tmp_path: Path) -> None:
    voices = tmp_path / "voices"
    voices.mkdir()
    with pytest.raises(UnsafePath, match="must stay inside voices/"):
        safe_path(voices, bad)


def test_symlinks_may_not_escape(tmp_path: Path) -> None:
    voices = tmp_path / "voices"
    voices.mkdir()
    (tmp_path / "secret.wav").write_bytes(b"x")
    os.symlink(tmp_path / "secret.wav", voices / "link.wav")
    (voices / "real.wav").write_bytes(b"x")
    os.symlink(voices / "real.wav", voices / "inside.wav")
    with pytest.raises(UnsafePath):
        safe_path(voices, "link.wav")
    assert safe_path(voices, "inside.wav") == voices / "inside.wav"
    assert safe_path(voices, "voices/real.wav") == voices / "real.wav"


def test_voice_map_must_be_a_json_object_of_strings(tmp_path: Path) -> None:
    assert read_voice_map(tmp_path) == {}
    (tmp_path / "voice_map.json").write_text('{"guide": "g1"}')
    assert read_voice_map(tmp_path) == {"guide": "g1"}
    for text in ["{oops", '["guide"]', '{"guide": 3}']:
        (tmp_path / "voice_map.json").write_text(text)
        with pytest.raises(VoiceError, match="voice_map.json"):
            read_voice_map(tmp_path)


def test_check_reports_voice_problems_with_file_and_line(story_copy: Path, voice_config: Path) -> None:
    set_profile(story_copy, "guide", voice_id=None)
    set_profile(story_copy, "god", voice_clone_ref="../../etc/passwd")
    set_profile(story_copy, "scribe", engine="robot", speed="fast", piper_voice="nobody")
    result = run_engine("check", story_copy, "--config", voice_config, cwd=story_copy.parent)
    out = result.stdout
    assert result.returncode == 1 and "Traceback" not in out + result.stderr
    assert "tomb/characters/guide.json:1: missing voice_id for character_id guide" in out
    assert "tomb/characters/god.json:7: voice_clone_ref '../../etc/passwd' must stay inside voices/" in out
    assert ("tomb/characters/scribe.json:8: engine must be one of xtts, pocket, xtts-remote, piper, edge, kokoro, "
            "not 'robot'") in out
    assert "tomb/characters/scribe.json:10: speed must be a number from 0.25 to 4" in out
    assert "tomb/characters/scribe.json:12: Piper voice 'nobody' is not installed" in out


def test_missing_voice_is_a_warning_during_play(voice_config: Path, tmp_path: Path) -> None:
    story_copy = copy_of(CRYPT, tmp_path)
    set_profile(story_copy, "guide", voice_id=None)
    trace = tmp_path / "t.jsonl"
    result = run_engine("play", story_copy, "--pace", "instant", "--choices", "1", "--trace", trace,
                        "--config", voice_config, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("missing voice_id for character_id guide: Tariq's lines are shown but not spoken") == 1
    assert "Tariq: This is the place." in result.stdout  # the line is still shown
    records = [json.loads(line) for line in trace.read_text().splitlines()]
    guide = [r for r in records if r["event"] == "voice" and r["character_id"] == "guide"]
    assert guide and all(r["engine"] is None and "missing voice_id" in r["error"] for r in guide)
    assert any(r["event"] == "voice" and r["engine"] == "piper" for r in records)


def test_broken_voice_map_does_not_stop_play(voice_config: Path, tmp_path: Path) -> None:
    story_copy = copy_of(CRYPT, tmp_path)
    (tmp_path / "voices" / "voice_map.json").write_text("{broken")
    check = run_engine("check", story_copy, "--config", voice_config, cwd=tmp_path)
    assert check.returncode == 1 and "voices/voice_map.json:1:" in check.stdout
    result = run_engine("play", story_copy, "--pace", "instant", "--choices", "1", "--config", voice_config,
                        cwd=tmp_path)
    assert result.returncode == 0 and "is not valid JSON" in result.stdout


def test_check_refuses_bad_reference_content_with_file_and_line(story_copy: Path, voice_config: Path,
                                                                 tmp_path: Path) -> None:
    import numpy as np
    import soundfile

    voices = tmp_path / "voices"
    soundfile.write(voices / "guide_young.wav", np.zeros(22050 * 3, dtype=np.float32), 22050, subtype="PCM_16")
    noisy = (0.3 * np.sin(np.arange(22050 * 3) / 10)).astype(np.float32)
    noisy[5:9] = np.nan
    soundfile.write(voices / "god_deep.wav", noisy, 22050, subtype="FLOAT")
    write_tone(voices / "archaeologist_bright.wav", 3, 150)  # a good one: no problem
    result = run_engine("check", story_copy, "--config", voice_config, cwd=story_copy.parent)
    out = result.stdout
    assert result.returncode == 1 and "Traceback" not in out + result.stderr
    assert f"tomb/characters/guide.json:7: reference WAV {voices / 'guide_young.wav'} refused: silent" in out
    assert f"tomb/characters/god.json:7: reference WAV {voices / 'god_deep.wav'} refused: damaged" in out
    assert "archaeologist_bright.wav" not in out
