"""XTTS v2 (coqui-tts): clones a character's voice from reference WAVs, streaming, on GPU or CPU.

The model loads on its owner thread (model.py, loading.py); until it is ready, and has made its warm-up
line (which measures its pace), its lines go to the next engine (`while_loading = "fallback"`) or wait
for it (`"wait"`). One synthesis at a time per
model, through our streaming loop (stream.py, driven by speech.py); the line being spoken goes
before prefetch work.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import json
import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path

from plugins.voice.core.audio import AudioChunk
from plugins.voice.core.errors import EngineUnavailable, SpeechFailure, VoiceNotSupported, install_extra
from plugins.voice.core.settings import XttsSettings
from plugins.voice.core.voice import LineSettings
from plugins.voice.engines.acting import acted, delivery
from plugins.voice.engines.base import EngineBase, EngineEvents, Voice, log_event
from plugins.voice.engines.models import MANIFEST
from plugins.voice.engines.speeds import Speeds
from plugins.voice.engines.xtts.loading import cpu_paths
from plugins.voice.engines.xtts.model import XttsModel
from plugins.voice.engines.xtts.speech import Speech

log = logging.getLogger(__name__)
XTTS_LANGUAGES = ("en", "es", "fr", "de", "it", "pt", "pl", "tr", "ru", "nl", "cs", "ar", "zh-cn", "hu", "ko", "ja",
                  "hi")
LANGUAGE_PACKAGES = {"zh-cn": "pypinyin", "ja": "cutlet"}  # text front ends XTTS imports for these


def preload_torch() -> None:
    """Imports torch on the calling thread. Call it on the main thread before the game's threads
    start: a half-imported torch seen by another thread breaks scipy and numpy type checks."""
    if importlib.util.find_spec("torch") is not None:
        import torch  # noqa: F401


class XttsEngine(EngineBase):
    name = "xtts"
    pausable = False  # its owner thread puts background work aside for the speaker by itself
    network = False
    clones = True
    takes_vary = True  # it samples: a retake is another performance (and a cooler one, see speech.temperature)

    def __init__(self, settings: XttsSettings, events: EngineEvents = log_event) -> None:
        self.settings = settings
        self.owner = XttsModel(settings, events)
        self.speeds = Speeds()
        self.warmed = threading.Event()  # the warm-up line is done (or there was none to make)
        self.measuring = False  # the warm-up line was asked for (prepare runs again when a reference changes)
        self._paths: str | None = None  # the CPU's faster paths in use, once known (part of the identity)
        self.speech = Speech(settings, self.owner, self.speeds, functools.partial(model_hash, settings.model_dir))

    # --- availability -------------------------------------------------------------

    def missing(self) -> str | None:
        if importlib.util.find_spec("TTS") is None:
            return f"the xtts engine needs the [xtts] extra ({install_extra('xtts')})"
        folder = self.settings.model_dir
        if not (folder / "model.pth").is_file() or not (folder / MANIFEST).is_file():
            return f"no XTTS model in {folder}; install one with 'engine models install xtts --from DIR'"
        if self.owner.error:
            return self.owner.error
        if self.owner.started and self.settings.while_loading == "fallback":
            if not self.owner.loaded.is_set():
                return "its model is still loading"
            if self.measuring and not self.warmed.is_set():  # its pace is not known yet: a slow model's first
                return "its model is warming up"  # line would make the player wait for the whole of it
        return None

    def probe(self) -> str | None:
        reason = self.missing() or self.owner.stuck()
        if reason is None and self.owner.placement.device == "cuda":
            request = self.owner.submit(lambda r: _empty_cuda_cache(), urgent=False)  # after an out-of-memory error
            with contextlib.suppress(SpeechFailure):
                list(request.results())
        return reason

    def identity(self, voice: Voice) -> str:
        cap = self.settings.max_audio_tokens_per_word
        if self._paths is None:
            self._paths = cpu_paths(self.settings).replace("GPT ", "").replace("decoder ", "dec-").replace(", ", "+")
        return f"xtts:{model_hash(self.settings.model_dir)}:t={self.settings.temperature}" + \
            (f":cap={cap}" if cap > 0 else "") + (f":{self._paths}" if self._paths else "")

    def measured_rtf(self) -> tuple[float, int] | None:
        """(median real-time factor of the last lines made whole, how many lines it comes from), or None."""
        return self.speeds.measured()

    # --- loading --------------------------------------------------------------------

    def prepare(self, voices: Sequence[Voice] = ()) -> None:
        """Starts loading the model in the background, then computes the voices' latents."""
        if importlib.util.find_spec("TTS") is None or self.owner.error:
            return
        wanted = [voice for voice in voices if voice.engine == self.name and voice.references]
        warm = [functools.partial(self._warm, voice) for voice in wanted]
        if not wanted:
            self.warmed.set()
        first = wanted and not self.measuring
        self.measuring = self.measuring or bool(wanted)  # once per game: later prepares (a new WAV) only warm latents
        self.owner.start(warm + ([functools.partial(self._measure, wanted[0]), self._warm_decoder] if first else []))

    def close(self) -> None:
        self.owner.close()

    def _measure(self, voice: Voice) -> None:
        try:
            self.speech.measure(voice)
        finally:
            self.warmed.set()

    def _warm_decoder(self, steps: list[Callable[[], None]] | None = None) -> None:
        """Owner thread, after the warm-up line: builds the decoder's kernels one window length at a time (not
        while loading: on a busy machine that made the load 10 s longer). It gives way to a line being spoken
        and queues the steps left after it."""
        try:
            steps = self.owner.streamer.warm_steps() if steps is None else steps
            while steps:
                if self.owner.urgent_waiting():
                    self.owner.later(functools.partial(self._warm_decoder, steps))
                    return
                steps.pop(0)()
                self.owner.headway.beat()
        except Exception as exc:  # noqa: BLE001 - only the first lines get slower: no traceback for the player's log
            log.warning("XTTS decoder warm-up stopped: %s", exc)

    def _warm(self, voice: Voice) -> None:
        try:
            self.speech.latents(voice)
        except Exception:  # noqa: BLE001 - a bad reference shows up again, with its reason, when the line is spoken
            log.warning("could not prepare latents for %s", voice.character_id, exc_info=True)

    # --- synthesis -----------------------------------------------------------------

    def _ready(self) -> None:
        self.owner.start()
        self.owner.loaded.wait()
        if self.owner.error or self.owner.model is None:
            raise EngineUnavailable(self.name, self.owner.error or "the model did not load")

    def synthesize(self, text: str, voice: Voice, settings: LineSettings) -> Iterator[AudioChunk]:
        language = spoken_language(settings.language)
        if not voice.references or voice.seed_failed:
            self.speech.latents(voice)  # raises VoiceNotSupported at once, without waiting for the model
        self._ready()
        plan = delivery(self, voice, settings.speed)
        paced = replace(settings, speed=plan.speed)
        request = self.owner.submit(lambda r: self.speech.speak(r, text, voice, language, paced),
                                    urgent=not settings.background, followed=_followed(settings))
        yield from acted(request.results(settings.budget, lambda: self.owner.headway.last), plan)


def _followed(settings: LineSettings) -> Callable[[], bool]:
    """Whether the speaker has adopted this background line (it took over its budget): it goes first now."""
    budget = settings.budget
    return (lambda: budget.foreground) if budget is not None else (lambda: False)


def model_hash(model_dir: Path, name: str = "model.pth") -> str:
    """The model file's hash from the installed model's manifest (part of cache keys)."""
    try:
        files = json.loads((model_dir / MANIFEST).read_text())["files"]
    except (OSError, ValueError, KeyError):
        files = {}
    return str(files.get(name, "unknown"))[:16]


def spoken_language(language: str) -> str:
    """`language` if XTTS can speak it here, else VoiceNotSupported with the reason."""
    if language not in XTTS_LANGUAGES:
        raise VoiceNotSupported(XttsEngine.name, f"XTTS cannot speak language {language!r}")
    package = LANGUAGE_PACKAGES.get(language)
    if package and importlib.util.find_spec(package) is None:
        raise VoiceNotSupported(XttsEngine.name,
                                f"XTTS needs the {package} package for {language!r} (pip install {package})")
    return language


def _empty_cuda_cache() -> None:
    import torch

    torch.cuda.empty_cache()
