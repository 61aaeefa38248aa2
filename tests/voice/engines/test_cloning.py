"""Which model clones ([voice] cloning): the rule, what the cast does with it, and `engine voices list`."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from engine import load_story
from plugins.voice.casting.cast import build_cast
from plugins.voice.core.settings import PocketSettings, VoiceSettings, XttsRemoteSettings, XttsSettings
from plugins.voice.engines import cloning
from tests.support.common import TOMB, run_engine
from tests.support.voice import write_config


def settings(model_dir: Path, **changes: object) -> VoiceSettings:
    return VoiceSettings(pocket=PocketSettings(model_dir=model_dir), **changes)  # type: ignore[arg-type]


def test_without_a_gpu_or_bridge_pocket_clones_and_xtts_is_one_line_away(installed_pocket: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cloning, "_has_cuda", lambda: False)
    chosen = cloning.cloning_engine(settings(installed_pocket))
    assert chosen.engine == "pocket" and "no CUDA GPU or bridge" in chosen.reason
    assert cloning.cloning_engine(settings(installed_pocket, cloning="xtts")) == cloning.Choice(
        "xtts", "set by [voice] cloning")
    cast = build_cast(load_story(TOMB), settings(installed_pocket), {})
    assert {cast.voice_for(c).engine for c in cast.order} == {"pocket"}  # the profiles say "xtts": a cloning engine
    cast = build_cast(load_story(TOMB), settings(installed_pocket, engine="piper"), {})
    assert cast.voice_for("god").engine == "pocket"  # a profile's own engine still counts
    cast = build_cast(load_story(TOMB), settings(installed_pocket, cloning="xtts"), {})
    assert cast.voice_for("god").engine == "xtts"


def test_a_gpu_a_bridge_or_no_pocket_model_keeps_xtts(installed_pocket: Path, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cloning, "_has_cuda", lambda: True)
    assert cloning.cloning_engine(settings(installed_pocket)) == cloning.Choice("xtts", "this machine has a CUDA GPU")
    xtts_on_cpu = settings(installed_pocket, xtts=XttsSettings(device="cpu"))
    assert cloning.cloning_engine(xtts_on_cpu).engine == "pocket"  # XTTS told to stay off the GPU
    monkeypatch.setattr(cloning, "_has_cuda", lambda: False)
    bridged = settings(installed_pocket, xtts_remote=XttsRemoteSettings(urls=("https://gpu.example",)))
    assert cloning.cloning_engine(bridged).engine == "xtts"
    assert cloning.cloning_engine(settings(tmp_path / "none")).reason == f"no Pocket TTS model in {tmp_path / 'none'}"
    assert cloning.cloning_engine(settings(installed_pocket, cloning="pocket")).engine == "pocket"
    monkeypatch.setattr(cloning.importlib.util, "find_spec", lambda name: None)
    assert cloning.cloning_engine(settings(installed_pocket)).reason == "the [pocket] extra is not installed"


def test_engine_voices_list_shows_who_speaks_and_the_rule(tmp_path: Path, installed_pocket: Path) -> None:
    shutil.copytree(installed_pocket, tmp_path / "pocket")
    config = write_config(tmp_path, voice=f'cloning = "pocket"\n[voice.pocket]\nmodel_dir = "{tmp_path / "pocket"}"\n')
    listed = run_engine("voices", "list", TOMB, "--config", config)
    assert listed.returncode == 0, listed.stderr
    rows = [line for line in listed.stdout.splitlines() if "god_deep" in line]
    assert rows and "pocket" in rows[0] and "none yet" in rows[0]
    assert 'Cloning model: pocket (set by [voice] cloning). [voice] cloning = "xtts" picks the other one.' in \
        " ".join(listed.stdout.split())
