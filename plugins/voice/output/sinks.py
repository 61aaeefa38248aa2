"""Where sound goes: simpleaudio, sounddevice, or nowhere. Each takes int16 mono at one rate."""

from __future__ import annotations

import threading
import time
from typing import Any, Protocol

import numpy as np

from plugins.voice.core import alsa
from plugins.voice.core.errors import NoAudioDevice

__all__ = ["NoAudioDevice", "NullSink", "Sink", "SimpleaudioSink", "SounddeviceSink", "open_sink"]
BLOCK_SECONDS = 0.1  # how often a playing sink checks for stop


class Sink(Protocol):
    name: str

    def write(self, pcm: np.ndarray) -> None:
        """Queues int16 samples; blocks while earlier audio still has to play. Returns early after stop()."""

    def drain(self) -> None:
        """Blocks until everything written has been played (or stop() was called)."""

    def stop(self) -> None:
        """Cuts the current audio now (from any thread); the next write starts afresh."""

    def close(self) -> None: ...


class NullSink:
    """Plays nothing, instantly (no sound card, or sound turned off)."""

    name = "null"

    def write(self, pcm: np.ndarray) -> None:
        pass

    def drain(self) -> None:
        pass

    def stop(self) -> None:
        pass

    def close(self) -> None:
        pass


class SimpleaudioSink:
    """One buffer at a time through simpleaudio; the next waits for the previous to end."""

    name = "simpleaudio"

    def __init__(self, rate: int) -> None:
        try:
            import simpleaudio
        except ImportError as exc:
            raise NoAudioDevice(f"simpleaudio is not installed ({exc})") from None
        from simpleaudio._simpleaudio import SimpleaudioError  # the one error it raises (no public name)

        self.simpleaudio = simpleaudio
        self.device_error = SimpleaudioError
        self.rate = rate
        self.current: Any = None
        self.stopped = threading.Event()

    def _wait_current(self) -> None:
        while self.current is not None and self.current.is_playing() and not self.stopped.is_set():
            time.sleep(0.005)

    def write(self, pcm: np.ndarray) -> None:
        self._wait_current()
        if self.stopped.is_set():
            self.stopped.clear()
        try:
            self.current = self.simpleaudio.play_buffer(np.ascontiguousarray(pcm).tobytes(), 1, 2, self.rate)
        except self.device_error as exc:
            raise NoAudioDevice(str(exc).strip()) from None

    def drain(self) -> None:
        self._wait_current()

    def stop(self) -> None:
        self.stopped.set()
        if self.current is not None:
            self.current.stop()

    def close(self) -> None:
        self.stop()


class SounddeviceSink:
    """A continuous PortAudio stream: chunks of one line play back to back with no gap."""

    name = "sounddevice"

    def __init__(self, rate: int) -> None:
        try:
            import sounddevice
        except (ImportError, OSError) as exc:
            raise NoAudioDevice(f"sounddevice is not usable ({exc})") from None
        self.sounddevice = sounddevice
        self.rate = rate
        self.stream: Any = None
        self.stopped = threading.Event()

    def _open(self) -> Any:
        if self.stream is None:
            try:
                self.stream = self.sounddevice.OutputStream(samplerate=self.rate, channels=1, dtype="int16")
                self.stream.start()
            except (self.sounddevice.PortAudioError, ValueError) as exc:  # no device, or one that refuses the rate
                self.stream = None
                raise NoAudioDevice(str(exc).strip()) from None
        return self.stream

    def write(self, pcm: np.ndarray) -> None:
        self.stopped.clear()
        stream = self._open()
        block = max(1, int(self.rate * BLOCK_SECONDS))
        for start in range(0, len(pcm), block):
            if self.stopped.is_set():
                return
            try:
                stream.write(np.ascontiguousarray(pcm[start:start + block]).reshape(-1, 1))
            except self.sounddevice.PortAudioError as exc:
                self.close()
                raise NoAudioDevice(str(exc).strip()) from None

    def drain(self) -> None:
        if self.stream is not None:
            self.stream.stop()  # returns once queued audio has played
            self.stream.close()
            self.stream = None

    def stop(self) -> None:
        self.stopped.set()
        if self.stream is not None:
            self.stream.abort()

    def close(self) -> None:
        if self.stream is not None:
            self.stream.close()
            self.stream = None


def open_sink(name: str, rate: int) -> Sink:
    """Builds the named sink; raises NoAudioDevice with the reason when it cannot."""
    if name in ("simpleaudio", "sounddevice"):
        alsa.quiet()  # our notice says it once, not the library in a dozen lines
    if name == "simpleaudio":
        return SimpleaudioSink(rate)
    if name == "sounddevice":
        return SounddeviceSink(rate)
    return NullSink()
