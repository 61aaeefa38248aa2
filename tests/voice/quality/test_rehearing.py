"""The quality gate in play on the prefetch threads (pipeline/rehearing.py), with real Piper."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from pathlib import Path

from engine import SpokenLine, load_story
from plugins.voice.casting.cast import Cast
from plugins.voice.casting.references import ReferenceStore
from plugins.voice.core.audio import AudioChunk, concat
from plugins.voice.core.settings import CacheSettings, QualitySettings, SpeechInputSettings
from plugins.voice.core.voice import LineSettings, Voice
from plugins.voice.engines.piper.engine import PiperEngine
from plugins.voice.listening.transcriber import Transcriber
from plugins.voice.pipeline.fallback import Fallback
from plugins.voice.pipeline.prefetch import Gate, Prefetcher
from plugins.voice.quality.gate import QualityGate
from plugins.voice.quality.play import PlayChecker
from plugins.voice.quality.references import ReferenceBook
from plugins.voice.quality.speakers import SpeakerModel
from plugins.voice.store.cache import AudioCache
from plugins.voice.store.keys import line_key
from tests.support.common import CRYPT, wait_until


class HeldReferences(PiperEngine):
    """Real Piper that holds its first chunk until the prefetcher is closing (a calibration under way at the
    end of a game, as the soak found), and counts the syntheses it started and the ones closed early."""

    def __init__(self, piper: PiperEngine) -> None:
        super().__init__(piper.settings, piper.styles)
        self.prefetcher: Prefetcher | None = None
        self.started = 0
        self.closed = 0

    def synthesize(self, text: str, voice: Voice, settings: LineSettings) -> Iterator[AudioChunk]:
        self.started += 1
        assert self.prefetcher is not None
        prefetcher = self.prefetcher
        try:
            for chunk in super().synthesize(text, voice, settings):
                wait_until(lambda: prefetcher.stopping, 60, "the game ending")
                yield chunk
        except GeneratorExit:
            self.closed += 1
            raise


def test_a_game_that_ends_during_a_calibration_does_not_wait_for_it(tmp_path: Path, piper: PiperEngine) -> None:
    """The gate's speaker check first has the engine speak every voice's reference (seconds each on a busy
    CPU): ending the game stops it between two chunks instead of waiting for the whole cast."""
    engine = HeldReferences(piper)
    cast = Cast(load_story(CRYPT), tmp_path / "voices", "piper", {}, ReferenceStore(tmp_path / "checked"))
    cache = AudioCache(CacheSettings(dir=tmp_path / "cache"))
    book = ReferenceBook(SpeakerModel(), lambda voice: cast.seed_text(voice.character_id))
    transcriber = Transcriber(SpeechInputSettings(model_dir=tmp_path / "no-whisper"))  # never reached
    checker = PlayChecker(QualityGate(QualitySettings(), transcriber, book.model), book, cast, cache, lambda r: None)
    fallback = Fallback({"piper": engine}, ["piper"], lambda text: None, 0)
    prefetcher = Prefetcher(cast, fallback, cache, Gate(), line_key, checker=checker)
    engine.prefetcher = prefetcher
    voice = cast.voice_for("guide")
    line = SpokenLine("crypt.1", "crypt", "guide", "Guide", "Then we go in.", False, "en")
    key = line_key(engine, voice, line.text)
    cache.put(key, concat(list(piper.synthesize(line.text, voice, LineSettings()))))  # the speaker made it
    assert len(cast.voices()) == 5
    prefetcher.start()
    try:
        prefetcher.check_later(line, key, voice, engine)  # prefetch is idle: the gate hears it now
        wait_until(lambda: engine.started == 1, 60, "the calibration's first reference")
    finally:
        prefetcher.close()
    assert (engine.started, engine.closed) == (1, 1)  # stopped inside the first reference, its synthesis closed
    assert not book.made and cache.note(key) is None  # nothing half-made was kept as a calibration or a verdict
    assert not any(thread.is_alive() for thread in prefetcher.threads)


class UrgentMidway(PiperEngine):
    """Real Piper whose first synthesis has the speaker start a line (the gate turns urgent) at its first chunk;
    notes, at each synthesis it starts, whether a line was being made then."""

    def __init__(self, piper: PiperEngine, gate: Gate) -> None:
        super().__init__(piper.settings, piper.styles)
        self.gate = gate
        self.started_while_urgent: list[bool] = []

    def synthesize(self, text: str, voice: Voice, settings: LineSettings) -> Iterator[AudioChunk]:
        self.started_while_urgent.append(self.gate.urgent_count > 0)
        first = len(self.started_while_urgent) == 1
        for n, chunk in enumerate(super().synthesize(text, voice, settings)):
            if first and n == 0:
                self.gate.wake(+1)  # the speaker begins a line of its own
            yield chunk


def test_a_calibration_waits_while_the_speaker_makes_a_line(tmp_path: Path, piper: PiperEngine,
                                                              transcriber: Transcriber) -> None:
    """The soak's XTTS lines took 2.5-4 s for a second of audio while the gate's calibration spoke every voice's
    reference beside them: between two pieces it now waits for the live line, and goes on after it."""
    gate = Gate()
    engine = UrgentMidway(piper, gate)
    cast = Cast(load_story(CRYPT), tmp_path / "voices", "piper", {}, ReferenceStore(tmp_path / "checked"))
    cache = AudioCache(CacheSettings(dir=tmp_path / "cache"))
    book = ReferenceBook(SpeakerModel(), lambda voice: cast.seed_text(voice.character_id))
    checker = PlayChecker(QualityGate(QualitySettings(), transcriber, book.model), book, cast, cache, lambda r: None)
    prefetcher = Prefetcher(cast, Fallback({"piper": engine}, ["piper"], lambda text: None, 0), cache, gate, line_key,
                            checker=checker)
    voice = cast.voice_for("guide")
    line = SpokenLine("crypt.1", "crypt", "guide", "Guide", "Then we go in.", False, "en")
    key = line_key(engine, voice, line.text)
    cache.put(key, concat(list(piper.synthesize(line.text, voice, LineSettings()))))
    prefetcher.start()
    try:
        prefetcher.check_later(line, key, voice, engine)
        thread = prefetcher.threads[0]
        wait_until(lambda: len(engine.started_while_urgent) > 1 or waiting_in(thread, "wait_quiet"), 60,
                   "the calibration to wait or go on")
        assert engine.started_while_urgent == [False]  # waiting, inside its first voice
        gate.wake(-1)  # the speaker's line is made
        wait_until(lambda: cache.note(key) is not None, 120, "the line to be heard")
    finally:
        prefetcher.close()
    assert len(engine.started_while_urgent) == len(cast.voices()) and not any(engine.started_while_urgent)
    assert book.made


def waiting_in(thread: threading.Thread, function: str) -> bool:
    """Whether the thread is inside `function` now (its current stack)."""
    frame = sys._current_frames().get(thread.ident or -1)
    while frame is not None:
        if frame.f_code.co_name == function:
            return True
        frame = frame.f_back
    return False
