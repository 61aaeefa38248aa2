"""Measurements used by tests to tell voices apart."""

from __future__ import annotations

import numpy as np


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
