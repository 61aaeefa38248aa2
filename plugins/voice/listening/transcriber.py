"""Faster-Whisper speech recognition (extra [stt]): the player's spoken answers and `engine say --check`."""

from __future__ import annotations

import contextlib
import importlib.util
import os
import re
import threading
import time
from collections.abc import Iterator
from typing import Any

import numpy as np

from plugins.voice.core.audio import resample
from plugins.voice.core.errors import VoiceError
from plugins.voice.core.settings import SpeechInputSettings
from plugins.voice.engines.models import WHISPER, ModelError, model_files

RATE = 16000  # what Whisper listens at
EXTRA = "speech recognition needs the [stt] extra (pip install -e '.[stt]')"
_NUMBERS = ("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
            "sixteen seventeen eighteen nineteen twenty").split()


class TranscriberError(VoiceError):
    """Speech recognition cannot run (extra or model missing, model refused)."""


class Transcriber:
    """One Whisper model, loaded once (in the background if asked), used by one thread at a time; the
    player's spoken answers go before background work (the quality gate's checks) waiting for it."""

    def __init__(self, settings: SpeechInputSettings) -> None:
        self.settings = settings
        self.model: Any = None
        self.error: str | None = None
        self.lock = threading.Lock()  # for loading
        self.turns = threading.Condition()  # for `busy` and the counts of who waits
        self.busy = False
        self.waiting = 0
        self.answers_waiting = 0
        self.load_seconds = 0.0

    def missing(self) -> str | None:
        return EXTRA if importlib.util.find_spec("faster_whisper") is None else None

    def load(self) -> Any:
        with self.lock:
            if self.model is None:
                if self.error is None:
                    self.error = self.missing()
                if self.error is None:
                    self.model = self._open()
                if self.model is None:
                    raise TranscriberError(self.error or "speech recognition is not available")
            return self.model

    def _open(self) -> Any:
        started = time.monotonic()
        try:
            folder = model_files(WHISPER, self.settings.model_dir)["model.bin"][0].parent
            from faster_whisper import WhisperModel

            model = WhisperModel(str(folder), device=self.settings.device, compute_type=self.settings.compute_type,
                                 cpu_threads=os.cpu_count() or 1, local_files_only=True)
        except ModelError as exc:
            self.error = f"the Whisper model cannot be used: {exc}"
            return None
        except (OSError, RuntimeError, ValueError) as exc:
            self.error = f"the Whisper model in {self.settings.model_dir} could not be loaded: {exc}"
            return None
        self.load_seconds = time.monotonic() - started
        return model

    def transcribe(self, samples: np.ndarray, rate: int, background: bool = False) -> str:
        """The words heard in mono float samples; '' if none. `background` work waits for any answer waiting."""
        model = self.load()
        audio = resample(np.asarray(samples, dtype=np.float32), rate, RATE)
        if len(audio) < RATE // 10:
            return ""
        with self._turn(background):
            segments, _ = model.transcribe(audio, language=self.settings.language or None, beam_size=5,
                                           vad_filter=True, condition_on_previous_text=False)
            return " ".join(segment.text.strip() for segment in segments).strip()

    @contextlib.contextmanager
    def _turn(self, background: bool) -> Iterator[None]:
        with self.turns:
            self.waiting += 1
            self.answers_waiting += 0 if background else 1
            try:
                self.turns.wait_for(lambda: not self.busy and (not background or self.answers_waiting == 0))
            finally:
                self.waiting -= 1
                self.answers_waiting -= 0 if background else 1
            self.busy = True
        try:
            yield
        finally:
            with self.turns:
                self.busy = False
                self.turns.notify_all()


def words(text: str) -> list[str]:
    """Lowercase words without punctuation, small numbers spelled out ("2" -> "two")."""
    found = re.findall(r"[a-z0-9']+", text.lower().replace("-", " "))
    return [_NUMBERS[int(w)] if w.isdigit() and int(w) < len(_NUMBERS) else w for w in found]


def word_error_rate(reference: str, heard: str) -> float:
    """Word error rate of what was heard against the text, after normalizing both (jiwer)."""
    import jiwer

    expected = words(reference)
    if not expected:
        raise VoiceError("There is no word in the text to check against.")
    return float(jiwer.wer(" ".join(expected), " ".join(words(heard)) or "<nothing>"))
