"""Faster-Whisper speech recognition (extra [stt]): the player's spoken answers and `engine say --check`."""

from __future__ import annotations

import importlib.util
import os
import re
import threading
import time
from typing import Any

import numpy as np

from plugins.voice.core.audio import resample
from plugins.voice.core.errors import VoiceError, install_extra
from plugins.voice.core.settings import SpeechInputSettings
from plugins.voice.core.turns import Turns
from plugins.voice.engines.models import WHISPER, ModelError, model_files

RATE = 16000  # what Whisper listens at
EXTRA = f"speech recognition needs the [stt] extra ({install_extra('stt')})"
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
        self.turns = Turns()  # one transcription at a time; the player's answers first
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
        with self.turns.turn(background):
            segments, _ = model.transcribe(audio, language=self.settings.language or None, beam_size=5,
                                           vad_filter=True, condition_on_previous_text=False)
            return " ".join(segment.text.strip() for segment in segments).strip()


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
