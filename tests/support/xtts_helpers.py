"""Helpers for XTTS tests: real Piper speech as reference WAVs, voices pointing at them."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import soundfile

from plugins.voice.core.audio import concat
from plugins.voice.core.voice import LineSettings, Voice
from plugins.voice.engines.piper.engine import PiperEngine
from plugins.voice.engines.xtts.engine import XttsEngine


def speak_reference(piper: PiperEngine, path: Path, text: str, variant: int = 0) -> Path:
    voice = Voice("ref", "ref", "piper", "en", 1.0, variant)
    audio = concat(list(piper.synthesize(text, voice, LineSettings())))
    path.parent.mkdir(parents=True, exist_ok=True)
    soundfile.write(path, audio.samples, audio.sample_rate, subtype="PCM_16")
    return path


def latents_computed(engine: XttsEngine) -> list[str]:
    """The keys whose latents `engine` really computes from now on (not found in memory or on disk)."""
    computed: list[str] = []
    cache = engine.owner.latents
    real = cache.get

    def get(key: str, compute: Any) -> Any:
        def counted() -> Any:
            computed.append(key)
            return compute()

        return real(key, counted)

    cache.get = get  # type: ignore[method-assign]
    return computed


def xtts_voice(reference: Path, language: str = "en", voice_id: str = "god_deep") -> Voice:
    digest = hashlib.sha256(reference.read_bytes()).hexdigest()
    return Voice("god", voice_id, "xtts", language, 1.0, 0, {}, (reference,), digest)


class Spy:
    """Wraps our real streaming loop to see how it is called (it still runs)."""

    def __init__(self, engine: XttsEngine, fail_once: BaseException | None = None) -> None:
        self.owner = engine.owner
        self.real = engine.owner.streamer
        self.calls: list[dict[str, Any]] = []
        self.active = 0
        self.most_active = 0
        self.fail_once = fail_once
        self.lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:  # the real loop's other parts (its warm-up steps)
        return getattr(self.real, name)

    def __enter__(self) -> Spy:
        self.owner.streamer = self
        return self

    def __exit__(self, *exc: object) -> None:
        self.owner.streamer = self.real

    def __call__(self, text: str, language: str, *args: Any, **kwargs: Any) -> Iterator[Any]:
        self.calls.append({"text": text, "language": language, **kwargs})
        if self.fail_once is not None:
            failure, self.fail_once = self.fail_once, None
            raise failure
        with self.lock:
            self.active += 1
            self.most_active = max(self.most_active, self.active)
        try:
            yield from self.real(text, language, *args, **kwargs)
        finally:
            with self.lock:
                self.active -= 1
