"""Measurements used by tests to tell voices apart."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile


def median_pitch(samples: np.ndarray, rate: int) -> float:
    """Median fundamental frequency (Hz) of voiced 40 ms frames, by autocorrelation (60-400 Hz)."""
    frame = int(rate * 0.04)
    pitches = []
    for start in range(0, len(samples) - frame, frame):
        x = samples[start:start + frame] - np.mean(samples[start:start + frame])
        if np.sqrt(np.mean(x * x)) < 0.02:
            continue
        corr = np.correlate(x, x, mode="full")[frame - 1:]
        low, high = int(rate / 400), int(rate / 60)
        lag = low + int(np.argmax(corr[low:high]))
        if corr[lag] > 0.3 * corr[0]:
            pitches.append(rate / lag)
    return float(np.median(pitches)) if pitches else 0.0


def spectral_centroid(samples: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(samples))
    freqs = np.fft.rfftfreq(len(samples), 1 / rate)
    return float(np.sum(freqs * spectrum) / np.sum(spectrum))


def write_tone(path: Path, seconds: float, frequency: float, rate: int = 22050, level: float = 0.3,
               channels: int = 1, subtype: str = "PCM_16") -> Path:
    """A voiced-like test signal (a tone with harmonics and a slow tremolo) written as a WAV."""
    t = np.arange(int(rate * seconds)) / rate
    wave = sum(np.sin(2 * np.pi * frequency * k * t) / k for k in (1, 2, 3)) * (0.6 + 0.4 * np.sin(2 * np.pi * 3 * t))
    samples = (level * wave / np.max(np.abs(wave))).astype(np.float32)
    path.parent.mkdir(parents=True, exist_ok=True)
    soundfile.write(path, np.repeat(samples[:, None], channels, axis=1) if channels > 1 else samples, rate,
                    subtype=subtype)
    return path
