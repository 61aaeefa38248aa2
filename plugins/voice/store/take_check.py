"""A take is checked like a reference WAV (core/recordings.py), with a line's lengths instead of a voice's."""

from __future__ import annotations

from pathlib import Path

from plugins.voice.core.audio import AudioChunk
from plugins.voice.core.recordings import BadRecording, read_checked

MIN_SECONDS = 0.2
MAX_SECONDS = 120.0
MIN_RATE = 16000  # below this a recorded voice sounds duller than the synthetic ones beside it


class BadTake(BadRecording):
    """An actor's take that cannot be played (the line is synthesized instead)."""


def check_take(path: Path) -> AudioChunk:
    mono, rate = read_checked(path, BadTake)
    if rate < MIN_RATE:
        raise BadTake(path, f"recorded at {rate} Hz; record at {MIN_RATE} Hz or more (44.1 or 48 kHz is usual)")
    seconds = len(mono) / rate
    if not MIN_SECONDS <= seconds <= MAX_SECONDS:
        raise BadTake(path, f"{seconds:.1f} s long; a take is {MIN_SECONDS} to {MAX_SECONDS:.0f} s")
    return AudioChunk(mono, rate)
