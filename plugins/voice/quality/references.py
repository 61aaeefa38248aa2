"""What each voice should sound like on a given engine, for the speaker check.

A cloning engine (XTTS, here or over the bridge) is asked to sound like the character's reference
WAVs, so those are its reference. Any other engine is asked for one of its own voices: its
reference is that engine speaking the character's seed text (made once per voice and engine).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence

import soundfile

from plugins.voice.core.audio import AudioChunk, concat
from plugins.voice.core.errors import SpeechFailure
from plugins.voice.core.voice import LineSettings, Voice
from plugins.voice.engines.base import Engine, closing
from plugins.voice.quality.speakers import Calibration, SpeakerModel, calibrate

CLONING = ("xtts", "xtts-remote")
REFERENCE_WORDS = 30  # of the seed text, for engines that do not clone: ~10 s, plenty for 1-4 s pieces
log = logging.getLogger(__name__)


def reference_audio(engine: Engine, voice: Voice, seed_text: str,
                    give_way: Callable[[], None] = lambda: None) -> AudioChunk | None:
    """What `voice` should sound like on `engine`. `give_way` is called between chunks: it raises to stop
    (the game is ending), and the synthesis is closed there."""
    if engine.name in CLONING:
        if not voice.references:
            return None
        parts = []
        for path in voice.references:
            samples, rate = soundfile.read(path, dtype="float32", always_2d=True)
            parts.append(AudioChunk(samples.mean(axis=1), rate))
        return concat(parts)
    try:
        text = " ".join(seed_text.split()[:REFERENCE_WORDS])
        chunks = []
        settings = LineSettings(speed=voice.speed, language=voice.language, background=True)
        with closing(engine.synthesize(text, voice, settings)) as stream:
            for chunk in stream:
                chunks.append(chunk)
                give_way()
    except SpeechFailure as exc:
        log.warning("no reference of %s on %s: %s", voice.character_id, engine.name, exc)
        return None
    return concat(chunks) if chunks else None


class ReferenceBook:
    """Calibrations per engine and cast, made on first use and kept (thread-safe; the work is done
    outside the lock, so two threads may both make one, and one of them is kept)."""

    def __init__(self, model: SpeakerModel, seed_text: Callable[[Voice], str]) -> None:
        self.model = model
        self.seed_text = seed_text
        self.made: dict[str, Calibration] = {}
        self.lock = threading.Lock()

    def calibration(self, engine: Engine, voices: Sequence[Voice],
                    give_way: Callable[[], None] = lambda: None) -> Calibration:
        """The engine's calibration for these voices; `give_way` may raise between two pieces of work (a
        non-cloning engine speaks every voice's reference first: seconds of CPU each), and nothing is kept."""
        cloning = engine.name in CLONING  # only a cloning engine's calibration changes with the reference WAVs
        key = engine.name + "|" + "|".join(f"{v.character_id}={_identity(engine, v)}" +
                                           (f":{v.reference_hash}" if cloning else "") for v in voices)
        with self.lock:
            known = self.made.get(key)
        if known is not None:
            return known
        references = {}
        for voice in voices:
            give_way()
            audio = reference_audio(engine, voice, self.seed_text(voice), give_way)
            if audio is not None:
                references[voice.character_id] = audio
        made = calibrate(self.model, references)
        with self.lock:
            return self.made.setdefault(key, made)


def _identity(engine: Engine, voice: Voice) -> str:
    try:
        return engine.identity(voice)
    except SpeechFailure as exc:
        return f"unsupported ({exc.reason})"
