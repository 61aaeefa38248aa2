"""The Pocket TTS engine on a tiny model with random weights (the real pocket-tts code; no download)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from plugins.voice.core.errors import EngineUnavailable, VoiceNotSupported
from plugins.voice.core.settings import PocketSettings
from plugins.voice.core.voice import LineSettings, Voice
from plugins.voice.engines.pocket.engine import PocketEngine
from plugins.voice.engines.pocket.stream import SAMPLE_RATE
from tests.support.common import TOMB, run_engine
from tests.support.voice import write_config
from tests.support.xtts_helpers import speak_reference

LINE = "The door opens onto a quiet hall."


def voice(reference: Path, language: str = "en", speed: float = 1.0) -> Voice:
    import hashlib

    digest = hashlib.sha256(reference.read_bytes()).hexdigest()
    return Voice("god", "god_deep", "pocket", language, speed, 0, references=(reference,), reference_hash=digest)


def engine(model_dir: Path, tmp_path: Path, **settings: object) -> PocketEngine:
    return PocketEngine(PocketSettings(model_dir=model_dir, states_dir=tmp_path / "states", **settings))  # type: ignore[arg-type]


def audio(pocket: PocketEngine, reference: Path, text: str = LINE, **line: object) -> list[np.ndarray]:
    return [chunk.samples for chunk in pocket.synthesize(text, voice(reference), LineSettings(**line))]  # type: ignore[arg-type]


def test_it_clones_from_the_reference_and_streams_frame_by_frame(installed_pocket: Path, reference_wav: Path,
                                                                 tmp_path: Path, piper) -> None:  # type: ignore[no-untyped-def]
    import torch

    pocket = engine(installed_pocket, tmp_path)
    assert pocket.missing() is None and pocket.languages() == ["en"]
    unloaded = pocket.identity(voice(reference_wav))  # what a render plans and prefetch keys with, before the load
    assert "unknown" not in unloaded
    torch.manual_seed(0)
    chunks = audio(pocket, reference_wav)
    assert len(chunks[0]) == SAMPLE_RATE * 80 // 1000  # the first sound after one 80 ms frame
    assert pocket.identity(voice(reference_wav)) == unloaded  # cache keys do not change when the model loads
    assert all(np.isfinite(c).all() for c in chunks) and sum(map(len, chunks)) >= 8 * len(chunks[0])
    states = list((tmp_path / "states").iterdir())
    assert len(states) == 1 and states[0].suffix == ".safetensors"  # the voice's prompt state, kept on disk
    other = speak_reference(piper, tmp_path / "other.wav", "A different voice altogether, lighter and quicker.")
    torch.manual_seed(0)
    assert not np.allclose(np.concatenate(audio(pocket, other))[:1920], chunks[0])  # the reference conditions it
    assert len(list((tmp_path / "states").iterdir())) == 2
    made = {path: path.stat().st_mtime_ns for path in (tmp_path / "states").iterdir()}
    again = engine(installed_pocket, tmp_path)  # a later game: the state is read, not made
    assert audio(again, reference_wav)
    digest = str(voice(reference_wav).reference_hash)
    (key, made_here), = [(k, v) for k, v in pocket.states.memory.items() if k.endswith(digest)]
    read = again.states.memory[key]
    assert all(torch.equal(read[m][t], made_here[m][t]) for m in made_here for t in made_here[m] if t != "offset")
    assert {path: path.stat().st_mtime_ns for path in (tmp_path / "states").iterdir()} == made
    assert pocket.measured_rtf() is not None and pocket.measured_rtf()[1] == 2  # type: ignore[index]


def test_a_damaged_state_file_is_made_again(installed_pocket: Path, reference_wav: Path, tmp_path: Path) -> None:
    audio(engine(installed_pocket, tmp_path), reference_wav)
    state = next((tmp_path / "states").iterdir())
    state.write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{broken")
    assert audio(engine(installed_pocket, tmp_path), reference_wav)
    assert state.stat().st_size > 100


def test_speed_changes_the_pace_not_the_frames(installed_pocket: Path, reference_wav: Path) -> None:
    import torch

    from plugins.voice.engines.pocket.loading import build
    from plugins.voice.engines.pocket.states import prompt_audio
    from plugins.voice.engines.pocket.stream import speak

    model = build(PocketSettings(), installed_pocket / "en").model
    state = model.get_state_for_audio_prompt(prompt_audio((reference_wav,), SAMPLE_RATE))

    def seconds(speed: float) -> float:
        torch.manual_seed(0)
        return sum(int(c.shape[-1]) for c in speak(model, state, LINE, 0, speed, forced=30)) / SAMPLE_RATE

    assert seconds(1.0) == pytest.approx(2.4)  # 30 frames of 80 ms
    assert seconds(0.8) == pytest.approx(3.0, abs=0.09) and seconds(1.25) == pytest.approx(1.92, abs=0.09)


def test_a_language_without_a_model_goes_to_the_next_engine(installed_pocket: Path, reference_wav: Path,
                                                            tmp_path: Path) -> None:
    pocket = engine(installed_pocket, tmp_path)
    with pytest.raises(VoiceNotSupported, match=r"no Pocket TTS model for language 'fr' \(installed: en\)"):
        list(pocket.synthesize(LINE, voice(reference_wav, "fr"), LineSettings(language="fr")))
    with pytest.raises(VoiceNotSupported, match="no Pocket TTS model for language 'ja'"):
        list(pocket.synthesize(LINE, voice(reference_wav, "ja"), LineSettings(language="ja")))


def test_a_damaged_or_missing_model_is_refused_with_its_reason(installed_pocket: Path, reference_wav: Path,
                                                               tmp_path: Path) -> None:
    models = tmp_path / "models"
    shutil.copytree(installed_pocket, models)
    with (models / "en" / "model.safetensors").open("r+b") as handle:
        handle.seek(5000)
        handle.write(b"\x00\x01\x02")
    pocket = engine(models, tmp_path)
    with pytest.raises(EngineUnavailable, match="model.safetensors changed since it was installed"):
        list(pocket.synthesize(LINE, voice(reference_wav), LineSettings()))
    assert "changed since it was installed" in (pocket.missing() or "")  # and stays refused this game
    assert "no Pocket TTS model in" in (engine(tmp_path / "none", tmp_path).missing() or "")


def test_models_install_pocket_checks_the_folder_and_says_where_the_weights_are(tmp_path: Path,
                                                                                tiny_pocket_dir: Path) -> None:
    config = write_config(tmp_path, voice=f'[voice.pocket]\nmodel_dir = "{tmp_path / "pocket"}"\n')
    source = tmp_path / "download"
    shutil.copytree(tiny_pocket_dir, source)
    (source / "config.yaml").unlink()  # the release's folder has none: the package's config is installed with it
    done = run_engine("models", "install", "pocket", "--from", source, "--language", "fr", "--config", config)
    assert done.returncode == 1 and "model.safetensors does not fit french.yaml" in done.stderr, done.stderr
    assert not (tmp_path / "pocket" / "fr").exists()
    shutil.copy(tiny_pocket_dir / "config.yaml", source / "config.yaml")
    done = run_engine("models", "install", "pocket", "--from", source, "--config", config)
    assert done.returncode == 0, done.stderr
    assert "model.safetensors  sha256 " in done.stdout and "is not a release listed" in done.stdout
    assert sorted(p.name for p in (tmp_path / "pocket" / "en").iterdir()) == [
        "config.yaml", "manifest.json", "model.safetensors", "tokenizer.json"]
    verified = run_engine("models", "verify", "--config", config)
    assert verified.returncode == 0 and "pocket en: ok (3 files" in verified.stdout, verified.stdout
    said = run_engine("say", "--story", TOMB, "--character", "god", "Why have you come?", "-o", tmp_path / "god.wav",
                      "--engine", "pocket", "--config", config)
    assert said.returncode == 0 and "at 24000 Hz by pocket" in said.stdout, said.stdout + said.stderr
    assert "Seeding god_deep.wav with Piper: created." in said.stderr  # its reference, made first as for XTTS
    (source / "tokenizer.json").unlink()
    refused = run_engine("models", "install", "pocket", "--from", source, "--config", config)
    assert refused.returncode == 1 and "lacks the tokenizer" in refused.stderr
    assert "huggingface.co/kyutai/pocket-tts (accept the terms" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1 and "Traceback" not in refused.stderr
