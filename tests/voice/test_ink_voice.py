"""An ink story voiced by the real voice plugin (Piper, offline): every line in its character's voice."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import soundfile

from tests.support.audio_checks import median_pitch
from tests.support.common import LIGHTHOUSE, LIGHTHOUSE_ENDINGS, run_engine
from tests.support.voice import write_config

SPRING = LIGHTHOUSE_ENDINGS["A Promise in the Spring"]


def test_each_character_in_its_own_voice_then_from_the_cache(tmp_path: Path) -> None:
    config = write_config(tmp_path, engine="words_per_minute = 3000\nmin_pause = 0.05")
    record, trace = tmp_path / "heard.wav", tmp_path / "t.jsonl"
    result = run_engine("play", LIGHTHOUSE, "--choices", ",".join(map(str, SPRING)), "--pace", "read",
                        "--record", record, "--trace", trace, "--config", config)
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    assert result.stdout.rstrip().endswith("*** A Promise in the Spring ***")
    records = [json.loads(x) for x in trace.read_text().splitlines()]
    lines = [r["line_id"] for r in records if r["event"] in ("narration", "dialogue")]
    voices = [r for r in records if r["event"] == "voice"]
    assert [v["line_id"] for v in voices] == lines and lines.count("gal_oil") == 2  # said again after a choice
    assert {v["engine"] for v in voices} == {"piper"}
    by_character = {v["character_id"]: v["voice_id"] for v in voices}
    assert by_character == {"narrator": "narrator_calm", "keeper": "keeper_weathered", "sailor": "sailor_young"}
    assert any(v["prefetched"] for v in voices)  # the ink look-ahead reached the prefetcher
    heard, rate = soundfile.read(record, dtype="float32")
    assert rate == 24000 and len(heard) / rate > len(voices) * 1.0

    # the same line text in two voices sounds different: the keeper's Piper style is higher (Piper's random
    # noise off, so the comparison is of the styles alone)
    steady_config = tmp_path / "steady.toml"
    steady_config.write_text(config.read_text() + "[voice.piper]\nnoise_scale = 0.0\nnoise_w_scale = 0.0\n")
    outputs = {}
    for character in ("keeper", "sailor"):
        out = tmp_path / f"{character}.wav"
        said = run_engine("say", "--story", LIGHTHOUSE, "--character", character, "The light will not wait.",
                          "-o", out, "--engine", "piper", "--config", steady_config)
        assert said.returncode == 0, said.stderr
        samples, rate = soundfile.read(out, dtype="float32")
        outputs[character] = median_pitch(np.asarray(samples), rate)
    assert outputs["keeper"] > outputs["sailor"] * 1.05

    again = run_engine("play", LIGHTHOUSE, "--choices", ",".join(map(str, SPRING)), "--pace", "instant",
                       "--trace", trace, "--config", config)
    assert again.returncode == 0, again.stderr
    cached = [json.loads(x) for x in trace.read_text().splitlines() if '"event": "voice"' in x]
    assert len(cached) == len(voices) and {r["cache"] for r in cached} == {"hit"}
