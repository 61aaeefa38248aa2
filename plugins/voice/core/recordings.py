"""Recordings we are given (reference WAVs for cloning, actors' takes): read and checked the same way."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile

from plugins.voice.core.audio import read_frames
from plugins.voice.core.errors import VoiceError


class BadRecording(VoiceError):
    def __init__(self, path: Path, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"{path.name} refused: {reason}")


def read_checked(path: Path, error: type[BadRecording] = BadRecording) -> tuple[np.ndarray, int]:
    """Mono float samples and their rate, or `error` with the reason: unreadable, 8-bit, damaged, silent, clipped."""
    try:
        info = soundfile.info(str(path))
        samples, rate = read_frames(path)
    except (soundfile.LibsndfileError, RuntimeError, OSError) as exc:
        raise error(path, f"not readable audio ({str(exc).strip()[:80]})") from None
    if info.subtype in ("PCM_U8", "PCM_S8", "ULAW", "ALAW"):
        raise error(path, "8-bit audio is too coarse; use 16-bit or better")
    if not np.isfinite(samples).all():
        raise error(path, "damaged: it holds samples that are not numbers (NaN or infinity)")
    mono = samples.mean(axis=1)
    if not len(mono) or float(np.sqrt(np.mean(mono ** 2))) < 0.003:
        raise error(path, "silent")
    clipped = float(np.mean(np.abs(samples) >= 0.999))
    if clipped > 0.001:
        raise error(path, f"clipped ({clipped:.1%} of samples at full scale); record it quieter")
    return mono.astype(np.float32), int(rate)
