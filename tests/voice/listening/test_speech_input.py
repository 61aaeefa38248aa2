"""Speaking your choices, for real: answers spoken by our own TTS (Piper, Kokoro), heard by Faster-Whisper
(the tiny.en model the [stt] extra ships), through recorded files or an ALSA capture device."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pexpect
import pytest
import soundfile

from engine.cli import main
from plugins.voice.core.audio import concat, resample
from plugins.voice.core.settings import PiperSettings, SpeechInputSettings, VoiceSettings
from plugins.voice.core.voice import LineSettings, Voice
from plugins.voice.engines.kokoro import KokoroEngine
from plugins.voice.engines.models import WHISPER, install
from plugins.voice.engines.piper.engine import PiperEngine
from plugins.voice.listening.transcriber import RATE, Transcriber, TranscriberError, word_error_rate, words
from plugins.voice.tools.say import speech_check
from tests.support.common import TOMB, engine_env, run_engine
from tests.support.voice import write_config

# Buried Again (1,2,1,2,2), said in words and numbers, with one answer that is no choice at all
ANSWERS = [("piper", "Go in now."), ("kokoro", "Banana bread."), ("piper", "Number two."),
           ("kokoro", "I will take the golden scarab."), ("piper", "The second one."), ("kokoro", "Turn back and run.")]
# (Whisper tiny.en hears Kokoro's short "Take the golden scarab." as "... sky rub" or "... scarab" as the
# audio's last bits change, e.g. with the resampler: a whole sentence is heard the same either way)


def speak(engine: PiperEngine | KokoroEngine, text: str, path: Path) -> Path:
    player = Voice("player", "player", engine.name, "en", 1.0, 0, {"kokoro": "jm_kumo"})
    audio = concat(list(engine.synthesize(text, player, LineSettings())))
    soundfile.write(path, audio.samples, audio.sample_rate)
    return path


@pytest.fixture(scope="module")
def steady_piper() -> PiperEngine:
    """Piper without its random variation, so the recorded answers are the same on every run."""
    return PiperEngine(PiperSettings(noise_scale=0.0, noise_w_scale=0.0))


@pytest.fixture(scope="module")
def answers(tmp_path_factory: pytest.TempPathFactory, steady_piper: PiperEngine, kokoro: KokoroEngine) -> list[Path]:
    folder = tmp_path_factory.mktemp("answers")
    engines: dict[str, PiperEngine | KokoroEngine] = {"piper": steady_piper, "kokoro": kokoro}
    return [speak(engines[name], text, folder / f"{n}.wav") for n, (name, text) in enumerate(ANSWERS)]


def test_whisper_hears_our_synthesized_speech(steady_piper: PiperEngine, transcriber: Transcriber) -> None:
    text = "The sun is sinking behind the dunes. Lamplight climbs twelve painted pillars."
    audio = concat(list(steady_piper.synthesize(text, Voice("n", "n", "piper", "en", 1.0, 0), LineSettings())))
    heard = transcriber.transcribe(audio.samples, audio.sample_rate)
    assert word_error_rate(text, heard) <= 0.2, heard
    assert transcriber.transcribe(np.zeros(RATE * 2, dtype=np.float32), RATE) == ""  # silence is no answer


def test_a_spoken_answer_goes_before_the_quality_gate_s_checks_on_the_shared_whisper(
        steady_piper: PiperEngine, transcriber: Transcriber, monkeypatch: pytest.MonkeyPatch) -> None:
    audio = concat(list(steady_piper.synthesize("Take the left door.", Voice("n", "n", "piper", "en", 1.0, 0),
                                                LineSettings())))
    order: list[str] = []
    real = transcriber.model.transcribe

    def noted(*args: Any, **kwargs: Any) -> Any:
        order.append(threading.current_thread().name)
        return real(*args, **kwargs)

    monkeypatch.setattr(transcriber.model, "transcribe", noted)
    heard: dict[str, str] = {}

    def hear(name: str, background: bool) -> threading.Thread:
        thread = threading.Thread(name=name, target=lambda: heard.setdefault(
            name, transcriber.transcribe(audio.samples, audio.sample_rate, background=background)))
        thread.start()
        return thread

    def until(count: int) -> None:
        deadline = time.monotonic() + 30
        while transcriber.turns.waiting < count:
            assert time.monotonic() < deadline, "the transcriber never had its callers waiting"
            time.sleep(0.01)

    with transcriber.turns.turn(background=True):  # a check is under way
        check = hear("check", background=True)
        until(1)
        answer = hear("answer", background=False)  # the player speaks while the check waits
        until(2)
    for thread in (check, answer):
        thread.join(60)
        assert not thread.is_alive()
    assert order == ["answer", "check"]
    assert "left door" in heard["answer"].lower() and heard["check"] == heard["answer"]


def test_word_error_rate_normalizes_case_punctuation_and_numbers() -> None:
    assert words("Number 2, please!") == ["number", "two", "please"]
    assert word_error_rate("Go in now.", "go in now") == 0.0
    assert word_error_rate("Take the golden scarab.", "take the scarab") == 0.25
    assert word_error_rate("Turn back and run.", "") == 1.0


def test_play_by_voice_reaches_an_ending(answers: list[Path], tmp_path: Path) -> None:
    trace, broken = tmp_path / "trace.jsonl", tmp_path / "broken.wav"
    broken.write_text("not audio")  # skipped with a notice; the next recording answers
    files = [answers[0], broken, *answers[1:]]
    result = run_engine("play", TOMB, "--pace", "instant", "--speech-input-files", ",".join(map(str, files)),
                        "--trace", trace, "--config", write_config(tmp_path))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.rstrip().endswith("*** Buried Again ***")
    assert "Speech input is ready (from 7 recorded answers)." in out
    assert "Could not read the recorded answer broken.wav: Error opening" in out
    assert "Go in now.  (heard)" in out and "Turn back and run.  (heard)" in out
    # banana bread: asked again
    assert 'That is not one of the choices; say "number 1" to "number 2" or words of a choice, or type it.' in out
    heard = [json.loads(line) for line in trace.read_text().splitlines() if '"speech_input"' in line]
    assert [h["from"] for h in heard] == [p.name for p in answers]
    assert all(h["transcribe_ms"] > 0 for h in heard)
    made = [json.loads(line)["choice"] for line in trace.read_text().splitlines() if '"event": "choice"' in line]
    assert made == [1, 2, 1, 2, 2]


def test_used_up_answers_leave_typing(answers: list[Path], tmp_path: Path) -> None:
    child = pexpect.spawn(sys.executable, ["-m", "engine", "play", str(TOMB), "--pace", "instant", "--config",
                                           str(write_config(tmp_path)), "--speech-input-files", str(answers[0])],
                          env=engine_env(), encoding="utf-8", timeout=60, dimensions=(40, 160))
    child.expect(r"Go in now\.  \(heard\)")
    child.expect("The recorded answers are used up; type your choice.")
    child.sendline("2")  # Look for another way in
    child.expect("The Robbers' Shaft")
    child.sendline("q")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0


def test_microphone_answers_through_a_real_capture_device(steady_piper: PiperEngine, tmp_path: Path) -> None:
    # ALSA's file plugin plays a WAV into the default capture device: PortAudio, VAD and Whisper are the real ones
    said = speak(steady_piper, "Make camp and wait for dawn.", tmp_path / "said.wav")
    samples, rate = soundfile.read(said, dtype="float32")
    heard = np.concatenate([np.zeros(RATE // 2), resample(samples, rate, RATE), np.zeros(RATE)])
    (np.clip(heard, -1, 1) * 32767).astype("<i2").tofile(tmp_path / "mic.raw")
    home = tmp_path / "home"
    home.mkdir()
    (home / ".asoundrc").write_text(
        'pcm.!default { type asym; playback.pcm "null"; capture.pcm { type plug; slave { pcm { type file; '
        f'slave.pcm "null"; file "/dev/null"; infile "{tmp_path / "mic.raw"}"; format "raw" }}; '
        'format S16_LE; rate 16000; channels 1 } } }\n')
    child = pexpect.spawn(sys.executable, ["-m", "engine", "play", str(TOMB), "--pace", "instant", "--config",
                                           str(write_config(tmp_path)), "--speech-input"],
                          env=engine_env(HOME=str(home)), encoding="utf-8", timeout=60, dimensions=(40, 160))
    child.expect(r"[Cc]amp[^\n]*\(heard\)")
    child.expect("The Camp")  # the answer was matched and the story went on
    # the device plays the same words again at the next choice: no such choice there, so it asks again
    child.expect("That is not one of the choices")
    child.sendline("q")  # typing still works while listening
    child.expect("Progress saved")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0


def test_no_microphone_is_one_notice_and_typing_goes_on(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / ".asoundrc").write_text("pcm.!default { type hw; card 7 }\n")  # a sound card that is not there
    result = subprocess.run([sys.executable, "-m", "engine", "play", str(TOMB), "--pace", "instant", "--speech-input",
                             "--config", str(write_config(tmp_path))], input="2\n1\n2\n", capture_output=True,
                            text=True, env=engine_env(HOME=str(home)), timeout=120)
    assert result.returncode == 0 and "Traceback" not in result.stderr
    assert result.stdout.count("Speech input stopped: no microphone (") == 1
    assert "Type your choices." in result.stdout and "The Camp" in result.stdout and "Progress saved" in result.stdout


def test_say_check_reports_the_word_error_rate(steady_piper: PiperEngine,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    narrator = Voice("n", "n", "piper", "en", 1.0, 0)
    audio = concat(list(steady_piper.synthesize("The door is open.", narrator, LineSettings())))
    assert speech_check("The door is open.", audio.samples, audio.sample_rate, VoiceSettings(), 0.35) == 0
    assert "Word error rate 0.00 (4 words" in capsys.readouterr().out
    # the audio says something else than the text: a hallucinated or cut-off line fails the check
    assert speech_check("Banana bread is tasty.", audio.samples, audio.sample_rate, VoiceSettings(), 0.35) == 1
    assert "FAILED (above 0.35)" in capsys.readouterr().out


def test_a_changed_whisper_model_is_refused_and_the_game_goes_on_typed(tmp_path: Path, answers: list[Path]) -> None:
    target = tmp_path / "whisper"
    install(WHISPER, None, target)  # the bundled tiny.en, copied with its manifest
    assert Transcriber(SpeechInputSettings(model_dir=target)).load() is not None
    config_json = target / "config.json"
    config_json.write_text(config_json.read_text().replace("}", ' , "x": 1}', 1))
    with pytest.raises(TranscriberError, match="config.json changed since it was installed"):
        Transcriber(SpeechInputSettings(model_dir=target)).load()
    config = write_config(tmp_path)
    config.write_text(config.read_text() + f'[voice.speech_input]\nmodel_dir = "{target}"\n')
    result = run_engine("play", TOMB, "--pace", "instant", "--speech-input-files", str(answers[0]), "--config", config)
    assert "Speech input unavailable: the Whisper model cannot be used:" in result.stdout
    assert "Progress saved" in result.stdout and result.returncode == 0  # no input left: quits and saves


def test_bad_speech_input_is_one_sentence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(tmp_path)
    missing = run_engine("play", TOMB, "--speech-input-files", tmp_path / "nope.wav", "--config", config)
    assert missing.returncode == 1 and "Traceback" not in missing.stderr
    assert missing.stderr.strip() == f"engine: --speech-input-files: {tmp_path / 'nope.wav'} does not exist."
    # faster-whisper is installed in CI, so its absence is simulated here (in-process)
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "faster_whisper" else real(name, *a))
    monkeypatch.setattr(sys, "stdin", (tmp_path / "typed").open("w+"))
    assert main(["play", str(TOMB), "--speech-input", "--config", str(config)]) == 1
    assert capsys.readouterr().err.strip() == (
        "engine: Speech input: speech recognition needs the [stt] extra "
        "(pip install -c requirements.lock 'voiced-if[stt]').")
