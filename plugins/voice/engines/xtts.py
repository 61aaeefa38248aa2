"""XTTS v2 (coqui-tts): clones a character's voice from reference WAVs, streaming, on GPU or CPU.

The model loads in a background thread; until it is ready its lines go to the next engine
(`while_loading = "fallback"`) or wait for it (`"wait"`). One synthesis at a time per model.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from plugins.voice.audio import AudioChunk
from plugins.voice.cast import Voice
from plugins.voice.engines.base import LineSettings
from plugins.voice.errors import EngineUnavailable, SynthesisFailed, VoiceNotSupported
from plugins.voice.latents import Latents, LatentsCache
from plugins.voice.models import MANIFEST, XTTS, ModelError, verify
from plugins.voice.settings import XttsSettings
from plugins.voice.text import pack

log = logging.getLogger(__name__)
XTTS_LANGUAGES = ("en", "es", "fr", "de", "it", "pt", "pl", "tr", "ru", "nl", "cs", "ar", "zh-cn", "hu", "ko", "ja",
                  "hi")
LANGUAGE_PACKAGES = {"zh-cn": "pypinyin", "ja": "cutlet"}  # text front ends XTTS imports for these
SAMPLE_RATE = 24000


class XttsEngine:
    name = "xtts"

    def __init__(self, settings: XttsSettings, progress: Callable[[str], None] = log.info) -> None:
        self.settings = settings
        self.progress = progress
        self.model: Any = None
        self.device = "cpu"
        self.error: str | None = None
        self.loaded = threading.Event()
        self.loader: threading.Thread | None = None
        self.lock = threading.Lock()  # one synthesis (or latents computation) at a time
        self.start_lock = threading.Lock()
        self.latents = LatentsCache(settings.latents_dir)
        self.idle_timer: threading.Timer | None = None

    # --- availability -------------------------------------------------------------

    def missing(self) -> str | None:
        if importlib.util.find_spec("TTS") is None:
            return "the xtts engine needs the [xtts] extra (pip install -e '.[xtts]')"
        folder = self.settings.model_dir
        if not (folder / "model.pth").is_file() or not (folder / MANIFEST).is_file():
            return f"no XTTS model in {folder}; install one with 'engine models install xtts --from DIR'"
        if self.error:
            return self.error
        if self.loader is not None and not self.loaded.is_set() and self.settings.while_loading == "fallback":
            return "its model is still loading"
        return None

    def probe(self) -> str | None:
        reason = self.missing()
        if reason is None and self.device == "cuda":
            import torch

            torch.cuda.empty_cache()  # after an out-of-memory error
        return reason

    def identity(self, voice: Voice) -> str:
        try:
            files = json.loads((self.settings.model_dir / MANIFEST).read_text())["files"]
        except (OSError, ValueError, KeyError):
            files = {}
        return f"xtts:{str(files.get('model.pth', 'unknown'))[:16]}:t={self.settings.temperature}"

    # --- loading --------------------------------------------------------------------

    def prepare(self, voices: Sequence[Voice] = ()) -> None:
        """Starts loading the model in the background, then computes the voices' latents."""
        if importlib.util.find_spec("TTS") is None or self.error:
            return
        with self.start_lock:
            if self.loader is None:
                self.loader = threading.Thread(target=self._load, args=(list(voices),), name="xtts-load", daemon=True)
                self.loader.start()
                return
        if self.loaded.is_set() and self.model is not None:
            for voice in voices:
                self._warm(voice)

    def _load(self, voices: list[Voice]) -> None:
        started = time.monotonic()
        folder = self.settings.model_dir
        self.progress(f"xtts: loading the model from {folder} ...")
        try:
            self.model = self._build()
            self.progress(f"xtts: model ready on {self.device} in {time.monotonic() - started:.1f} s")
        except ModelError as exc:
            self.error = str(exc)
        except Exception as exc:  # torch and coqui raise many kinds; all mean "this model cannot load"
            self.error = _load_failure(exc, folder)
        finally:
            self.loaded.set()
        if self.error:
            self.progress(f"xtts: {self.error}")
            return
        for voice in voices:
            self._warm(voice)

    def _build(self) -> Any:
        folder = self.settings.model_dir
        verify(XTTS, folder)
        import torch
        import transformers
        from TTS.tts.configs.xtts_config import XttsConfig
        from TTS.tts.models.xtts import Xtts

        transformers.logging.set_verbosity_error()  # its config warnings would land in the story text

        wanted = self.settings.device
        self.device = "cuda" if wanted == "cuda" or (wanted == "auto" and torch.cuda.is_available()) else "cpu"
        if self.device == "cuda" and not torch.cuda.is_available():
            raise ModelError("[voice.xtts] device is cuda, but no CUDA GPU is available")
        config = XttsConfig()
        config.load_json(str(folder / "config.json"))
        model = Xtts(config)
        deepspeed = self.settings.deepspeed and self.device == "cuda" and importlib.util.find_spec("deepspeed")
        model.load_checkpoint(config, checkpoint_dir=str(folder), eval=True, use_deepspeed=bool(deepspeed))
        if self.device == "cuda" and not self.settings.low_vram:
            model.cuda()
        return model

    def _warm(self, voice: Voice) -> None:
        if voice.engine != self.name or not voice.references:
            return
        try:
            with self.lock, self._on_device():
                self._latents(voice)
        except Exception:  # noqa: BLE001 - a bad reference shows up again, with its reason, when the line is spoken
            log.warning("could not prepare latents for %s", voice.character_id, exc_info=True)

    # --- synthesis -----------------------------------------------------------------

    def _ready(self) -> Any:
        if self.loader is None:
            self.prepare()
        self.loaded.wait()
        if self.error or self.model is None:
            raise EngineUnavailable(self.name, self.error or "the model did not load")
        return self.model

    def _language(self, language: str) -> str:
        if language not in XTTS_LANGUAGES:
            raise VoiceNotSupported(self.name, f"XTTS cannot speak language {language!r}")
        package = LANGUAGE_PACKAGES.get(language)
        if package and importlib.util.find_spec(package) is None:
            raise VoiceNotSupported(self.name, f"XTTS needs the {package} package for {language!r} (pip install {package})")
        return language

    def _latents(self, voice: Voice) -> Latents:
        if voice.seed_failed:
            raise VoiceNotSupported(self.name, "VOICE_SEED_FAILED: its reference WAV could not be seeded")
        if not voice.references:
            raise VoiceNotSupported(self.name, f"no reference WAV for voice {voice.voice_id} in voices/")
        key = f"{self.identity(voice).split(':')[1]}-{voice.reference_hash}"
        paths = [str(path) for path in voice.references]
        return self.latents.get(key, lambda: self.model.get_conditioning_latents(audio_path=paths))

    def synthesize(self, text: str, voice: Voice, settings: LineSettings) -> Iterator[AudioChunk]:
        language = self._language(settings.language)
        model = self._ready()
        import torch

        limit = int(model.tokenizer.char_limits.get(language.split("-")[0], 250))
        for part in pack(text, limit):
            with self.lock, self._on_device():
                try:
                    gpt_latent, speaker_embedding = self._latents(voice)
                    stream = model.inference_stream(
                        part, language, gpt_latent, speaker_embedding, stream_chunk_size=self.settings.stream_chunk_size,
                        temperature=self.settings.temperature, speed=settings.speed, enable_text_splitting=False)
                    with self._precision():
                        for chunk in stream:
                            yield AudioChunk(chunk.detach().float().cpu().numpy(), SAMPLE_RATE)
                except torch.cuda.OutOfMemoryError:
                    torch.cuda.empty_cache()
                    raise SynthesisFailed(self.name, "ran out of GPU memory") from None
                except (RuntimeError, ValueError, IndexError, AssertionError, OSError) as exc:
                    raise SynthesisFailed(self.name, f"synthesis failed ({_short(exc)})") from exc

    @contextlib.contextmanager
    def _precision(self) -> Iterator[None]:
        if self.device == "cuda" and self.settings.fp16:
            import torch

            with torch.autocast(device_type="cuda", dtype=torch.float16):
                yield
        else:
            yield

    @contextlib.contextmanager
    def _on_device(self) -> Iterator[None]:
        """In low-VRAM mode, moves the model to the GPU for a request and back to RAM when idle."""
        if self.device != "cuda" or not self.settings.low_vram:
            yield
            return
        if self.idle_timer is not None:
            self.idle_timer.cancel()
        self.model.cuda()
        try:
            yield
        finally:
            self.idle_timer = threading.Timer(self.settings.low_vram_idle_seconds, self._to_ram)
            self.idle_timer.daemon = True
            self.idle_timer.start()

    def _to_ram(self) -> None:
        import torch

        with self.lock:
            self.model.cpu()
            torch.cuda.empty_cache()


def _short(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:160]


def _load_failure(exc: BaseException, folder: Any) -> str:
    name = type(exc).__name__
    if name == "OutOfMemoryError":
        return 'not enough GPU memory to load XTTS; set [voice.xtts] low_vram = true or device = "cpu"'
    if isinstance(exc, FileNotFoundError):
        return f"an XTTS file is missing in {folder} ({_short(exc)})"
    return f"{folder}/model.pth is not a loadable XTTS v2 checkpoint (truncated or another model): {_short(exc)}"
