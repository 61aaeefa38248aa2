"""What the XTTS owner thread does for a line: the voice's latents, the line part by part through our
streaming loop (stream.py), and the warm-up line that measures the model's pace."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from typing import Any

from plugins.voice.core.audio import AudioChunk
from plugins.voice.core.errors import SynthesisFailed, VoiceNotSupported
from plugins.voice.core.settings import XttsSettings
from plugins.voice.core.text import pack
from plugins.voice.core.voice import LineSettings
from plugins.voice.engines.base import Voice
from plugins.voice.engines.speeds import Speeds
from plugins.voice.engines.xtts.latents import Latents
from plugins.voice.engines.xtts.loading import short
from plugins.voice.engines.xtts.model import Request, XttsModel

log = logging.getLogger(__name__)
NAME = "xtts"
WARM_UP = "The door opens onto a quiet hall."
WARM_UP_TOKENS = 24  # about a second of speech
SAMPLE_RATE = 24000


class Speech:
    """The engine's work on the model's owner thread (model.py): nothing here takes a lock."""

    def __init__(self, settings: XttsSettings, owner: XttsModel, speeds: Speeds, model_key: Callable[[], str]) -> None:
        self.settings = settings
        self.owner = owner
        self.speeds = speeds
        self.model_key = model_key  # the model file's hash, part of each latents key

    def latents(self, voice: Voice) -> Latents:
        """Owner thread (or a bench with no game running)."""
        if voice.seed_failed:
            raise VoiceNotSupported(NAME, "VOICE_SEED_FAILED: its reference WAV could not be seeded")
        if not voice.references:
            raise VoiceNotSupported(NAME, f"no reference WAV for voice {voice.voice_id} in voices/")
        paths = [str(path) for path in voice.references]
        return self.owner.latents.get(f"{self.model_key()}-{voice.reference_hash}",
                                      lambda: self.owner.model.get_conditioning_latents(audio_path=paths))

    def sampling(self, take: int, max_new_tokens: int | None) -> Any:
        from plugins.voice.engines.xtts.stream import Sampling

        return Sampling(temperature=temperature(self.settings.temperature, take), max_new_tokens=max_new_tokens)

    def measure(self, voice: Voice) -> None:
        """Owner thread, once after loading: a short warm-up line, twice (it also readies a GPU's kernels). On
        the CPU the second one's real-time factor is the first measurement, so a model slower than speech is known
        before the first line a player hears from it (on a GPU a first call's warm-up would overstate it)."""
        try:
            gpt_latent, speaker_embedding = self.latents(voice)
            for _ in range(2):  # the first call pays one-time costs: only the second is measured
                started, made = time.perf_counter(), 0
                with self.owner.placement.precision():
                    for chunk in self.owner.streamer(WARM_UP, "en", gpt_latent, speaker_embedding,
                                                     sampling=self.sampling(0, WARM_UP_TOKENS)):
                        made += int(chunk.shape[-1])
                        self.owner.headway.beat()
        except Exception:  # noqa: BLE001 - a failure shows up again, with its reason, on the first line
            log.warning("XTTS warm-up failed", exc_info=True)
            return
        if self.owner.placement.device == "cpu":
            self.speeds.add(time.perf_counter() - started, made / SAMPLE_RATE)

    def speak(self, request: Request, text: str, voice: Voice, language: str, settings: LineSettings) -> None:
        """Owner thread: synthesizes part by part, handing chunks to the caller as they come."""
        import torch

        limit = int(self.owner.model.tokenizer.char_limits.get(language.split("-")[0], 250))
        working, made = 0.0, 0.0  # seconds of computing (the owner never waits on anyone) and of audio
        for part in pack(text, limit):
            cap = self.settings.max_audio_tokens_per_word
            tokens = max(8, math.ceil(len(part.split()) * cap)) if cap > 0 else None
            try:
                gpt_latent, speaker_embedding = self.latents(voice)
                stream = self.owner.streamer(part, language, gpt_latent, speaker_embedding,
                                             sampling=self.sampling(settings.take, tokens), speed=settings.speed)
                try:
                    with self.owner.placement.precision():
                        started = time.perf_counter()
                        for chunk in stream:
                            if not self.owner.check_turn(request):
                                return
                            audio = AudioChunk(chunk.detach().float().cpu().numpy(), SAMPLE_RATE)
                            working += time.perf_counter() - started
                            made += audio.seconds
                            request.out.put(audio)
                            started = time.perf_counter()
                finally:
                    stream.close()
            except torch.cuda.OutOfMemoryError:
                torch.cuda.empty_cache()
                raise SynthesisFailed(NAME, "ran out of GPU memory") from None
            except (RuntimeError, ValueError, IndexError, AssertionError, OSError) as exc:
                raise SynthesisFailed(NAME, f"synthesis failed ({short(exc)})") from exc
        self.speeds.add(working, made)


def temperature(base: float, take: int) -> float:
    """Each retake samples 0.1 cooler (0.3 at least): hallucinated and repeated words come from the hot end."""
    return base if take == 0 else max(0.3, base - 0.1 * take)
