"""Audio chunks and the conversions between engines and the sound card."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
import soundfile
import soxr


@dataclass(frozen=True)
class AudioChunk:
    """Mono float32 samples in [-1, 1] at `sample_rate` Hz."""

    samples: np.ndarray
    sample_rate: int

    @property
    def seconds(self) -> float:
        return len(self.samples) / self.sample_rate


def resample(samples: np.ndarray, source_rate: int, target_rate: int) -> np.ndarray:
    """Resampling by soxr (its high quality; no pitch change)."""
    if source_rate == target_rate or len(samples) == 0:
        return samples.astype(np.float32, copy=False)
    return soxr.resample(np.asarray(samples, dtype=np.float32), source_rate, target_rate).astype(np.float32, copy=False)


def concat(chunks: list[AudioChunk]) -> AudioChunk:
    rate = chunks[0].sample_rate
    parts = [c.samples if c.sample_rate == rate else resample(c.samples, c.sample_rate, rate) for c in chunks]
    return AudioChunk(np.concatenate(parts).astype(np.float32), rate)


def speech_rms(samples: np.ndarray, frame: int = 480) -> float:
    """RMS over the louder frames only, so pauses do not count as quiet speech."""
    usable = len(samples) - len(samples) % frame
    if usable == 0:
        return float(np.sqrt(np.mean(np.square(samples)))) if len(samples) else 0.0
    frames = np.sqrt(np.mean(np.square(samples[:usable].reshape(-1, frame)), axis=1))
    loud = frames[frames > max(frames.max() * 0.1, 1e-4)]
    return float(np.sqrt(np.mean(np.square(loud)))) if len(loud) else 0.0


KNEE = 0.7  # the soft limiter leaves samples below this as they are


def normalize(samples: np.ndarray, target_dbfs: float, soft_limit: bool = False) -> np.ndarray:
    """Scales speech to a target loudness, never clipping; silence stays silence. Peaks that would clip
    lower the gain, unless `soft_limit` (a shout: louder than the voice's normal level): then they are
    rounded off above KNEE instead, as a shouting voice is compressed, and the loudness is kept."""
    rms = speech_rms(samples)
    if rms < 1e-4:
        return samples
    gain = 10 ** (target_dbfs / 20) / rms
    peak = float(np.max(np.abs(samples)))
    if soft_limit:
        scaled = samples * gain
        over = np.abs(scaled) > KNEE
        room = 0.99 - KNEE
        scaled[over] = np.sign(scaled[over]) * (KNEE + room * np.tanh((np.abs(scaled[over]) - KNEE) / room))
        return scaled.astype(np.float32)
    gain = min(gain, 0.99 / peak) if peak > 0 else gain
    return (samples * gain).astype(np.float32)


def to_int16(samples: np.ndarray) -> np.ndarray:
    """The one clipping rule: float samples outside [-1, 1] are clipped, then scaled by 32767 and rounded."""
    return np.rint(np.clip(samples, -1.0, 1.0) * 32767).astype(np.int16)


def encode(samples: np.ndarray, rate: int, container: str = "WAV", subtype: str = "PCM_16",
           comment: str | None = None) -> bytes:
    """An audio file's bytes (mono); every file we write goes through here, clipped by `to_int16`'s rule."""
    clipped = np.clip(np.asarray(samples, dtype=np.float32), -1.0, 1.0)
    buffer = io.BytesIO()
    with soundfile.SoundFile(buffer, "w", rate, 1, subtype, format=container) as sound:
        if comment is not None:
            sound.comment = comment
        sound.write(to_int16(clipped) if subtype == "PCM_16" else clipped)
    return buffer.getvalue()


def read_frames(source: str | Path | BinaryIO) -> tuple[np.ndarray, int]:
    """A sound file's float32 samples as [frames, channels] and its rate (WAV, FLAC, Opus, MP3).
    Raises soundfile.LibsndfileError (a RuntimeError) or OSError on what it cannot read."""
    samples, rate = soundfile.read(source if not isinstance(source, Path) else str(source), dtype="float32",
                                   always_2d=True)
    return samples, int(rate)


def read_mono(source: str | Path | BinaryIO) -> AudioChunk:
    """A sound file as mono float32 audio (channels mixed down); raises as read_frames."""
    samples, rate = read_frames(source)
    return AudioChunk(samples.mean(axis=1).astype(np.float32), rate)


def decode(data: bytes) -> AudioChunk:
    """Mono float32 audio from a file's bytes; raises as read_frames."""
    return read_mono(io.BytesIO(data))
