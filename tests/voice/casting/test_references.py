"""Reference WAVs are checked before use: a corpus of bad files, and conversions of odd ones."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile

from plugins.voice.casting.references import BadReference, ReferenceStore
from tests.support.audio_checks import write_tone


def make_bad(kind: str, path: Path) -> Path:
    if kind == "empty":
        path.write_bytes(b"")
    elif kind == "truncated header":
        write_tone(path, 2, 150)
        path.write_bytes(path.read_bytes()[:30])
    elif kind == "not audio":
        path.write_text("this is a text file pretending to be a WAV\n" * 50)
    elif kind == "0.2 s":
        write_tone(path, 0.2, 150)
    elif kind == "10 minutes":
        write_tone(path, 600, 150, rate=8000)
    elif kind == "silent":
        soundfile.write(path, np.zeros(22050 * 3, dtype=np.float32), 22050, subtype="PCM_16")
    elif kind == "clipped":
        write_tone(path, 3, 150, level=4.0)
        samples, rate = soundfile.read(path)
        soundfile.write(path, np.clip(samples * 4, -1, 1), rate, subtype="PCM_16")
    elif kind == "8-bit":
        write_tone(path, 3, 150, subtype="PCM_U8")
    elif kind == "NaN samples":
        samples = (0.3 * np.sin(np.arange(22050 * 3) / 10)).astype(np.float32)
        samples[1000:1010] = np.nan
        soundfile.write(path, samples, 22050, subtype="FLOAT")
    return path


@pytest.mark.parametrize(
    ("kind", "reason"),
    [
        ("empty", "not readable audio"),
        ("truncated header", "not readable audio"),
        ("not audio", "not readable audio"),
        ("0.2 s", "only 0.2 s long"),
        ("10 minutes", "600 s long; XTTS uses at most 30 s"),
        ("silent", "silent"),
        ("clipped", "clipped"),
        ("8-bit", "8-bit audio is too coarse; use 16-bit"),
        ("NaN samples", "not numbers"),
    ],
)
def test_bad_references_are_refused_with_the_reason(kind: str, reason: str, tmp_path: Path) -> None:
    store = ReferenceStore(tmp_path / "checked")
    path = tmp_path / "voice.wav"
    write_tone(path, 3, 150)
    good = store.accept(path)
    make_bad(kind, path)
    with pytest.raises(BadReference, match=reason):
        store.accept(path)
    assert store.get(path) == good  # the previous voice stays


def test_stereo_48khz_is_converted(tmp_path: Path) -> None:
    path = write_tone(tmp_path / "stereo.wav", 3, 220, rate=48000, channels=2)
    accepted = ReferenceStore(tmp_path / "checked").accept(path)
    info = soundfile.info(accepted.path)
    assert (info.channels, info.samplerate, info.subtype) == (1, 22050, "PCM_16")
    assert abs(accepted.seconds - 3.0) < 0.01
    assert soundfile.info(path).channels == 2  # the user's file is left as it was
