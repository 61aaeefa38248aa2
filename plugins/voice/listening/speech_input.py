"""Speaking your choices: answers heard through the microphone or read from recorded WAVs,
transcribed by Whisper and handed to the engine as an AnswerSource (the engine does the matching)."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import soundfile

from plugins.voice.core import alsa
from plugins.voice.core.audio import read_mono
from plugins.voice.core.errors import VoiceError, install_extra
from plugins.voice.listening.transcriber import RATE, Transcriber, TranscriberError

BLOCK = 0.1  # seconds of microphone audio per read
KEEP_BEFORE_SPEECH = 1.0  # seconds of quiet kept ahead of the first word


class SpeechInput:
    """Made once per game; gives one AnswerSource per choice (recorded files carry on where they stopped)."""

    def __init__(self, transcriber: Transcriber, notify: Callable[[str], None], files: list[Path] | None = None,
                 trace: Callable[[dict[str, Any]], None] = lambda record: None) -> None:
        missing = transcriber.missing()
        if missing:
            raise VoiceError(f"Speech input: {missing}.")
        self.transcriber = transcriber
        self.notify = notify
        self.trace = trace
        self.files = list(files or [])
        self.used = 0
        self.told_used_up = False
        self.no_microphone = False  # it failed once: the rest of the game is typed (one notice, not one per choice)
        self.lock = threading.Lock()
        self.closed = threading.Event()
        self.workers: list[threading.Thread] = []  # speech-file threads, joined by close()
        for path in self.files:
            if not path.is_file():
                raise VoiceError(f"--speech-input-files: {path} does not exist.")
        self.ready = threading.Thread(target=self._warm_up, name="whisper-load", daemon=True)

    def start(self) -> None:
        """Loads the model in the background (whisper-load, joined by close)."""
        self.ready.start()

    def _warm_up(self) -> None:
        try:
            self.transcriber.load()
        except TranscriberError as exc:
            message = f"Speech input unavailable: {str(exc).rstrip('.')}. Type your choices."
        else:
            how = f"from {len(self.files)} recorded answers" if self.files else "say a choice's number or its words"
            message = f"Speech input is ready ({how})."
        if not self.closed.is_set():  # not after the game has ended
            self.notify(message)

    def close(self) -> None:
        """Game's end (runner's thread): waits for the model load and any answer being transcribed."""
        self.closed.set()
        for thread in [self.ready, *self.workers]:
            if thread.ident is not None:
                thread.join()

    def source(self) -> Any:
        if self.transcriber.error or self.no_microphone:
            return None
        if not self.files:
            return MicrophoneAnswers(self)
        if self.used < len(self.files):
            return FileAnswers(self)
        self.used_up()
        return None

    def used_up(self) -> None:
        if not self.told_used_up:
            self.told_used_up = True
            self.notify("The recorded answers are used up; type your choice.")

    def heard(self, samples: np.ndarray, rate: int, origin: str) -> str:
        started = time.monotonic()
        text = self.transcriber.transcribe(samples, rate)
        self.trace({"event": "speech_input", "from": origin, "heard": text,
                    "audio_s": round(len(samples) / rate, 2), "transcribe_ms": round((time.monotonic() - started) * 1000)})
        return text


class FileAnswers:
    """Recorded answers, one WAV per answer, transcribed in turn as the terminal asks for them."""

    label = "heard"

    def __init__(self, owner: SpeechInput) -> None:
        self.owner = owner
        self.answers: queue.Queue[str] = queue.Queue()
        self.worker: threading.Thread | None = None

    def poll(self, timeout: float) -> str | None:
        if (self.worker is None or not self.worker.is_alive()) and self.answers.empty():
            if self._left():
                self.worker = threading.Thread(target=self._next, name="speech-file", daemon=True)
                self.owner.workers = [t for t in self.owner.workers if t.is_alive()] + [self.worker]
                self.worker.start()
            else:
                self.owner.used_up()
        try:
            return self.answers.get(timeout=timeout) if timeout > 0 else self.answers.get_nowait()
        except queue.Empty:
            return None

    def _left(self) -> bool:
        return self.owner.used < len(self.owner.files)

    def _next(self) -> None:
        path = self.owner.files[self.owner.used]
        self.owner.used += 1
        try:
            answer = read_mono(path)
            text = self.owner.heard(answer.samples, answer.sample_rate, path.name)
        except (OSError, RuntimeError, soundfile.LibsndfileError) as exc:
            self.owner.notify(f"Could not read the recorded answer {path.name}: {exc}")
            return
        except TranscriberError as exc:
            self.owner.notify(f"Speech input unavailable: {exc}")
            return
        self.answers.put(text or "(silence)")

    def finished(self) -> bool:
        return not self._left() and self.answers.empty() and not (self.worker and self.worker.is_alive())

    def close(self) -> None:
        pass  # a file being transcribed finishes and is not used; the next choice takes the next file


class MicrophoneAnswers:
    """Listens on the microphone; voice-activity detection (Silero, from faster-whisper) finds each answer."""

    label = "heard"

    def __init__(self, owner: SpeechInput) -> None:
        self.owner = owner
        self.settings = owner.transcriber.settings
        self.answers: queue.Queue[str] = queue.Queue()
        self.stopped = threading.Event()
        self.failed = False
        self.thread = threading.Thread(target=self._listen, name="microphone", daemon=True)
        self.thread.start()

    def poll(self, timeout: float) -> str | None:
        try:
            return self.answers.get(timeout=timeout) if timeout > 0 else self.answers.get_nowait()
        except queue.Empty:
            return None

    def finished(self) -> bool:
        return self.failed and self.answers.empty()

    def close(self) -> None:
        self.stopped.set()
        self.thread.join(timeout=2 * BLOCK + 1)  # the stream closes before the game goes on (or exits)

    def _listen(self) -> None:
        alsa.quiet()  # PortAudio probes every ALSA device: our notice, not the library's lines
        try:
            import sounddevice
        except (ImportError, OSError):  # OSError: PortAudio itself is missing
            self._give_up(f"the microphone needs the [stt] extra and PortAudio ({install_extra('stt')})")
            return
        name = self.settings.input_device
        try:
            with sounddevice.InputStream(samplerate=RATE, channels=1, dtype="int16",
                                         device=int(name) if name.isdigit() else name or None,
                                         blocksize=int(RATE * BLOCK)) as stream:
                self._segment(lambda: stream.read(int(RATE * BLOCK))[0][:, 0].astype(np.float32) / 32768)
        except (sounddevice.PortAudioError, OSError, ValueError) as exc:
            self._give_up(f"no microphone ({exc})")
        except TranscriberError as exc:
            self._give_up(str(exc))

    def _give_up(self, reason: str) -> None:
        self.failed = True
        with self.owner.lock:
            told, self.owner.no_microphone = self.owner.no_microphone, True
        if not told:
            self.owner.notify(f"Speech input stopped: {reason}. Type your choices.")

    def _segment(self, read: Callable[[], np.ndarray]) -> None:
        """Collects audio until an answer has been said and followed by silence, then transcribes it."""
        from faster_whisper.vad import VadOptions, get_speech_timestamps

        options = VadOptions(min_silence_duration_ms=int(self.settings.silence_seconds * 1000), speech_pad_ms=200)
        silence = int(self.settings.silence_seconds * RATE)
        buffer = np.zeros(0, dtype=np.float32)
        while not self.stopped.is_set():
            buffer = np.concatenate([buffer, read()])
            spoken = get_speech_timestamps(buffer, options)
            if not spoken:
                buffer = buffer[-int(KEEP_BEFORE_SPEECH * RATE):]
                continue
            ended = len(buffer) - spoken[-1]["end"] >= silence
            if ended or len(buffer) >= self.settings.max_seconds * RATE:
                text = self.owner.heard(buffer[spoken[0]["start"]:spoken[-1]["end"]], RATE, "microphone")
                buffer = np.zeros(0, dtype=np.float32)
                if text and not self.stopped.is_set():
                    self.answers.put(text)
