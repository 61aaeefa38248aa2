"""XTTS v2 (coqui-tts): clones a character's voice from reference WAVs, streaming, on GPU or CPU.

The model loads on its owner thread (xtts_model.py); until it is ready its lines go to the next
engine (`while_loading = "fallback"`) or wait for it (`"wait"`). One synthesis at a time per
model; the line being spoken goes before prefetch work.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import json
import logging
import math
import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any

from plugins.voice.core.audio import AudioChunk
from plugins.voice.core.errors import EngineUnavailable, SpeechFailure, SynthesisFailed, VoiceNotSupported
from plugins.voice.core.settings import XttsSettings
from plugins.voice.core.text import pack
from plugins.voice.core.voice import LineSettings
from plugins.voice.engines.base import EngineBase, EngineEvents, Voice, log_event
from plugins.voice.engines.models import MANIFEST
from plugins.voice.engines.speeds import Speeds
from plugins.voice.engines.xtts.latents import Latents
from plugins.voice.engines.xtts.loading import cpu_paths
from plugins.voice.engines.xtts.model import Request, XttsModel, short

log = logging.getLogger(__name__)
WARM_UP = "The door opens onto a quiet hall."
WARM_UP_TOKENS = 24  # about a second of speech
XTTS_LANGUAGES = ("en", "es", "fr", "de", "it", "pt", "pl", "tr", "ru", "nl", "cs", "ar", "zh-cn", "hu", "ko", "ja",
                  "hi")
LANGUAGE_PACKAGES = {"zh-cn": "pypinyin", "ja": "cutlet"}  # text front ends XTTS imports for these
SAMPLE_RATE = 24000


def preload_torch() -> None:
    """Imports torch on the calling thread. Call it on the main thread before the game's threads
    start: a half-imported torch seen by another thread breaks scipy and numpy type checks."""
    if importlib.util.find_spec("torch") is not None:
        import torch  # noqa: F401


class XttsEngine(EngineBase):
    name = "xtts"
    pausable = False  # its owner thread puts background work aside for the speaker by itself
    network = False
    takes_vary = True  # it samples: a retake is another performance (and a cooler one, see _temperature)

    def __init__(self, settings: XttsSettings, events: EngineEvents = log_event) -> None:
        self.settings = settings
        self.owner = XttsModel(settings, events)
        self.speeds = Speeds()
        self.warmed = threading.Event()  # the warm-up line is done (or there was none to make)
        self.measuring = False  # the warm-up line was asked for (prepare runs again when a reference changes)
        self._paths: str | None = None  # the CPU's faster paths in use, once known (part of the identity)

    # what tests, benches and the bridge read
    @property
    def model(self) -> Any:
        return self.owner.model

    @property
    def device(self) -> str:
        return self.owner.device

    @property
    def error(self) -> str | None:
        return self.owner.error

    @property
    def loaded(self) -> Any:
        return self.owner.loaded

    @property
    def latents(self) -> Any:
        return self.owner.latents

    # --- availability -------------------------------------------------------------

    def missing(self) -> str | None:
        if importlib.util.find_spec("TTS") is None:
            return "the xtts engine needs the [xtts] extra (pip install -e '.[xtts]')"
        folder = self.settings.model_dir
        if not (folder / "model.pth").is_file() or not (folder / MANIFEST).is_file():
            return f"no XTTS model in {folder}; install one with 'engine models install xtts --from DIR'"
        if self.error:
            return self.error
        if self.owner.started and not self.loaded.is_set() and self.settings.while_loading == "fallback":
            return "its model is still loading"
        return None

    def probe(self) -> str | None:
        reason = self.missing() or self.owner.stuck()
        if reason is None and self.device == "cuda":
            request = self.owner.submit(lambda r: _empty_cuda_cache(), urgent=False)  # after an out-of-memory error
            with contextlib.suppress(SpeechFailure):
                list(request.results())
        return reason

    def identity(self, voice: Voice) -> str:
        try:
            files = json.loads((self.settings.model_dir / MANIFEST).read_text())["files"]
        except (OSError, ValueError, KeyError):
            files = {}
        cap = self.settings.max_audio_tokens_per_word
        if self._paths is None:
            self._paths = cpu_paths(self.settings).replace("GPT ", "").replace("decoder ", "dec-").replace(", ", "+")
        return f"xtts:{str(files.get('model.pth', 'unknown'))[:16]}:t={self.settings.temperature}" + \
            (f":cap={cap}" if cap > 0 else "") + (f":{self._paths}" if self._paths else "")

    def measured_rtf(self) -> tuple[float, int] | None:
        """(median real-time factor of the last lines made whole, how many lines it comes from), or None."""
        return self.speeds.measured()

    # --- loading --------------------------------------------------------------------

    def prepare(self, voices: Sequence[Voice] = ()) -> None:
        """Starts loading the model in the background, then computes the voices' latents."""
        if importlib.util.find_spec("TTS") is None or self.error:
            return
        wanted = [voice for voice in voices if voice.engine == self.name and voice.references]
        warm = [functools.partial(self._warm, voice) for voice in wanted]
        if not wanted:
            self.warmed.set()
        first = wanted and not self.measuring
        self.measuring = self.measuring or bool(wanted)  # once per game: later prepares (a new WAV) only warm latents
        self.owner.start(warm + ([functools.partial(self._measure, wanted[0])] if first else []))

    def close(self) -> None:
        self.owner.close()

    def _warm(self, voice: Voice) -> None:
        try:
            self._latents(voice)
        except Exception:  # noqa: BLE001 - a bad reference shows up again, with its reason, when the line is spoken
            log.warning("could not prepare latents for %s", voice.character_id, exc_info=True)

    def _measure(self, voice: Voice) -> None:
        """Owner thread, once after loading: a short warm-up line, twice (it also readies a GPU's kernels). On
        the CPU the second one's real-time factor is the first measurement, so a model slower than speech is known before the
        first line a player hears from it (on a GPU a first call's warm-up would overstate it)."""
        try:
            gpt_latent, speaker_embedding = self._latents(voice)
            for _ in range(2):  # the first call pays one-time costs: only the second is measured
                started, made = time.perf_counter(), 0
                with self.owner.precision():
                    for chunk in self.owner.streamer(WARM_UP, "en", gpt_latent, speaker_embedding,
                                                     sampling=self._sampling(0, WARM_UP_TOKENS)):
                        made += int(chunk.shape[-1])
                        self.owner.beat()
        except Exception:  # noqa: BLE001 - a failure shows up again, with its reason, on the first line
            log.warning("XTTS warm-up failed", exc_info=True)
            return
        finally:
            self.warmed.set()
        if self.device == "cpu":
            self.speeds.add(time.perf_counter() - started, made / SAMPLE_RATE)

    # --- synthesis -----------------------------------------------------------------

    def _ready(self) -> None:
        self.owner.start()
        self.loaded.wait()
        if self.error or self.model is None:
            raise EngineUnavailable(self.name, self.error or "the model did not load")

    def _language(self, language: str) -> str:
        if language not in XTTS_LANGUAGES:
            raise VoiceNotSupported(self.name, f"XTTS cannot speak language {language!r}")
        package = LANGUAGE_PACKAGES.get(language)
        if package and importlib.util.find_spec(package) is None:
            raise VoiceNotSupported(self.name, f"XTTS needs the {package} package for {language!r} (pip install {package})")
        return language

    def _latents(self, voice: Voice) -> Latents:
        """Owner thread (or a bench with no game running)."""
        if voice.seed_failed:
            raise VoiceNotSupported(self.name, "VOICE_SEED_FAILED: its reference WAV could not be seeded")
        if not voice.references:
            raise VoiceNotSupported(self.name, f"no reference WAV for voice {voice.voice_id} in voices/")
        key = f"{self.identity(voice).split(':')[1]}-{voice.reference_hash}"
        paths = [str(path) for path in voice.references]
        return self.latents.get(key, lambda: self.model.get_conditioning_latents(audio_path=paths))

    def synthesize(self, text: str, voice: Voice, settings: LineSettings) -> Iterator[AudioChunk]:
        language = self._language(settings.language)
        if not voice.references or voice.seed_failed:
            self._latents(voice)  # raises VoiceNotSupported at once, without waiting for the model
        self._ready()
        request = self.owner.submit(lambda r: self._speak(r, text, voice, language, settings),
                                    urgent=not settings.background)
        yield from request.results(settings.budget, self.owner.progress)

    def _speak(self, request: Request, text: str, voice: Voice, language: str, settings: LineSettings) -> None:
        """Owner thread: synthesizes part by part, handing chunks to the caller as they come."""
        import torch

        limit = int(self.model.tokenizer.char_limits.get(language.split("-")[0], 250))
        working, made = 0.0, 0.0  # seconds of computing (the owner never waits on anyone) and of audio
        for part in pack(text, limit):
            cap = self.settings.max_audio_tokens_per_word
            tokens = max(8, math.ceil(len(part.split()) * cap)) if cap > 0 else None
            try:
                gpt_latent, speaker_embedding = self._latents(voice)
                stream = self.owner.streamer(part, language, gpt_latent, speaker_embedding,
                                             sampling=self._sampling(settings.take, tokens), speed=settings.speed)
                try:
                    with self.owner.precision():
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
                raise SynthesisFailed(self.name, "ran out of GPU memory") from None
            except (RuntimeError, ValueError, IndexError, AssertionError, OSError) as exc:
                raise SynthesisFailed(self.name, f"synthesis failed ({short(exc)})") from exc
        self.speeds.add(working, made)

    def _sampling(self, take: int, max_new_tokens: int | None) -> Any:
        from plugins.voice.engines.xtts.stream import Sampling

        return Sampling(temperature=_temperature(self.settings.temperature, take), max_new_tokens=max_new_tokens)


def _temperature(base: float, take: int) -> float:
    """Each retake samples 0.1 cooler (0.3 at least): hallucinated and repeated words come from the hot end."""
    return base if take == 0 else max(0.3, base - 0.1 * take)


def _empty_cuda_cache() -> None:
    import torch

    torch.cuda.empty_cache()
