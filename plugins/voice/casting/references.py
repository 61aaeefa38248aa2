"""Reference WAVs for cloning: checked before use, converted to one format, last good one kept.

A reference is accepted when it is readable audio of finite samples, 1-30 s long (XTTS uses at most 30 s),
not silent, not clipped and at least 16-bit. Accepted audio is converted to mono 22050 Hz
16-bit and stored by content hash, so a bad replacement never removes the voice that worked.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine import write_atomic
from plugins.voice.core.audio import encode, resample
from plugins.voice.core.recordings import BadRecording, read_checked

MIN_SECONDS = 1.0
MAX_SECONDS = 30.0
RATE = 22050


class BadReference(BadRecording):
    """A reference WAV that cannot be cloned from (the old one stays)."""


@dataclass(frozen=True)
class Accepted:
    source: Path  # the file in voices/
    path: Path  # the checked, converted copy that engines read
    sha256: str  # of the converted copy
    seconds: float


def check(path: Path) -> tuple[np.ndarray, int]:
    """Reads and checks a reference; returns mono float samples and their rate, or raises BadReference."""
    mono, rate = read_checked(path, BadReference)
    seconds = len(mono) / rate if rate else 0.0
    if seconds < MIN_SECONDS:
        raise BadReference(path, f"only {seconds:.1f} s long; give at least {MIN_SECONDS:.0f} s of speech")
    if seconds > MAX_SECONDS:
        raise BadReference(path, f"{seconds:.0f} s long; XTTS uses at most {MAX_SECONDS:.0f} s, so trim it")
    return mono, rate


class ReferenceStore:
    """The accepted version of every reference WAV, by path in voices/."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.accepted: dict[Path, Accepted] = {}
        self.lock = threading.Lock()

    def get(self, source: Path) -> Accepted | None:
        with self.lock:
            return self.accepted.get(source)

    def accept(self, source: Path) -> Accepted:
        """Checks `source` and makes it the voice's reference; raises BadReference and keeps the old one."""
        mono, rate = check(source)
        converted = resample(mono, rate, RATE)
        data = encode(converted, RATE)
        digest = hashlib.sha256(data).hexdigest()
        target = self.folder / f"{digest}.wav"
        if not target.exists():
            write_atomic(target, data)
        accepted = Accepted(source, target, digest, len(converted) / RATE)
        with self.lock:
            self.accepted[source] = accepted
        return accepted

    def forget(self, source: Path) -> bool:
        with self.lock:
            return self.accepted.pop(source, None) is not None
