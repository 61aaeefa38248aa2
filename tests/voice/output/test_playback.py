"""What reaches the sound card, captured by ALSA's file plugin (no sound card here)."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile

from plugins.voice.core.audio import decode, encode, normalize, resample, speech_rms
from tests.support.common import CRYPT, engine_env, run_engine
from tests.support.voice import write_config

SINK_SCRIPT = """
import sys, numpy as np
from plugins.voice.output.sinks import open_sink
sink = open_sink(sys.argv[1], 24000)
for seed in range(3):
    sink.write(np.random.default_rng(seed).integers(-20000, 20000, 2400 + 1000 * seed).astype(np.int16))
sink.drain()
sink.close()
"""


@pytest.mark.parametrize("sink", ["simpleaudio", "sounddevice"])
def test_sinks_play_exact_samples_in_order(sink: str, alsa_capture: tuple[dict[str, str], Path]) -> None:
    env, captured = alsa_capture
    result = subprocess.run([sys.executable, "-c", SINK_SCRIPT, sink], env=engine_env(**env), capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    expected = np.concatenate(
        [np.random.default_rng(s).integers(-20000, 20000, 2400 + 1000 * s).astype(np.int16) for s in range(3)])
    assert np.array_equal(np.fromfile(captured, dtype=np.int16), expected)


def test_the_sound_card_hears_what_is_recorded(tmp_path: Path, alsa_capture: tuple[dict[str, str], Path]) -> None:
    env, captured = alsa_capture
    config = write_config(tmp_path, voice="line_gap = 0.0")
    record = tmp_path / "out.wav"
    result = run_engine("play", CRYPT, "--pace", "instant", "--choices", "1", "--sink", "simpleaudio",
                        "--record", record, "--config", config, HOME=env["HOME"])
    assert result.returncode == 0, result.stderr
    assert "No audio device" not in result.stdout
    recorded, rate = soundfile.read(record, dtype="int16")
    assert rate == 24000 and len(recorded) > 24000 * 8  # seven lines
    heard = np.fromfile(captured, dtype=np.int16)
    # a chunk that came late (a busy machine) is silence in the recording, where the card simply ran dry:
    # the same samples, but for runs of zeros
    assert len(recorded) >= len(heard) and np.array_equal(heard[heard != 0], recorded[recorded != 0])


def test_no_audio_device_is_one_notice_without_the_alsa_library_s_lines(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / ".asoundrc").write_text('pcm.!default { type hw; card "nowhere" }\n')  # a card no machine has
    opened = "import simpleaudio\ntry: simpleaudio.play_buffer(bytes(200), 1, 2, 24000)\nexcept Exception: pass"
    bare = subprocess.run([sys.executable, "-c", opened], capture_output=True, text=True, env=engine_env(HOME=str(home)),
                          timeout=60)
    assert "ALSA lib" in bare.stderr  # the library, left to itself, prints its own lines
    config, record, trace = write_config(tmp_path), tmp_path / "out.wav", tmp_path / "t.jsonl"
    result = run_engine("play", CRYPT, "--pace", "instant", "--choices", "1", "--sink", "simpleaudio",
                        "--record", record, "--trace", trace, "--config", config, HOME=str(home))
    assert result.returncode == 0 and "Traceback" not in result.stdout + result.stderr
    assert result.stdout.count("No audio device") == 1 and "ALSA lib" not in result.stdout + result.stderr
    assert "*** The Gift ***" in result.stdout
    voiced = [json.loads(x) for x in trace.read_text().splitlines() if '"event": "voice"' in x]
    assert len(voiced) == 7 and soundfile.info(record).duration > 8


def test_engines_rates_are_converted_without_pitch_change() -> None:
    rate = 22050
    t = np.arange(rate) / rate
    converted = resample(np.sin(2 * np.pi * 440 * t).astype(np.float32), rate, 24000)
    assert len(converted) == 24000
    spectrum = np.abs(np.fft.rfft(converted))
    assert abs(np.argmax(spectrum) * 24000 / len(converted) - 440) < 2  # still 440 Hz


def test_loudness_is_levelled_between_engines() -> None:
    t = np.arange(24000) / 24000
    quiet = (0.05 * np.sin(2 * np.pi * 200 * t)).astype(np.float32)
    loud = (0.8 * np.sin(2 * np.pi * 300 * t)).astype(np.float32)
    levels = [20 * np.log10(speech_rms(normalize(x, -20.0))) for x in (quiet, loud)]
    assert all(abs(level + 20.0) < 0.5 for level in levels)
    assert np.all(normalize(np.zeros(100, dtype=np.float32), -20.0) == 0)


def test_every_file_we_write_clips_by_one_rule_and_reads_back() -> None:
    samples = np.array([0.0, 0.5, -0.25, 1.5, -1.5, 1.0], dtype=np.float32)  # two samples past full scale
    for container, subtype in (("WAV", "PCM_16"), ("FLAC", "PCM_16"), ("OGG", "OPUS")):
        rate = 48000 if subtype == "OPUS" else 24000
        audio = decode(encode(np.tile(samples, 800), rate, container, subtype))
        assert audio.sample_rate == rate and audio.samples.dtype == np.float32 and audio.samples.ndim == 1
        assert np.max(np.abs(audio.samples)) <= 1.0 + 1e-3  # clipped, never wrapped around
        if subtype == "PCM_16":
            assert np.allclose(audio.samples[:6], [0.0, 0.5, -0.25, 1.0, -1.0, 1.0], atol=1 / 32767)
    with_note = encode(samples, 24000, comment='{"take": 2}')
    with soundfile.SoundFile(io.BytesIO(with_note)) as sound:
        assert sound.comment == '{"take": 2}'
