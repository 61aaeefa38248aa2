"""The XTTS engine on a tiny, randomly initialised checkpoint in the real on-disk layout, on the CPU.

Real XTTS weights (1.8 GB) and a GPU cannot exist here: these tests cover our code and
coqui-tts's real loading and inference path, not what real weights sound like, nor CUDA
(fp16, low_vram, out-of-memory come from an injected exception).
"""

from __future__ import annotations

import hashlib
import shutil
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from plugins.voice.core.errors import EngineUnavailable, SynthesisFailed, VoiceNotSupported
from plugins.voice.core.settings import XttsSettings
from plugins.voice.core.voice import LineSettings
from plugins.voice.engines.models import XTTS, ModelError, install, verify
from plugins.voice.engines.xtts.engine import XttsEngine
from tests.support.common import wait_until
from tests.support.xtts_helpers import Spy, latents_computed, speak_reference, xtts_voice

pytestmark = pytest.mark.slow


def test_streams_24khz_chunks_through_the_real_loading_path(xtts: XttsEngine, reference_wav: Path) -> None:
    with Spy(xtts) as spy:
        chunks = list(xtts.synthesize("Who walks so softly in my house?", xtts_voice(reference_wav), LineSettings()))
    assert len(chunks) >= 2 and all(c.sample_rate == 24000 for c in chunks)
    assert sum(len(c.samples) for c in chunks) > 12000 and np.isfinite(np.concatenate([c.samples for c in chunks])).all()
    (call,) = spy.calls  # one sentence: one call of our loop, with the engine's sampling
    assert call["text"] == "Who walks so softly in my house?" and call["sampling"].temperature == 0.75


def test_first_audio_comes_before_the_rest_is_synthesized(xtts: XttsEngine, reference_wav: Path) -> None:
    long_line = ("I carried the sun beneath the world for longer than your language has had words, "
                 "and each night I lifted it through the dark water. ") * 4
    with Spy(xtts) as spy:
        stream = xtts.synthesize(long_line, xtts_voice(reference_wav), LineSettings())
        first = next(stream)
        assert len(spy.calls) == 1  # only the first part has been started
        rest = list(stream)
    assert first.sample_rate == 24000 and rest
    limit = xtts.owner.model.tokenizer.char_limits["en"]
    assert len(spy.calls) >= 3 and all(len(call["text"]) <= limit for call in spy.calls)
    assert " ".join(call["text"] for call in spy.calls) == " ".join(long_line.split())


def test_latents_are_computed_once_per_reference_content(installed_xtts: Path, piper: Any, tmp_path: Path) -> None:
    reference = speak_reference(piper, tmp_path / "voices" / "a.wav", "A first reference voice, warm and slow.")
    settings = XttsSettings(model_dir=installed_xtts, latents_dir=tmp_path / "latents", while_loading="wait")
    engine = XttsEngine(settings)
    computed = latents_computed(engine)
    list(engine.synthesize("Hello.", xtts_voice(reference), LineSettings()))
    list(engine.synthesize("Hello again.", xtts_voice(reference), LineSettings()))
    assert len(computed) == 1  # a hit in memory
    again = XttsEngine(settings)
    computed_again = latents_computed(again)
    list(again.synthesize("From disk.", xtts_voice(reference), LineSettings()))
    assert computed_again == []  # a hit on disk, in a new engine
    speak_reference(piper, reference, "A different recording under the same name.", variant=3)
    list(again.synthesize("Changed.", xtts_voice(reference), LineSettings()))
    assert len(computed_again) == 1 and computed_again[0] != computed[0]  # the WAV changed: recomputed
    assert len(list((tmp_path / "latents").glob("*.pt"))) == 2


def test_latents_are_prepared_ahead_of_the_first_line(installed_xtts: Path, reference_wav: Path,
                                                      tmp_path: Path) -> None:
    engine = XttsEngine(XttsSettings(model_dir=installed_xtts, latents_dir=tmp_path / "l"))
    computed = latents_computed(engine)
    engine.prepare([xtts_voice(reference_wav)])
    wait_until(lambda: len(computed) == 1, 60, "the latents computed in the background")
    assert engine.warmed.wait(60)
    measured = engine.measured_rtf()
    assert measured is not None and measured[1] == 1  # the warm-up line, once
    engine.prepare([xtts_voice(reference_wav)])  # again, as when a reference WAV changes during play
    list(engine.owner.submit(lambda request: None, urgent=False).results())  # after whatever that queued
    assert engine.measured_rtf() == measured  # no second warm-up line: it would hold the model from the player
    list(engine.synthesize("Now.", xtts_voice(reference_wav), LineSettings()))
    assert len(computed) == 1
    engine.close()


def test_with_fallback_its_lines_go_elsewhere_until_the_warm_up_line_has_measured_its_pace(
        installed_xtts: Path, reference_wav: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """On 2 cores the full-size model's first line came before its pace was known: the speaker held it whole
    for 16 s (bench/prefetch.py --xtts full). Until the warm-up line is made, its lines go to the fallback."""
    engine = XttsEngine(XttsSettings(model_dir=installed_xtts, latents_dir=tmp_path / "l"))
    measuring, release = threading.Event(), threading.Event()
    real_measure = engine.speech.measure

    def measure(voice: Any) -> None:
        measuring.set()
        assert release.wait(60)
        real_measure(voice)

    monkeypatch.setattr(engine.speech, "measure", measure)
    try:
        engine.prepare([xtts_voice(reference_wav)])
        assert measuring.wait(60) and engine.owner.loaded.is_set()
        assert engine.missing() == "its model is warming up"
        release.set()
        assert engine.warmed.wait(60)
        assert engine.missing() is None and engine.measured_rtf() is not None
    finally:
        release.set()
        engine.close()
    waiting = XttsEngine(XttsSettings(model_dir=installed_xtts, latents_dir=tmp_path / "l", while_loading="wait"))
    monkeypatch.setattr(waiting.speech, "measure", lambda voice: release.wait(60))
    release.clear()
    try:
        waiting.prepare([xtts_voice(reference_wav)])
        assert waiting.owner.loaded.wait(60) and waiting.missing() is None  # "wait": the line waits its turn
    finally:
        release.set()
        waiting.close()


def test_the_decoder_is_warmed_once_the_model_is_ready_and_gives_way_to_a_line(
        installed_xtts: Path, reference_wav: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """In bf16, oneDNN builds the decoder's kernels on each new window length's first use (~0.6 s each): the
    owner builds them after the model is ready and its warm-up line is made, one length at a time, and a
    line asked for meanwhile is served before the lengths left."""
    import torch

    from plugins.voice.engines.xtts import stream

    log: list[str] = []
    real_decode = stream.WindowedDecoder.decode
    asked = threading.Event()

    def decode(self: Any, z: Any) -> Any:
        warm = bool((self.speaker == 0).all())
        if warm and "warm" not in log:  # the first length: a line is asked for while it is being built
            assert engine.warmed.is_set()  # after the warm-up line, which measures the model's pace
            asked.set()
            wait_until(engine.owner.urgent_waiting, 60, "the line to be asked for")
        log.append("warm" if warm else "line")
        return real_decode(self, z)

    monkeypatch.setattr(stream.WindowedDecoder, "decode", decode)
    settings = XttsSettings(model_dir=installed_xtts, latents_dir=tmp_path / "l", cpu_decoder="bf16")
    engine = XttsEngine(settings, events=lambda event: log.append(event.kind))
    engine.prepare([xtts_voice(reference_wav)])
    assert asked.wait(120)
    log.append("asked")
    chunks = list(engine.synthesize("Now.", xtts_voice(reference_wav), LineSettings()))
    list(engine.owner.submit(lambda request: None, urgent=False).results())  # after the warm-up's steps
    lengths = engine.owner.streamer.window_lengths(torch.zeros(1, 512, 1))
    engine.close()
    assert chunks and len(lengths) >= 2
    assert log.index("ready") < log.index("warm")  # not while loading: the load is not made longer
    warm_at = [i for i, entry in enumerate(log) if entry == "warm"]
    assert len(warm_at) == len(lengths)  # each length once
    asked_at = log.index("asked")
    served = [i for i, entry in enumerate(log) if entry == "line" and i > asked_at]  # the asked line's windows
    # (not "before synthesize returned": the owner may start the next length before the caller sees the end)
    assert served and not [i for i in warm_at[1:] if i < served[-1]]


def test_cross_lingual_cloning(xtts: XttsEngine, reference_wav: Path) -> None:
    # an English reference speaking German, French and Spanish text
    for language, text in [("de", "Wer geht so leise durch mein Haus?"), ("fr", "Qui marche si doucement ici ?"),
                           ("es", "¿Quién camina tan suave por mi casa?")]:
        chunks = list(xtts.synthesize(text, xtts_voice(reference_wav, language), LineSettings(language=language)))
        assert chunks and chunks[0].sample_rate == 24000


def test_languages_are_named_clearly(xtts: XttsEngine, reference_wav: Path) -> None:
    with pytest.raises(VoiceNotSupported, match="cannot speak language 'xx'"):
        list(xtts.synthesize("Hi.", xtts_voice(reference_wav), LineSettings(language="xx")))
    for language, package in [("zh-cn", "pypinyin"), ("ja", "cutlet")]:
        try:
            __import__(package)
        except ImportError:
            with pytest.raises(VoiceNotSupported, match=f"needs the {package} package"):
                list(xtts.synthesize("Hi.", xtts_voice(reference_wav), LineSettings(language=language)))


def test_a_voice_without_reference_is_refused_for_that_voice_only(xtts: XttsEngine, reference_wav: Path) -> None:
    bare = xtts_voice(reference_wav)
    bare = type(bare)(**{**bare.__dict__, "references": (), "reference_hash": None})
    with pytest.raises(VoiceNotSupported, match="no reference WAV for voice god_deep"):
        list(xtts.synthesize("Hi.", bare, LineSettings()))
    assert xtts.missing() is None  # the engine itself stays available


def test_out_of_memory_during_a_line_is_a_synthesis_failure(xtts: XttsEngine, reference_wav: Path) -> None:
    import torch

    with Spy(xtts, fail_once=torch.cuda.OutOfMemoryError("CUDA out of memory")):
        with pytest.raises(SynthesisFailed, match="ran out of GPU memory"):
            list(xtts.synthesize("Hello.", xtts_voice(reference_wav), LineSettings()))
    assert xtts.probe() is None  # healthy again: the next line may use it
    assert list(xtts.synthesize("Hello.", xtts_voice(reference_wav), LineSettings()))


def test_missing_extra_or_model_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = XttsEngine(XttsSettings(model_dir=tmp_path / "nothing"))
    assert engine.missing() == (f"no XTTS model in {tmp_path / 'nothing'}; "
                                "install one with 'engine models install xtts --from DIR'")
    # coqui-tts is installed in CI, so its absence is simulated here
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "TTS" else real(name, *a))
    assert engine.missing() == "the xtts engine needs the [xtts] extra (pip install -c requirements.lock 'voiced-if[xtts]')"


def test_a_truncated_model_falls_back_with_one_sentence(tiny_xtts_dir: Path, tmp_path: Path) -> None:
    source = tmp_path / "source"
    shutil.copytree(tiny_xtts_dir, source)
    data = (source / "model.pth").read_bytes()
    (source / "model.pth").write_bytes(data[: len(data) // 3])
    install(XTTS, source, tmp_path / "xtts")
    engine = XttsEngine(XttsSettings(model_dir=tmp_path / "xtts", latents_dir=tmp_path / "l"))
    engine.prepare()
    engine.owner.loaded.wait(60)
    reason = engine.missing() or ""
    assert "is not a loadable XTTS v2 checkpoint" in reason and "\n" not in reason
    with pytest.raises(EngineUnavailable):
        list(engine.synthesize("Hi.", xtts_voice(tmp_path / "source" / "config.json"), LineSettings()))


def test_a_foreign_model_is_refused(tiny_xtts_dir: Path, tmp_path: Path) -> None:
    import torch

    source = tmp_path / "source"
    shutil.copytree(tiny_xtts_dir, source)
    torch.save({"model": {"some.other.weight": torch.zeros(3)}}, source / "model.pth")
    install(XTTS, source, tmp_path / "xtts")
    engine = XttsEngine(XttsSettings(model_dir=tmp_path / "xtts", latents_dir=tmp_path / "l"))
    engine.prepare()
    engine.owner.loaded.wait(60)
    assert "is not a loadable XTTS v2 checkpoint" in (engine.missing() or "")


def test_a_changed_file_is_refused(tiny_xtts_dir: Path, tmp_path: Path) -> None:
    target = tmp_path / "xtts"
    hashes = install(XTTS, tiny_xtts_dir, target)
    assert hashes["model.pth"] == hashlib.sha256((tiny_xtts_dir / "model.pth").read_bytes()).hexdigest()
    with (target / "vocab.json").open("a") as handle:
        handle.write(" ")
    with pytest.raises(ModelError, match="vocab.json changed since it was installed"):
        verify(XTTS, target)
    engine = XttsEngine(XttsSettings(model_dir=target, latents_dir=tmp_path / "l"))
    engine.prepare()
    engine.owner.loaded.wait(60)
    assert "changed since it was installed" in (engine.missing() or "")


def test_install_needs_the_required_files(tiny_xtts_dir: Path, tmp_path: Path) -> None:
    source = tmp_path / "partial"
    shutil.copytree(tiny_xtts_dir, source)
    (source / "vocab.json").unlink()
    with pytest.raises(ModelError, match="lacks vocab.json"):
        install(XTTS, source, tmp_path / "xtts")
    with pytest.raises(ModelError, match="No xtts model in"):
        verify(XTTS, tmp_path / "nowhere")
