"""Pocket TTS (pocket-tts, Kyutai; extra [pocket]): clones each character from the reference WAVs XTTS uses,
on the CPU, several times faster than speech; streams 80 ms frames as they are made (stream.py).

One model per language (loading.py), loaded on first use or by `prepare` (well under a second: the weights
are taken as they are read). Lines run on the caller's thread (speaker or prefetch), frame by frame; the
model's turn (core/turns.py) is taken per chunk, never across a `yield`, and the line being heard goes first.
"""

from __future__ import annotations

import contextlib
import importlib.util
import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any

from plugins.voice.core.audio import AudioChunk
from plugins.voice.core.errors import EngineUnavailable, SynthesisFailed, VoiceNotSupported
from plugins.voice.core.settings import PocketSettings
from plugins.voice.core.turns import Turns
from plugins.voice.core.voice import LineSettings, Voice
from plugins.voice.engines.acting import acted, delivery
from plugins.voice.engines.base import EngineBase, EngineEvent, EngineEvents, log_event
from plugins.voice.engines.models import ModelError, installed
from plugins.voice.engines.pocket.loading import EXTRA, LANGUAGES, Loaded, build, language_code
from plugins.voice.engines.pocket.states import VoiceStates, prompt_audio
from plugins.voice.engines.speeds import Speeds
from plugins.voice.engines.xtts.loading import short


class PocketEngine(EngineBase):
    name = "pocket"
    pausable = True  # a line made ahead may wait between two chunks: it holds nothing the next line needs
    clones = True
    takes_vary = True  # it samples (temperature 0.3): a retake is another performance

    def __init__(self, settings: PocketSettings, events: EngineEvents = log_event) -> None:
        self.settings = settings
        self.events = events
        self.models: dict[str, Loaded] = {}
        self.errors: dict[str, str] = {}  # a language whose model failed stays refused until restart
        self.load_lock = threading.Lock()
        self.states = VoiceStates(settings.states_dir)
        self.turns = Turns()
        self.speeds = Speeds()

    def missing(self) -> str | None:
        if importlib.util.find_spec("pocket_tts") is None:
            return EXTRA
        codes = self.languages()
        if not codes:
            return (f"no Pocket TTS model in {self.settings.model_dir}; install one with "
                    "'engine models install pocket --from DIR'")
        if all(code in self.errors for code in codes):
            return self.errors[codes[0]]
        return None

    def probe(self) -> str | None:
        return self.missing()

    def measured_rtf(self) -> tuple[float, int] | None:
        return self.speeds.measured()

    def languages(self) -> list[str]:
        return [code for code in LANGUAGES if installed(self.settings.model_dir / code)]

    def prepare(self, voices: Sequence[Voice] = ()) -> None:
        """Loads the models the cast's languages need and makes each voice's prompt state (caller's thread)."""
        for voice in voices:
            if voice.engine != self.name or not voice.references or voice.seed_failed:
                continue
            code = language_code(voice.language)
            if code in self.languages():
                try:
                    self._state(self._model(code), voice, background=False)
                except (EngineUnavailable, VoiceNotSupported):
                    continue  # said again, with its reason, when the character speaks

    def close(self) -> None:
        with self.load_lock:
            self.models.clear()

    def identity(self, voice: Voice) -> str:
        code = language_code(voice.language) or voice.language
        digest = self.models[code].digest[:16] if code in self.models else self._digest(code)
        return f"pocket:{digest}:t={self.settings.temperature}:eos={self.settings.eos_threshold}" + \
            (":int8" if self.settings.int8 else "")

    def _digest(self, code: str) -> str:
        """The weights' hash as the manifest has it: the same key before the model loads as after."""
        from plugins.voice.engines.xtts.engine import model_hash

        return model_hash(self.settings.model_dir / code, "model.safetensors")

    def _model(self, code: str) -> Loaded:
        with self.load_lock:
            if code in self.models:
                return self.models[code]
            if code in self.errors:
                raise EngineUnavailable(self.name, self.errors[code])
            folder = self.settings.model_dir / code
            started = time.monotonic()
            self.events(EngineEvent(self.name, "loading", f"loading the model from {folder} ..."))
            try:
                loaded = build(self.settings, folder)
            except ModelError as exc:
                self.errors[code] = str(exc)
            except Exception as exc:  # noqa: BLE001 - torch and pocket-tts raise many kinds; all mean "cannot load"
                self.errors[code] = f"{folder}/model.safetensors is not a loadable Pocket TTS model: {short(exc)}"
            if code in self.errors:
                self.events(EngineEvent(self.name, "failed", self.errors[code]))
                if len(self.errors) < len(self.languages()):  # other languages' models may still speak
                    raise VoiceNotSupported(self.name, self.errors[code])
                raise EngineUnavailable(self.name, self.errors[code])
            self.models[code] = loaded
            self.events(EngineEvent(self.name, "ready", f"model ready ({'int8' if loaded.int8 else 'fp32'}) "
                                                        f"in {time.monotonic() - started:.1f} s"))
            return loaded

    def _state(self, loaded: Loaded, voice: Voice, background: bool) -> Any:
        if voice.seed_failed:
            raise VoiceNotSupported(self.name, "VOICE_SEED_FAILED: its reference WAV could not be seeded")
        if not voice.references:
            raise VoiceNotSupported(self.name, f"no reference WAV for voice {voice.voice_id} in voices/")
        model = loaded.model

        def make() -> Any:
            audio = prompt_audio(voice.references, model.sample_rate)
            with self.turns.turn(background):
                return model.get_state_for_audio_prompt(audio)

        return self.states.get(f"{loaded.digest[:16]}-{voice.reference_hash}", make)

    def synthesize(self, text: str, voice: Voice, settings: LineSettings) -> Iterator[AudioChunk]:
        plan = delivery(self, voice, settings.speed)
        return acted(self._speak(text, voice, settings, plan.speed), plan)

    def _speak(self, text: str, voice: Voice, settings: LineSettings, speed: float) -> Iterator[AudioChunk]:
        code = language_code(settings.language)
        if code not in self.languages():
            spoken = ", ".join(self.languages()) or "none"
            raise VoiceNotSupported(self.name, f"no Pocket TTS model for language {settings.language!r} "
                                               f"(installed: {spoken})")
        from plugins.voice.engines.pocket.stream import SAMPLE_RATE, parts, speak  # torch: imported when first used

        loaded = self._model(code)
        state = self._state(loaded, voice, settings.background)
        model = loaded.model
        working = made = 0.0
        try:
            for part in parts(model, text):
                with contextlib.closing(speak(model, state, part, self.settings.max_frames_per_word, speed)) as stream:
                    while True:
                        with self.turns.turn(settings.background, settings.budget, self.name):  # Stalled
                            started = time.perf_counter()
                            samples = next(stream, None)
                            working += time.perf_counter() - started
                        if samples is None:
                            break
                        if settings.budget is not None:
                            settings.budget.received()
                        chunk = AudioChunk(samples.numpy().copy(), SAMPLE_RATE)
                        made += chunk.seconds
                        yield chunk
        except (RuntimeError, ValueError, IndexError, AssertionError) as exc:
            raise SynthesisFailed(self.name, f"synthesis failed ({short(exc)})") from exc
        self.speeds.add(working, made)  # a line read to its end (one closed early says nothing of the pace)
