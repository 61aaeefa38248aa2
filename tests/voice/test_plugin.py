"""The voice plugin end to end through `engine play` and `engine say`: offline, fresh cache, real Piper."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import numpy as np
import pytest
import soundfile

from engine.config import Config
from plugins.voice.core.errors import VoiceConfigError
from plugins.voice.core.settings import voice_settings
from tests.support.audio_checks import median_pitch
from tests.support.common import CRYPT, TOMB, run_engine
from tests.support.voice import write_config


def play(config: Path, tmp_path: Path, name: str, *extra: str) -> tuple[str, list[dict], Path]:
    record, trace = tmp_path / f"{name}.wav", tmp_path / f"{name}.jsonl"
    result = run_engine("play", CRYPT, "--choices", "1", "--record", record, "--trace", trace,
                        "--config", config, *extra)
    assert result.returncode == 0, result.stderr
    return result.stdout, [json.loads(x) for x in trace.read_text().splitlines()], record


def test_every_line_is_spoken_offline_then_replayed_from_cache(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    stdout, records, record = play(config, tmp_path, "first", "--pace", "instant")
    lines = [r for r in records if r["event"] in ("narration", "dialogue")]
    voices = {r["line_id"]: r for r in records if r["event"] == "voice"}
    assert len(lines) == 7 and set(voices) == {r["line_id"] for r in lines}
    assert {v["engine"] for v in voices.values()} == {"piper"}
    assert all([f["engine"] for f in v["fallback"]] == ["xtts", "pocket", "edge"] for v in voices.values())
    assert {v["cache"] for v in voices.values()} == {"miss"}
    assert stdout.count("xtts voice unavailable") == 1 and stdout.count("edge voice unavailable") == 1
    heard, rate = soundfile.read(record, dtype="float32")
    gaps = 0.3 * (len(lines) - 1)
    assert rate == 24000 and len(heard) / rate > gaps + len(lines) * 1.0

    _, again, record2 = play(config, tmp_path, "second", "--pace", "instant")
    cached = [r for r in again if r["event"] == "voice"]
    assert len(cached) == 7 and {r["cache"] for r in cached} == {"hit"}

    def spoken(path: Path, voices: list[dict]) -> float:  # without the silences of chunks that came late
        return soundfile.info(path).duration - sum(v["gaps_ms_total"] for v in voices) / 1000

    assert abs(spoken(record2, cached) - spoken(record, list(voices.values()))) < 0.1


def test_listen_pace_waits_for_each_voice(tmp_path: Path) -> None:
    _, records, _ = play(write_config(tmp_path), tmp_path, "listen", "--pace", "listen")
    order = [(r["event"], r["line_id"]) for r in records if r["event"] in ("narration", "dialogue", "voice")]
    for (event, line_id), (next_event, next_id) in zip(order, order[1:], strict=False):
        if event in ("narration", "dialogue"):
            assert (next_event, next_id) == ("voice", line_id), "a line was shown before the previous voice ended"


def test_say_auditions_a_character(tmp_path: Path) -> None:
    config = write_config(tmp_path)  # Piper made repeatable: its noise once put both pitches at 114 Hz in CI
    config.write_text(config.read_text() + "[voice.piper]\nnoise_scale = 0.0\nnoise_w_scale = 0.0\n")
    outputs = {}
    for character in ("guide", "god"):
        out = tmp_path / f"{character}.wav"
        result = run_engine("say", "--story", TOMB, "--character", character, "Who walks in my house?", "-o", out,
                            "--engine", "piper", "--config", config)
        assert result.returncode == 0, result.stderr
        assert f"Wrote {out}" in result.stdout and "by piper" in result.stdout
        outputs[character], rate = soundfile.read(out, dtype="float32")
        assert rate == 24000  # Piper's 22050 Hz resampled to [voice] output_rate, like playback
    # the same words in two characters' voices sound different
    assert abs(median_pitch(outputs["guide"], 24000) - median_pitch(outputs["god"], 24000)) > 10
    assert not np.array_equal(outputs["guide"][:1000], outputs["god"][:1000])


def test_say_falls_back_and_names_the_reasons(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    out = tmp_path / "x.wav"
    result = run_engine("say", "--story", TOMB, "--character", "god", "Hello.", "-o", out, "--config", config)
    edge_down = "edge: cannot reach the speech service (ClientConnectorError)"  # write_config keeps it on loopback
    assert result.returncode == 0 and "by piper (passed over xtts:" in result.stdout and edge_down in result.stdout
    refused = run_engine("say", "--story", TOMB, "--character", "god", "Hello.", "-o", out, "--engine", "edge",
                         "--config", config)
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert refused.stderr.strip() == f"engine: No engine could speak for god: {edge_down}."
    unknown = run_engine("say", "--story", TOMB, "--character", "nobody", "Hi.", "-o", out, "--config", config)
    assert unknown.returncode == 1 and "has no character 'nobody'" in unknown.stderr


def test_bad_voice_config_is_one_sentence(tmp_path: Path) -> None:
    cases = [('sink = "speakers"', "sink must be one of"), ("fallback = ['robot']", "fallback"),
             ("colour = 1", "unknown keys ['colour']"), ('output_rate = "high"', "output_rate must be a whole number"),
             ('when_slow = "panic"', "when_slow must be one of adapt, stream, not 'panic'"),
             ("output_rate = 0", "[voice] output_rate must be from 8000 to 192000, not 0"),
             ("[voice.cache]\nmax_mb = -5", "[voice.cache] max_mb must be 0 or more, not -5"),
             ("[voice.quality]\nretries = -1", "[voice.quality] retries must be 0 or more"),
             ("[voice.quality]\nmax_cer = 2.0", "max_cer must be from 0.01 to 1, not 2.0"),
             ("[voice.stall]\ngrace = 0", "[voice.stall] grace must be above 0, not 0.0"),
             ("[voice.xtts]\ndevice = 'tpu'", "[voice.xtts] device must be one of auto, cpu, cuda, not 'tpu'"),
             ("[voice.xtts]\ncpu_quantize = 'int2'", "cpu_quantize must be one of auto, off, int8, int4, not 'int2'"),
             ("[voice.xtts]\nfirst_chunk_tokens = 0", "[voice.xtts] first_chunk_tokens must be 1 or more"),
             ("[voice.xtts]\ncpu_threads = -1", "[voice.xtts] cpu_threads must be 0 or more")]
    for setting, message in cases:  # read as play reads them (in-process: each command reads them alike)
        with pytest.raises(VoiceConfigError) as refused:
            voice_settings(Config(tomllib.loads(f"[voice]\n{setting}\n"), tmp_path))
        assert message in str(refused.value)
    for setting, message in cases[:2]:  # and the command says it in one sentence, exit 1
        config = tmp_path / "config.toml"
        config.write_text(f"[voice]\n{setting}\n")
        result = run_engine("play", TOMB, "--pace", "instant", "--choices", "1", "--config", config)
        assert result.returncode == 1 and message in result.stderr, result.stderr
        assert len(result.stderr.strip().splitlines()) == 1


def test_every_line_reached_before_a_game_stops_on_an_error_has_its_voice_record(tmp_path: Path) -> None:
    """`--choices` running out ends the game on an error: the lines it reached are spoken or said dropped, with
    the reason, never missing from the trace."""
    trace = tmp_path / "t.jsonl"
    result = run_engine("play", TOMB, "--choices", "2", "--pace", "instant", "--trace", trace,
                        "--config", write_config(tmp_path, voice='fallback = ["piper"]\nengine = "piper"'))
    assert result.returncode == 1 and "--choices ran out" in result.stderr
    records = [json.loads(x) for x in trace.read_text().splitlines()]
    reached = [r["line_id"] for r in records if r["event"] in ("narration", "dialogue")]
    voiced = {r["line_id"]: r for r in records if r["event"] == "voice"}
    assert len(reached) > 10 and sorted(voiced) == sorted(reached)
    dropped = [r for r in voiced.values() if r.get("dropped")]
    assert {r["dropped"] for r in dropped} <= {"out_of_choices"}  # what --pace instant reached before its voice
    assert all(r["engine"] == "piper" for r in voiced.values() if not r.get("dropped") and not r.get("skipped"))
