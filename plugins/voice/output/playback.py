"""Turns engine chunks into what the player hears: one rate, one loudness, no overlaps."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import soundfile

from plugins.voice.core.audio import AudioChunk, normalize, resample, to_int16
from plugins.voice.output.sinks import NoAudioDevice, NullSink, Sink

log = logging.getLogger(__name__)


class Recording:
    """--record FILE.wav: everything the player hears, in order, with the gaps between lines.

    The WAV header is brought up to date after every chunk (libsndfile's flush), so the file
    is a playable recording of what was heard even if the process is killed mid-game."""

    def __init__(self, path: Path, rate: int, gap_seconds: float) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self.file = soundfile.SoundFile(path, "w", samplerate=rate, channels=1, subtype="PCM_16", format="WAV")
        self.gap = np.zeros(int(rate * gap_seconds), dtype=np.int16)
        self.lines = 0
        self.lock = threading.Lock()

    def start_line(self) -> None:
        with self.lock:
            if self.lines and len(self.gap):
                self.file.write(self.gap)
            self.lines += 1

    def write(self, pcm: np.ndarray) -> None:
        with self.lock:
            self.file.write(pcm)
            self.file.flush()

    def close(self) -> None:
        with self.lock:
            self.file.close()


class Output:
    """The single way to the speakers. Lines are played one after another, never together."""

    def __init__(self, sink: Sink, rate: int, loudness_dbfs: float, notify: Callable[[str], None],
                 recording: Recording | None = None) -> None:
        self.sink = sink
        self.rate = rate
        self.loudness_dbfs = loudness_dbfs
        self.notify = notify
        self.recording = recording
        self.play_until = 0.0  # when the audio written so far for this line ends, on the sink's clock
        self.gaps: list[float] = []  # silences inside the current line: chunks that came too late
        self.gain_db = 0.0  # the line's acting (a whisper is quieter than the voice's normal level)

    def start_line(self, gain_db: float = 0.0) -> None:
        self.gain_db = gain_db
        self.play_until = 0.0
        self.gaps = []
        if self.recording:
            self.recording.start_line()

    def play(self, chunk: AudioChunk) -> float:
        """Plays a chunk; returns the monotonic time at which the sink got it (its first audio)."""
        samples = resample(np.asarray(chunk.samples, dtype=np.float32), chunk.sample_rate, self.rate)
        pcm = to_int16(normalize(samples, self.loudness_dbfs + self.gain_db, soft_limit=self.gain_db > 0))
        now = time.monotonic()
        if self.play_until and now > self.play_until:  # the sink ran dry before this chunk came
            gap = now - self.play_until
            self.gaps.append(gap)
            if self.recording:
                self.recording.write(np.zeros(int(gap * self.rate), dtype=np.int16))
        self.play_until = max(now, self.play_until) + len(pcm) / self.rate
        if self.recording:
            self.recording.write(pcm)
        started = time.monotonic()
        try:
            self.sink.write(pcm)
        except NoAudioDevice as exc:
            self.notify(f"No audio device ({exc}); the story goes on as text" +
                        (" and --record keeps recording." if self.recording else "."))
            self.sink = NullSink()
        return started

    def buffered(self) -> float:
        """Seconds of the line written to the sink and not yet heard."""
        return max(0.0, self.play_until - time.monotonic()) if self.play_until else 0.0

    def end_line(self) -> list[float]:
        """Waits until the line has been heard; returns the silences inside it (chunks that came late)."""
        self.sink.drain()
        return list(self.gaps)

    def silence(self) -> float:
        """Seconds since the line's audio ran out (0 while some is still to be heard)."""
        return max(0.0, time.monotonic() - self.play_until) if self.play_until else 0.0

    def stop(self) -> None:
        """Cuts what was queued (from any thread): the line's audio ends now."""
        self.sink.stop()
        if self.play_until:
            self.play_until = min(self.play_until, time.monotonic())

    def close(self) -> None:
        self.sink.close()
        if self.recording:
            self.recording.close()
