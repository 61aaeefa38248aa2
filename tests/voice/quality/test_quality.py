"""The quality gate on real takes (Piper, Kokoro, Whisper tiny.en, resemblyzer): what it passes,
what it catches, and that a failed take is made again, in a render and during play."""

from __future__ import annotations

import dataclasses
import pickle
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile

from engine import SpokenLine
from plugins.voice.casting.cast import Cast
from plugins.voice.core.audio import AudioChunk, concat, decode
from plugins.voice.core.errors import VoiceError
from plugins.voice.core.settings import CacheSettings, QualitySettings, SpeechInputSettings
from plugins.voice.core.voice import LineSettings, Voice
from plugins.voice.engines.piper.engine import PiperEngine
from plugins.voice.listening.transcriber import Transcriber
from plugins.voice.pipeline.fallback import Fallback
from plugins.voice.pipeline.prefetch import Gate, Prefetcher
from plugins.voice.quality import references
from plugins.voice.quality.gate import Judge, QualityGate, Verdict
from plugins.voice.quality.play import PlayChecker
from plugins.voice.quality.references import ReferenceBook
from plugins.voice.quality.speakers import Calibration, SpeakerModel
from plugins.voice.render.workers import RenderTask, synthesize
from plugins.voice.store.cache import AudioCache
from plugins.voice.store.keys import line_key
from tests.support.common import TOMB, run_engine
from tests.support.quality_takes import CAUGHT_BY, FAULTS, Take, takes, tomb_cast
from tests.support.voice import write_config

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("quality")]  # one worker builds the module's fixtures once


class FirstTakeCut(PiperEngine):
    """Real Piper whose first take of every line is cut at 60% (as XTTS sometimes cuts a line); the
    takes after it are whole. Stands in for a sampling engine's bad take, which cannot be ordered here."""

    def __init__(self, piper: PiperEngine) -> None:
        super().__init__(piper.settings, piper.styles)
        self.takes_vary = True
        self.made: list[int] = []

    def synthesize(self, text: str, voice: Voice, settings: LineSettings) -> Iterator[AudioChunk]:
        self.made.append(settings.take)
        audio = concat(list(super().synthesize(text, voice, settings)))
        if settings.take == 0:
            audio = AudioChunk(audio.samples[: int(len(audio.samples) * 0.6)], audio.sample_rate)
        yield audio


@pytest.fixture(scope="module")
def tomb(tmp_path_factory: pytest.TempPathFactory) -> tuple[Cast, PiperEngine]:
    return tomb_cast(tmp_path_factory.mktemp("tomb-voices"))


@pytest.fixture(scope="module")
def book(tomb: tuple[Cast, PiperEngine]) -> ReferenceBook:
    """Calibrations made once for the module; the first, of real Piper, is what FirstTakeCut finds too
    (same engine name and identities), so its references are never its cut takes."""
    cast, piper = tomb
    made = ReferenceBook(SpeakerModel(), lambda voice: cast.seed_text(voice.character_id))
    made.calibration(piper, cast.voices())
    return made


@pytest.fixture(scope="module")
def gate(transcriber: Transcriber, book: ReferenceBook) -> QualityGate:
    return QualityGate(QualitySettings(), transcriber, book.model)


@pytest.fixture(scope="module")
def verdicts(tomb: tuple[Cast, PiperEngine], book: ReferenceBook, gate: QualityGate) -> list[tuple[Take, Verdict]]:
    """Piper's takes only: Kokoro's correct takes pass too in bench/quality.py (its calibration, the five seed
    texts spoken at Kokoro's pace, cost this suite two minutes)."""
    cast, piper = tomb
    calibration = book.calibration(piper, cast.voices())
    return [(take, gate.check(take.text, take.audio, take.character_id, calibration))
            for take in takes(cast, piper, per_character=1)]  # a line each: every fault five times (bench/quality.py: all)


def test_correct_takes_pass(verdicts: list[tuple[Take, Verdict]]) -> None:
    good = [(take, verdict) for take, verdict in verdicts if take.kind == "ok"]
    assert {take.engine for take, _ in good} == {"piper"} and len(good) == 5
    refused = [(take.engine, take.text, verdict.faults) for take, verdict in good if not verdict.passed]
    assert not refused
    assert all(verdict.scores["margin"] > 0 for _, verdict in good)  # each nearer its own reference


@pytest.mark.parametrize("kind", FAULTS)
def test_each_kind_of_fault_is_caught_by_its_check(verdicts: list[tuple[Take, Verdict]], kind: str) -> None:
    found = [(take, verdict) for take, verdict in verdicts if take.kind == kind]
    assert len(found) >= 5
    for take, verdict in found:
        kinds = {fault.split(":")[0] for fault in verdict.faults}
        assert kinds & set(CAUGHT_BY[kind]), (take.character_id, take.text, verdict.faults, verdict.scores)


def test_pieces_embedded_in_one_batch_equal_pieces_embedded_one_at_a_time() -> None:
    """Calibration embeds a reference's dozens of pieces together (SpeakerModel.embed_many, 4.7-6.9x faster):
    each embedding is what resemblyzer's own embed_utterance gives that piece, short pieces padded alike."""
    model = SpeakerModel()
    rng = np.random.default_rng(0)
    pieces = [(rng.standard_normal(n) * 0.1).astype(np.float32) for n in (8000, 16000, 32000, 64000, 160000)]
    together = model.embed_many(pieces)
    assert len(together) == len(pieces)
    for piece, embedding in zip(pieces, together, strict=True):
        assert np.allclose(embedding, model.embed(piece), atol=1e-5)
    assert not np.allclose(together[0], together[1], atol=1e-3)  # each piece its own


def test_a_voice_that_changed_is_heard_again_alone_and_calibrates_as_a_fresh_book_would(
        tomb: tuple[Cast, PiperEngine], book: ReferenceBook, monkeypatch: pytest.MonkeyPatch) -> None:
    """During play a reference WAV can be replaced at any time (the soak does it every few seconds): only that
    voice's reference is made and heard again, not the whole cast's (five Piper syntheses and dozens of
    embeddings each)."""
    cast, piper = tomb
    voices = cast.voices()
    changed = [dataclasses.replace(voices[0], speed=voices[0].speed * 1.2)] + voices[1:]  # a new identity on Piper
    made: list[str] = []
    real = references.reference_audio

    def counted(engine: Any, voice: Voice, *args: Any) -> Any:
        made.append(voice.character_id)
        return real(engine, voice, *args)

    monkeypatch.setattr(references, "reference_audio", counted)
    again = book.calibration(piper, changed)
    assert made == [voices[0].character_id]
    fresh = ReferenceBook(book.model, book.seed_text).calibration(piper, changed)
    assert len(made) == 1 + len(voices) and set(again.prints) == set(fresh.prints)
    for character_id, expected in fresh.prints.items():
        assert np.allclose(again.prints[character_id].embedding, expected.embedding)
        assert again.prints[character_id].impostor == pytest.approx(expected.impostor)
        assert again.prints[character_id].pieces == expected.pieces
    assert book.calibration(piper, voices) is book.calibration(piper, voices)  # the cast as it was: kept


def test_a_bad_first_take_is_made_again_and_the_good_one_kept_in_a_render(
        tomb: tuple[Cast, PiperEngine], book: ReferenceBook, transcriber: Transcriber) -> None:
    cast, piper = tomb
    engine = FirstTakeCut(piper)
    voice = cast.voice_for("guide")
    text = "Look at the floor. There are footprints in the dust, and they are not ours."
    judge = Judge(QualitySettings(), SpeechInputSettings(model_dir=transcriber.settings.model_dir),
                  book.calibration(engine, cast.voices()))
    judge.gate = QualityGate(judge.settings, transcriber, book.model)
    result = synthesize(engine, RenderTask(0, text, voice, engine.identity(voice), "flac"), judge)
    assert result.data is not None and result.gate is not None
    assert engine.made == [0, 1] and result.gate["passed"] and result.gate["take"] == 1
    assert result.gate["takes"] == 2 and result.gate["rejected"][0]  # the cut take's faults are kept
    whole = concat(list(piper.synthesize(text, voice, LineSettings(speed=voice.speed))))
    kept = decode(result.data)
    assert abs(kept.seconds - whole.seconds) < 0.05
    assert pickle.loads(pickle.dumps(judge)).gate is None  # a Ray worker gets its own models


def test_a_bad_prefetched_take_is_replaced_in_the_cache_for_the_next_time(
        tomb: tuple[Cast, PiperEngine], book: ReferenceBook, transcriber: Transcriber, tmp_path: Path) -> None:
    cast, piper = tomb
    engine = FirstTakeCut(piper)
    cache = AudioCache(CacheSettings(dir=tmp_path / "cache"))
    records: list[dict[str, object]] = []
    gate = QualityGate(QualitySettings(), transcriber, book.model)
    checker = PlayChecker(gate, book, cast, cache, records.append)
    fallback = Fallback({"piper": engine}, ["piper"], lambda text: None, reprobe_seconds=0)
    voice = cast.voice_for("narrator")  # its profile asks for xtts: the fallback order has only piper here
    text = "The scarab is heavier than it looks, and warm, as if it had been lying in the sun."
    line = SpokenLine("camp.1", "camp", "narrator", "Narrator", text, True, "en")
    prefetcher = Prefetcher(cast, fallback, cache, Gate(), line_key, depth=4, checker=checker).start()
    try:
        prefetcher.update([line])
        key = line_key(engine, voice, text)
        deadline = time.monotonic() + 120
        while cache.note(key) is None and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        prefetcher.close()
    note = cache.note(key)
    assert note is not None and note["passed"] and note["take"] == 1 and note["takes"] == 2
    whole = concat(list(piper.synthesize(text, voice, LineSettings(speed=voice.speed))))
    cached = cache.get(key)
    assert cached is not None and abs(cached.seconds - whole.seconds) < 0.05
    assert len(list((tmp_path / "cache").glob("??/*.wav"))) == 1  # the cut take is gone
    (record,) = [r for r in records if r["event"] == "quality"]
    assert record["rejected"] and record["line_id"] == "camp.1"
    assert not [t for t in threading.enumerate() if t.name.startswith("voice-prefetch")]


def test_without_the_extra_the_gate_says_which_to_install(monkeypatch: pytest.MonkeyPatch,
                                                           transcriber: Transcriber) -> None:
    """What cannot exist here: a machine without resemblyzer (the tests install every extra)."""
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "resemblyzer" else real(name, *a))
    gate = QualityGate(QualitySettings(), transcriber)
    assert gate.missing() is not None and "[quality]" in gate.missing()  # type: ignore[operator]
    with pytest.raises(VoiceError, match=r"\[quality\] extra"):
        gate.require()
    assert QualityGate(QualitySettings(speaker=False), transcriber).missing() is None


def test_a_take_with_too_little_voice_is_not_judged_by_its_speaker(gate: QualityGate,
                                                                   tomb: tuple[Cast, PiperEngine]) -> None:
    cast, piper = tomb
    voice = cast.voice_for("scribe")
    audio = concat(list(piper.synthesize("Who?", voice, LineSettings(speed=voice.speed))))
    verdict = gate.check("Who?", audio, "scribe", Calibration({}))
    assert verdict.scores["similarity"] is None and not [f for f in verdict.faults if f.startswith("speaker")]


def test_cache_notes_travel_with_the_entry(tmp_path: Path) -> None:
    cache = AudioCache(CacheSettings(dir=tmp_path))
    key = "ab" * 32
    cache.put(key, AudioChunk(np.zeros(2400, np.float32), 24000))
    assert cache.note(key) is None
    cache.put(key, AudioChunk(np.full(2400, 0.1, np.float32), 24000), {"passed": True, "take": 1})
    assert cache.note(key) == {"passed": True, "take": 1}
    (path,) = tmp_path.glob("??/*.wav")
    samples, _ = soundfile.read(path)
    assert abs(float(samples[0]) - 0.1) < 1e-3  # the new take replaced the old one
    with pytest.raises(ValueError):
        cache.put(key, AudioChunk(np.zeros(10, np.float32), 24000), {"heard": "x" * 3000})


def test_the_report_on_the_tomb_finds_each_character_nearest_its_own_reference(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    page = tmp_path / "report.html"
    report = run_engine("voices", "report", TOMB, "--engine", "piper", "--lines", "3", "--html", page,
                        "--config", config)
    assert report.returncode == 0, report.stderr
    rows = {line.split("│")[1].strip(): [cell.strip() for cell in line.split("│")[1:-1]]
            for line in report.stdout.splitlines() if line.startswith("│")}
    assert set(rows) == {"archaeologist", "god", "guide", "narrator", "scribe"}
    for character, cells in rows.items():
        own, nearest_other, margin = float(cells[3]), float(cells[6]), float(cells[7])
        assert own > nearest_other and margin > 0 and cells[5] != character, cells
    text = page.read_text()
    assert "<svg" in text and text.count("<rect") == 25 and "Warning" not in report.stdout
