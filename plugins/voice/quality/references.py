"""What each voice should sound like on a given engine, for the speaker check.

A cloning engine (XTTS, here or over the bridge) is asked to sound like the character's reference
WAVs, so those are its reference. Any other engine is asked for one of its own voices: its
reference is that engine speaking the character's seed text (made once per voice and engine).
Each voice's reference is heard once and kept by what it depends on, so a cast whose one reference
changed (a WAV replaced in voices/ during play) costs one voice's work, not every voice's.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable, Sequence
from typing import TypeVar

from plugins.voice.core.audio import AudioChunk, concat, read_mono
from plugins.voice.core.errors import SpeechFailure
from plugins.voice.core.voice import LineSettings, Voice
from plugins.voice.engines.base import Engine, closing
from plugins.voice.quality.speakers import Calibration, Heard, SpeakerModel, calibrate, hear

CLONING = ("xtts", "pocket", "xtts-remote")
REFERENCE_WORDS = 30  # of the seed text, for engines that do not clone: ~10 s, plenty for 1-4 s pieces
KEPT = 256  # voices heard, and calibrations, kept (the oldest go first): references change during play
log = logging.getLogger(__name__)
T = TypeVar("T")


def reference_audio(engine: Engine, voice: Voice, seed_text: str,
                    give_way: Callable[[], None] = lambda: None) -> AudioChunk | None:
    """What `voice` should sound like on `engine`. `give_way` is called between chunks: it raises to stop
    (the game is ending), and the synthesis is closed there."""
    if engine.name in CLONING:
        if not voice.references:
            return None
        return concat([read_mono(path) for path in voice.references])
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
    """Calibrations per engine and cast, and each voice's reference as heard, made on first use and kept
    (thread-safe; the work is done outside the lock, so two threads may both make one, and one is kept)."""

    def __init__(self, model: SpeakerModel, seed_text: Callable[[Voice], str]) -> None:
        self.model = model
        self.seed_text = seed_text
        self.made: dict[str, Calibration] = {}
        self.heard: dict[str, Heard | None] = {}  # None: too little speech in that reference
        self.lock = threading.Lock()

    def calibration(self, engine: Engine, voices: Sequence[Voice],
                    give_way: Callable[[], None] = lambda: None) -> Calibration:
        """The engine's calibration for these voices; `give_way` may raise between two pieces of work (a
        non-cloning engine speaks every voice's reference first: seconds of CPU each), and what was whole is kept."""
        keys = {voice.character_id: self._voice_key(engine, voice) for voice in voices}
        key = engine.name + "|" + "|".join(keys.values())
        with self.lock:
            known = self.made.get(key)
        if known is not None:
            return known
        heard = {}
        for voice in voices:
            found = self._hear(engine, voice, keys[voice.character_id], give_way)
            if found is not None:
                heard[voice.character_id] = found
        return self._keep(self.made, key, calibrate(heard))

    def _hear(self, engine: Engine, voice: Voice, key: str, give_way: Callable[[], None]) -> Heard | None:
        with self.lock:
            if key in self.heard:
                return self.heard[key]
        give_way()
        audio = reference_audio(engine, voice, self.seed_text(voice), give_way)
        if audio is None:
            return None  # no reference now (a failure is tried again next time)
        return self._keep(self.heard, key, hear(self.model, audio, give_way))

    def _voice_key(self, engine: Engine, voice: Voice) -> str:
        """What a voice's reference on this engine depends on: a cloning engine's, on the reference WAVs; any
        other's, on the seed text it speaks and its pace."""
        source = (voice.reference_hash if engine.name in CLONING else
                  f"{_digest(self.seed_text(voice))}@{voice.speed}")
        return f"{engine.name}:{voice.character_id}={_identity(engine, voice)}:{source}"

    def _keep(self, kept: dict[str, T], key: str, value: T) -> T:
        with self.lock:
            value = kept.setdefault(key, value)
            while len(kept) > KEPT:
                kept.pop(next(iter(kept)))
            return value


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _identity(engine: Engine, voice: Voice) -> str:
    try:
        return engine.identity(voice)
    except SpeechFailure as exc:
        return f"unsupported ({exc.reason})"
