"""The gate: one take of one line in, a verdict out (engine-agnostic, on the finished audio).

Words (Faster-Whisper, extra [stt]), length, a cut at the end, and the speaker (resemblyzer,
extra [quality]). A take fails on any fault; among failed takes the best is the one with the
fewest faults, then the lowest word error rate, then the widest speaker margin.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from plugins.voice.core.audio import AudioChunk
from plugins.voice.core.errors import SpeechFailure, VoiceError
from plugins.voice.core.settings import QualitySettings, SpeechInputSettings
from plugins.voice.engines.base import Engine
from plugins.voice.listening.transcriber import Transcriber
from plugins.voice.quality.checks import count_words, cut_faults, length_faults, tail_db, word_faults
from plugins.voice.quality.speakers import MIN_VOICED_SECONDS, NO_VOICE_SECONDS, RATE, Calibration, SpeakerModel


class QualityError(VoiceError):
    """The gate cannot run (an extra or a model is missing)."""


@dataclass(frozen=True)
class Verdict:
    faults: tuple[str, ...]
    scores: dict[str, Any] = field(default_factory=dict)
    take: int = 0

    @property
    def passed(self) -> bool:
        return not self.faults

    def rank(self) -> tuple[float, ...]:
        margin = self.scores.get("margin")
        return (len(self.faults), float(self.scores.get("wer", 1.0)), -(margin if margin is not None else -1.0))

    def record(self, takes: int | None = None) -> dict[str, Any]:
        """What the cache, the pack's manifest and the trace keep of it."""
        out: dict[str, Any] = {"passed": self.passed, "take": self.take, "faults": list(self.faults), **self.scores}
        if takes is not None:
            out["takes"] = takes
        return out


class QualityGate:
    def __init__(self, settings: QualitySettings, transcriber: Transcriber, speakers: SpeakerModel | None = None) -> None:
        self.settings = settings
        self.transcriber = transcriber  # may be the one speech input uses (it serializes its callers)
        self.speakers = speakers or SpeakerModel()

    def missing(self) -> str | None:
        """Why the gate cannot run here, naming the extra; None if it can."""
        stt = self.transcriber.missing()
        if stt:
            return f"the quality gate's word check: {stt}"
        return self.speakers.missing() if self.settings.speaker else None

    def require(self) -> None:
        missing = self.missing()
        if missing:
            raise QualityError(missing[0].upper() + missing[1:] + ".")

    def check(self, text: str, audio: AudioChunk, character_id: str, calibration: Calibration | None,
              take: int = 0) -> Verdict:
        started = time.perf_counter()
        settings = self.settings
        heard = self.transcriber.transcribe(audio.samples, audio.sample_rate, background=True)  # answers first
        count = count_words(text, heard)
        level = tail_db(audio.samples, audio.sample_rate)
        faults = word_faults(count, settings) + length_faults(audio.seconds, count.expected, settings)
        faults += cut_faults(level, settings)
        scores: dict[str, Any] = {
            "heard": heard, "words": count.expected, "added": count.added, "missing": count.missing,
            "wrong": count.wrong, "wer": round(count.wer, 3), "cer": round(count.cer, 3), "seconds": round(audio.seconds, 3),
            "tail_db": round(level, 1)}
        if settings.speaker:
            speaker_faults, speaker_scores = self._speaker(audio, character_id, calibration)
            faults += speaker_faults
            scores.update(speaker_scores)
        scores["check_ms"] = round((time.perf_counter() - started) * 1000, 1)
        return Verdict(tuple(faults), scores, take)

    def _speaker(self, audio: AudioChunk, character_id: str,
                 calibration: Calibration | None) -> tuple[list[str], dict[str, Any]]:
        own = calibration.prints.get(character_id) if calibration else None
        if own is None:
            return [], {"similarity": None, "speaker": "not checked: no reference with speech for this voice"}
        voiced = self.speakers.voiced(audio)
        if len(voiced) < NO_VOICE_SECONDS * RATE:
            return [f"speaker: {len(voiced) / RATE:.2f} s of voice heard"], {"similarity": None}
        if len(voiced) < MIN_VOICED_SECONDS * RATE:
            return [], {"similarity": None, "speaker": f"not checked: {len(voiced) / RATE:.2f} s of voice is too "
                                                       "little to tell a speaker by"}
        assert calibration is not None
        embedding = self.speakers.embed(voiced)
        similarity = float(embedding @ own.embedding)
        floor = own.floor(len(voiced) / RATE)
        others = {other: float(embedding @ p.embedding) for other, p in calibration.prints.items()
                  if other != character_id}
        nearest = max(others, key=others.__getitem__) if others else None
        margin = similarity - others[nearest] if nearest else None
        scores = {"similarity": round(similarity, 3), "floor": round(floor, 3), "nearest": nearest,
                  "nearest_similarity": round(others[nearest], 3) if nearest else None,
                  "margin": round(margin, 3) if margin is not None else None}
        faults = []
        if nearest is not None and margin is not None and margin < self.settings.min_margin:
            faults.append(f"speaker: nearer {nearest}'s reference ({others[nearest]:.2f}) than its own "
                          f"({similarity:.2f})")
        elif similarity < floor:
            faults.append(f"speaker: {similarity:.2f} like its reference, below this voice's floor {floor:.2f}")
        return faults, scores


class Judge:
    """A gate for one engine's voices with their calibration. Picklable: a Ray worker that receives one
    loads its own models on first use."""

    def __init__(self, settings: QualitySettings, speech: SpeechInputSettings, calibration: Calibration | None) -> None:
        self.settings = settings
        self.speech = speech
        self.calibration = calibration
        self.gate: QualityGate | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "gate": None}

    def __call__(self, text: str, audio: AudioChunk, character_id: str, take: int) -> Verdict:
        if self.gate is None:
            self.gate = QualityGate(self.settings, Transcriber(self.speech))
        return self.gate.check(text, audio, character_id, self.calibration, take)


@dataclass(frozen=True)
class Kept:
    """The take kept for a line, after the gate heard every take made."""

    audio: AudioChunk
    verdict: Verdict
    takes: int
    rejected: tuple[tuple[str, ...], ...] = ()  # the faults of the other takes

    def record(self) -> dict[str, Any]:
        return {**self.verdict.record(self.takes), "rejected": [list(faults) for faults in self.rejected]}


Takes = list[tuple[AudioChunk, Verdict]]


def best_take(make: Callable[[int], AudioChunk | None], judge: Callable[[AudioChunk, int], Verdict],
              retries: int, takes: Takes | None = None) -> Kept | None:
    """Takes until one passes (at most 1 + retries), and the best of them. None if the first take made
    no audio; a later take that fails to synthesize (or makes nothing) ends the retries. `takes` holds
    those made so far: a caller interrupted by an exception from `make` resumes with it."""
    takes = [] if takes is None else takes
    if not takes:
        audio = make(0)
        if audio is None:
            return None
        takes.append((audio, judge(audio, 0)))
    for take in range(len(takes), retries + 1):
        if takes[-1][1].passed:
            break
        try:
            again = make(take)
        except SpeechFailure:
            break
        if again is None:
            break
        takes.append((again, judge(again, take)))
    return kept_of(takes)


def kept_of(takes: Takes) -> Kept:
    kept = min(takes, key=lambda pair: pair[1].rank())
    return Kept(kept[0], kept[1], len(takes), tuple(v.faults for a, v in takes if v is not kept[1]))


def retries_for(engine: Engine, settings: QualitySettings) -> int:
    """Retries only where a second take can differ (`takes_vary`: sampling engines such as XTTS)."""
    return settings.retries if engine.takes_vary else 0
