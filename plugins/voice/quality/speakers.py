"""Who a take sounds like: resemblyzer's speaker encoder (its weights ship in the wheel), and each
voice's threshold, calibrated from its own reference and the other characters' references.

Why resemblyzer: it runs offline out of the box (17 MB of weights inside the package), on the CPU in
about 50 ms a line. SpeechBrain's ECAPA model is more accurate but downloads its weights from the
Hugging Face hub on first use, which a player's offline machine (and our tests) cannot do.

Calibration, per voice, on the engine that speaks it. `genuine(L)`: how alike pieces of the reference
L seconds long are to the whole reference (what a line of that length in that voice scores; short
lines score lower, so it is measured at 1, 2 and 4 s and read at the take's length). `impostor`: how
alike the other characters' references are to it, on average. The floor is a quarter of the way from
the impostor to the genuine score (halfway refused two correct short lines of the tomb's 95). With no
other character there is no impostor: the floor is the least alike piece, less twice the spread.
"""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from plugins.voice.core.audio import AudioChunk, resample
from plugins.voice.core.errors import VoiceError, install_extra

RATE = 16000
PIECE_SECONDS = (1.0, 2.0, 4.0)
MIN_VOICED_SECONDS = 1.0  # less speech than this is too little to judge a speaker by
NO_VOICE_SECONDS = 0.3  # less than this is no voice at all
EXTRA = f"the quality gate's speaker check needs the [quality] extra ({install_extra('quality')})"


class SpeakerModelError(VoiceError):
    """The speaker model cannot run (extra missing)."""


class SpeakerModel:
    """resemblyzer's VoiceEncoder, loaded once on first use; one thread at a time."""

    def __init__(self) -> None:
        self.encoder: Any = None
        self.lock = threading.Lock()

    @staticmethod
    def missing() -> str | None:
        return EXTRA if importlib.util.find_spec("resemblyzer") is None else None

    @staticmethod
    def preload() -> None:
        """Imports resemblyzer (and torch) on the calling thread: call it before the game's threads start."""
        if importlib.util.find_spec("resemblyzer") is not None:
            import resemblyzer  # noqa: F401

    def voiced(self, audio: AudioChunk) -> np.ndarray:
        """The take at 16 kHz with its silences cut (resemblyzer's own voice activity detection)."""
        if self.missing():
            raise SpeakerModelError(EXTRA)
        from resemblyzer import preprocess_wav

        samples = resample(np.asarray(audio.samples, dtype=np.float32), audio.sample_rate, RATE)
        if not np.any(samples):
            return samples[:0]
        return np.asarray(preprocess_wav(samples, source_sr=RATE), dtype=np.float32)

    def embed(self, samples: np.ndarray) -> np.ndarray:
        """A unit-length embedding of voiced 16 kHz samples."""
        with self.lock:
            return np.asarray(self._encoder().embed_utterance(samples), dtype=np.float32)

    def embed_many(self, pieces: list[np.ndarray]) -> list[np.ndarray]:
        """What `embed` gives each piece, in one pass of the model over all their partial utterances
        (resemblyzer's own slicing and padding; 4.7-6.9x faster here than one call a piece, equal to 2e-7)."""
        import torch
        from resemblyzer import audio

        with self.lock:
            encoder = self._encoder()
            counts, mels = [], []
            for wav in pieces:
                wav_slices, mel_slices = encoder.compute_partial_slices(len(wav), 1.3, 0.75)  # embed_utterance's
                if wav_slices[-1].stop >= len(wav):
                    wav = np.pad(wav, (0, wav_slices[-1].stop - len(wav)))
                mel = audio.wav_to_mel_spectrogram(wav)
                counts.append(len(mel_slices))
                mels += [mel[piece] for piece in mel_slices]
            with torch.no_grad():
                partials = encoder(torch.from_numpy(np.array(mels))).cpu().numpy()
        embeddings, start = [], 0
        for count in counts:
            mean = partials[start:start + count].mean(axis=0)
            embeddings.append(np.asarray(mean / np.linalg.norm(mean), dtype=np.float32))
            start += count
        return embeddings

    def _encoder(self) -> Any:
        """The caller holds the lock."""
        if self.encoder is None:
            from resemblyzer import VoiceEncoder

            self.encoder = VoiceEncoder("cpu", verbose=False)
        return self.encoder


@dataclass(frozen=True)
class Pieces:
    seconds: float
    mean: float
    low: float  # the least alike piece
    spread: float


@dataclass(frozen=True)
class VoicePrint:
    """One character's reference as the speaker model hears it."""

    embedding: np.ndarray
    pieces: tuple[Pieces, ...]  # genuine scores by piece length, shortest first
    impostor: float | None  # the other characters' references against it, on average

    def genuine(self, seconds: float) -> Pieces:
        """The scores of the pieces nearest in length to `seconds` (interpolated in between)."""
        pieces = self.pieces
        if seconds <= pieces[0].seconds or len(pieces) == 1:
            return pieces[0]
        for short, long in zip(pieces, pieces[1:], strict=False):
            if seconds <= long.seconds:
                w = (np.log(seconds) - np.log(short.seconds)) / (np.log(long.seconds) - np.log(short.seconds))
                mix = [float(a + (b - a) * w) for a, b in ((short.mean, long.mean), (short.low, long.low),
                                                           (short.spread, long.spread))]
                return Pieces(seconds, *mix)
        return pieces[-1]

    def floor(self, seconds: float) -> float:
        genuine = self.genuine(seconds)
        if self.impostor is None:
            return genuine.low - 2 * genuine.spread
        return self.impostor + (genuine.mean - self.impostor) / 4


@dataclass(frozen=True)
class Calibration:
    """Every character's print on one engine (a take is compared with all of them)."""

    prints: Mapping[str, VoicePrint] = field(default_factory=dict)


@dataclass(frozen=True)
class Heard:
    """One reference as the speaker model hears it: its embedding and genuine scores (see VoicePrint)."""

    embedding: np.ndarray
    pieces: tuple[Pieces, ...]


def hear(model: SpeakerModel, audio: AudioChunk, give_way: Callable[[], None] = lambda: None) -> Heard | None:
    """A reference's embedding and piece scores (dozens of pieces, embedded together; `give_way` is called
    before that), or None when it has too little speech to judge a speaker by."""
    voiced = model.voiced(audio)
    if len(voiced) < MIN_VOICED_SECONDS * RATE:
        return None
    give_way()
    lengths = [seconds for seconds in PIECE_SECONDS if seconds * RATE <= len(voiced) or seconds == PIECE_SECONDS[0]]
    pieces = {seconds: _pieces(voiced, seconds) for seconds in lengths}
    whole, *embedded = model.embed_many([voiced] + [piece for found in pieces.values() for piece in found])
    heard, start = [], 0
    for seconds, found in pieces.items():
        scores = [float(embedding @ whole) for embedding in embedded[start:start + len(found)]]
        start += len(found)
        heard.append(Pieces(seconds, float(np.mean(scores)), min(scores), float(np.std(scores))))
    return Heard(whole, tuple(heard))


def calibrate(heard: Mapping[str, Heard]) -> Calibration:
    """Prints for every character whose reference was heard; the impostor score compares them (cheap)."""
    prints = {}
    for character_id, own in heard.items():
        others = [float(other.embedding @ own.embedding) for name, other in heard.items() if name != character_id]
        prints[character_id] = VoicePrint(own.embedding, own.pieces, float(np.mean(others)) if others else None)
    return Calibration(prints)


def _pieces(voiced: np.ndarray, seconds: float) -> list[np.ndarray]:
    """The reference cut in pieces `seconds` long, each overlapping the last by half."""
    size = int(seconds * RATE)
    return [voiced[start:start + size] for start in range(0, max(1, len(voiced) - size + 1), size // 2)]
