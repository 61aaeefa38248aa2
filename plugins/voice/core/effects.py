"""Audio effects for qualifiers, applied to an engine's chunks as they come (streaming-safe: each filter
keeps its state from one chunk to the next, so chunk boundaries are inaudible).

- offscreen: darker (low-pass at 1.6 kHz); quieter by EFFECT_GAIN_DB at the output (core/acting.py);
- radio: driven into soft saturation, then band-limited to 450-2500 Hz (a handheld set);
- phone: band-limited to 300-3400 Hz (the telephone band).
"""

from __future__ import annotations

import numpy as np

DRIVE = 2.5  # radio's saturation: tanh(DRIVE * x) / tanh(DRIVE)


def _design(name: str, rate: int) -> np.ndarray:
    from scipy.signal import butter  # here, not at start-up: scipy.signal takes a second to import

    nyquist = rate / 2
    if name == "offscreen":
        return butter(4, min(1600, nyquist * 0.9), btype="lowpass", fs=rate, output="sos")
    low, high = (450, 2500) if name == "radio" else (300, 3400)
    return butter(6, [low, min(high, nyquist * 0.9)], btype="bandpass", fs=rate, output="sos")


class Effect:
    """One line's effect: feed it the line's chunks in order."""

    def __init__(self, name: str) -> None:
        if name not in ("offscreen", "radio", "phone"):
            raise ValueError(f"unknown effect {name!r}")
        self.name = name
        self.rate = 0
        self.sos = np.zeros((0, 6))
        self.state = np.zeros((0, 2))

    def process(self, samples: np.ndarray, rate: int) -> np.ndarray:
        from scipy.signal import sosfilt, sosfilt_zi

        if rate != self.rate:
            self.rate = rate
            self.sos = _design(self.name, rate)
            self.state = sosfilt_zi(self.sos) * 0.0  # from silence: the line starts at rest
        x = np.asarray(samples, dtype=np.float64)
        if self.name == "radio":
            x = np.tanh(DRIVE * x) / np.tanh(DRIVE)
        out, self.state = sosfilt(self.sos, x, zi=self.state)
        return out.astype(np.float32)
