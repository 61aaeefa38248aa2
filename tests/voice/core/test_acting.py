"""Directions reach the voice, never the ears: emotions and effects with real Piper, Whisper and a tiny XTTS."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile
from scipy.signal import welch

from engine import SpokenLine
from engine.config import Config
from plugins.voice.casting.cast import build_cast
from plugins.voice.core.acting import NEUTRAL, Acting, Directions
from plugins.voice.core.audio import AudioChunk, speech_rms
from plugins.voice.core.effects import Effect
from plugins.voice.core.errors import VoiceConfigError
from plugins.voice.core.settings import CacheSettings, VoiceSettings, voice_settings
from plugins.voice.core.voice import LineSettings, Voice
from plugins.voice.engines.piper.engine import PiperEngine
from plugins.voice.engines.xtts.engine import XttsEngine
from plugins.voice.listening.transcriber import Transcriber
from plugins.voice.output.playback import Output, Recording
from plugins.voice.output.sinks import NullSink
from plugins.voice.pipeline.fallback import Fallback
from plugins.voice.pipeline.speaker import Speaker
from plugins.voice.store.cache import AudioCache, cache_key
from plugins.voice.store.keys import line_key
from tests.support.common import ROOT, compile_ink, run_engine, wait_until
from tests.support.voice import PATIENT, write_config
from tests.support.xtts_helpers import speak_reference

pytestmark = pytest.mark.timeout(300)
ACTING = ROOT / "tests" / "engine" / "acting"
DINK = ROOT / "tests" / "engine" / "ink" / "dink"
TEXT = "Stay where you are, and do not move until I call."
DIRECTION_WORDS = ("quietly", "angrily", "whisper", "shout", "beat", "radio", "sfx", "o.s")


def acting_of(*directions: str, qualifier: str = "", tags: tuple[str, ...] = ()) -> Acting:
    return Directions().of(SpokenLine("x", "s", "fred", "Fred", TEXT, False, "en", directions, qualifier, tags))


def heard(piper: PiperEngine, acting: Acting, path: Path) -> np.ndarray:
    """The line as the player hears it: Piper's chunks through the output (its loudness rule) into --record."""
    voice = Voice("fred", "fred", "piper", "en", 1.0, 0, acting=acting)
    output = Output(NullSink(), 24000, -20.0, lambda text: None, Recording(path, 24000, 0.0))
    output.start_line(acting.gain_db)
    for chunk in piper.synthesize(TEXT, voice, LineSettings()):
        output.play(chunk)
    output.end_line()
    output.close()
    samples, rate = soundfile.read(path, dtype="float32")
    assert rate == 24000 and len(samples) > rate
    return samples


def db(samples: np.ndarray) -> float:
    return 20 * float(np.log10(speech_rms(samples)))


def band_db(samples: np.ndarray, low: float, high: float) -> float:
    freqs, power = welch(samples, 24000, nperseg=2048)
    return 10 * float(np.log10(power[(freqs >= low) & (freqs < high)].sum()))


def test_whispers_are_quieter_and_shouts_louder_with_real_piper(piper: PiperEngine, tmp_path: Path) -> None:
    neutral = db(heard(piper, NEUTRAL, tmp_path / "neutral.wav"))
    whisper = db(heard(piper, acting_of("whispering"), tmp_path / "whisper.wav"))
    shout = db(heard(piper, acting_of("beat", tags=("vo:loud",)), tmp_path / "shout.wav"))
    assert whisper <= neutral - 6, (neutral, whisper)
    assert shout >= neutral + 3, (neutral, shout)


def test_radio_is_band_limited_with_real_piper(piper: PiperEngine, tmp_path: Path) -> None:
    dry = heard(piper, NEUTRAL, tmp_path / "dry.wav")
    radio = heard(piper, acting_of(qualifier="radio"), tmp_path / "radio.wav")
    assert abs(db(dry) - db(radio)) < 1.5  # the same loudness: the bands are compared at the same level
    for low, high in ((0, 300), (3400, 12000)):
        assert band_db(dry, low, high) - band_db(radio, low, high) >= 20, (low, high)
    kept = band_db(dry, 600, 2200) - band_db(radio, 600, 2200)
    assert abs(kept) < 6  # the voice's own band stays


def test_effects_are_the_same_in_chunks_as_whole() -> None:
    noise = np.random.default_rng(3).uniform(-0.5, 0.5, 30000).astype(np.float32)
    for name in ("offscreen", "radio", "phone"):
        whole = Effect(name).process(noise, 22050)
        effect = Effect(name)
        parts = [effect.process(part, 22050) for part in np.array_split(noise, [1, 700, 701, 9000, 20000])]
        assert np.allclose(np.concatenate(parts), whole, atol=1e-6), name


def test_acted_lines_have_their_own_cache_keys_and_plain_ones_keep_theirs(piper: PiperEngine) -> None:
    plain = Voice("fred", "fred", "piper", "en", 1.0, 0)
    before = cache_key(engine="piper", model=piper.identity(plain), reference=None, language="en", speed=1.0, text=TEXT)
    keys = {name: line_key(piper, Voice("fred", "fred", "piper", "en", 1.0, 0, acting=acting), TEXT)
            for name, acting in (("plain", NEUTRAL), ("whisper", acting_of("quietly")),
                                 ("radio", acting_of(qualifier="radio")), ("blocking", acting_of("beat")))}
    assert keys["plain"] == before == keys["blocking"]  # a blocking direction changes nothing that is heard
    assert len({keys["plain"], keys["whisper"], keys["radio"]}) == 3


def test_the_tables_are_the_shipped_ones_with_the_configs_over_them(tmp_path: Path) -> None:
    config = Config({"voice": {"directions": {"Mumbling": "whisper", "grimly": "sleepy"},
                               "emotions": {"sleepy": {"rate": 0.8, "gain_db": -4.0}},
                               "qualifiers": {"on the wire": "phone"}}}, tmp_path)
    directions = voice_settings(config).acting()
    line = SpokenLine("x", "s", "fred", "Fred", "Go.", False, "en", ("mumbling",), "on the wire")
    assert (directions.of(line).emotion, directions.of(line).effect) == ("whisper", "phone")
    grim = directions.of(SpokenLine("x", "s", "fred", "Fred", "Go.", False, "en", ("grimly",)))
    assert grim.emotion == "sleepy" and grim.style.rate == 0.8 and grim.gain_db == -4.0
    assert directions.of(SpokenLine("x", "s", "f", "F", "Go.", False, "en", ("wibbling",))).unknown == ("wibbling",)
    for bad, said in (({"directions": {"x": "sleepy"}}, "[voice.directions] 'x' = 'sleepy'"),
                      ({"qualifiers": {"x": "underwater"}}, "[voice.qualifiers] 'x' = 'underwater'"),
                      ({"emotions": {"odd": {"rate": 9.0}}}, "[voice.emotions.odd] rate must be from 0.5 to 2.0")):
        with pytest.raises(VoiceConfigError, match=said.replace("[", r"\[").replace("]", r"\]")):
            voice_settings(Config({"voice": bad}, tmp_path))


def _play(story: Path, tmp_path: Path, name: str) -> tuple[dict[str, dict], Path]:
    config = write_config(tmp_path, voice='engine = "piper"\nfallback = ["piper"]\n')
    record, trace = tmp_path / f"{name}.wav", tmp_path / f"{name}.jsonl"
    result = run_engine("play", story, "--pace", "instant", "--choices", "2", "--record", record, "--trace", trace,
                        "--config", config)
    assert result.returncode == 0, result.stderr
    records = [json.loads(x) for x in trace.read_text().splitlines()]
    return {r["line_id"].removeprefix("cellar_"): r for r in records if r["event"] == "voice"}, record


def test_a_story_plays_with_every_direction_acted_and_none_spoken(tmp_path: Path, transcriber: Transcriber,
                                                                  piper: PiperEngine) -> None:
    """Directions, effects and a recorded take in one game with prefetch and the cache on (each story format)."""
    dink, scenes = tmp_path / "dink", tmp_path / "scenes"
    shutil.copytree(DINK, dink)
    shutil.copytree(ACTING, scenes)
    compile_ink(dink / "story.ink", dink / "story.ink.json")
    for story, name in ((scenes, "scenes"), (dink, "ink")):
        speak_reference(piper, story / "takes" / "final" / "cellar_lamp.wav", "The lamp flickers and steadies.")
        voices, record = _play(story, tmp_path, name)
        assert voices["sfx"]["engine"] is None and voices["sfx"]["unspoken"] == "sound cue"
        assert (voices["lamp"]["engine"], voices["lamp"]["take"]) == ("recorded", "final")
        acted = {line_id: (r.get("emotion", ""), r.get("effect", "")) for line_id, r in voices.items()
                 if r["engine"] == "piper"}
        assert acted == {"fred_hear": ("whisper", ""), "laura_os": ("", "offscreen"), "fred_who": ("shout", ""),
                         "laura_radio": ("whisper", "radio"), "fred_ok": ("", ""), "climb_laura": ("shout", "")}, name
        assert voices["fred_hear"]["gain_db"] == -10.0 and voices["fred_hear"]["rate"] == 0.92
        samples, rate = soundfile.read(record, dtype="float32")
        said = transcriber.transcribe(samples, rate).lower()
        assert "hear that" in said and "run" in said, said  # it heard the lines ...
        assert not [word for word in (*DIRECTION_WORDS, "door") if word in said], said  # ... and no direction, no SFX


def test_say_treats_its_text_as_a_line(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    out = tmp_path / "quiet.wav"
    result = run_engine("say", "--story", ACTING, "--character", "fred", "(quietly) Come here, Fred.", "-o", out,
                        "--engine", "piper", "--check", "--config", config)
    assert result.returncode == 0, result.stdout + result.stderr
    heard_line = next(line for line in result.stdout.splitlines() if line.startswith("Heard:")).lower()
    assert "come here" in heard_line and "quiet" not in heard_line
    cue = run_engine("say", "--story", ACTING, "--character", "narrator", "(SFX) A door slams.", "-o", out,
                     "--engine", "piper", "--config", config)
    assert cue.returncode == 1 and "is a sound cue: nothing to say" in cue.stderr


def test_check_warns_about_directions_it_cannot_map(tmp_path: Path) -> None:
    story = tmp_path / "acting"
    shutil.copytree(ACTING, story)
    scenes = story / "scenes" / "cellar.story"
    scenes.write_text(scenes.read_text().replace("(beat) We wait", "(wibbling) We wait"))
    result = run_engine("check", story, "--config", write_config(tmp_path))
    assert "cellar.story:15: warning: the direction '(wibbling)' means nothing to the voices" in result.stdout, \
        result.stdout + result.stderr


def test_cloning_takes_the_emotions_own_reference_else_the_neutral_one_with_one_notice(
        xtts: XttsEngine, piper: PiperEngine, tmp_path: Path) -> None:
    story = tmp_path / "acting"
    shutil.copytree(ACTING, story)
    profile = story / "characters" / "fred.json"
    profile.write_text(json.dumps({**json.loads(profile.read_text()), "engine": "xtts"}))
    voices = tmp_path / "voices"
    speak_reference(piper, voices / "fred.wav", "I keep the lamp and I keep the stairs.")
    angry_wav = speak_reference(piper, voices / "fred@angry.wav", "Who is there? Show yourself at once!", variant=3)
    settings = VoiceSettings(voices_dir=voices, checked_dir=tmp_path / "checked")
    from engine.loader import load_story

    cast = build_cast(load_story(story), settings, {})
    notes: list[str] = []
    cast.check_references(notes.append)
    angry = acting_of("angrily")
    neutral_voice, angry_voice = cast.voice_for("fred"), cast.voice_for("fred", angry)
    assert angry_voice.acted_reference and angry_voice.reference_hash != neutral_voice.reference_hash
    assert line_key(xtts, angry_voice, TEXT) != line_key(xtts, neutral_voice, TEXT)

    angry_wav.unlink()
    cast.reference_changed(angry_wav, notes.append)
    assert notes == ["fred@angry.wav was removed; angry lines are cloned from fred's neutral recording."]
    fallen = cast.voice_for("fred", angry)
    assert not fallen.acted_reference and fallen.reference_hash == neutral_voice.reference_hash

    trace: list[dict] = []
    speaker = Speaker(cast, Fallback({"xtts": xtts}, ["xtts"], notes.append, 0), AudioCache(CacheSettings(tmp_path)),
                      Output(NullSink(), 24000, -20.0, notes.append), trace.append, notes.append, stall=PATIENT).start()
    jobs = [speaker.say(SpokenLine(f"l{n}", "cellar", "fred", "Fred", f"Who is there, number {n}?", False, "en",
                                   ("angrily",))) for n in (1, 2)]
    try:
        wait_until(lambda: all(job.done.is_set() for job in jobs), 240, "two angry lines")
    finally:
        speaker.close(drain=False)
    voiced = [r for r in trace if r["event"] == "voice"]
    assert [r["engine"] for r in voiced] == ["xtts", "xtts"], trace
    assert all(r["emotion"] == "angry" and r["emotion_reference"] is False for r in voiced)
    assert sum("has no angry recording (fred@angry.wav in voices/)" in note for note in notes) == 1, notes


def test_offscreen_audio_is_darker(piper: PiperEngine) -> None:
    voice = Voice("fred", "fred", "piper", "en", 1.0, 0)
    dry = np.concatenate([c.samples for c in piper.synthesize(TEXT, voice, LineSettings())])
    effect = Effect("offscreen")
    far = effect.process(dry, 22050)
    assert band_db(AudioChunk(dry, 22050).samples, 3000, 8000) - band_db(far, 3000, 8000) >= 15


def test_the_seeder_makes_emotion_references_only_when_asked(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    voices = tmp_path / "voices"
    plain = run_engine("voices", "seed", ACTING, "--config", config)
    assert plain.returncode == 0, plain.stderr
    assert sorted(p.name for p in voices.glob("*.wav")) == ["fred.wav", "laura.wav", "narrator.wav"]
    asked = run_engine("voices", "seed", ACTING, "--emotion", "whisper", "--config", config)
    assert asked.returncode == 0, asked.stderr
    assert (voices / "fred@whisper.wav").exists() and (voices / "laura@whisper.wav").exists()
    neutral, _ = soundfile.read(voices / "fred.wav", dtype="float32")
    whisper, _ = soundfile.read(voices / "fred@whisper.wav", dtype="float32")
    assert db(whisper) <= db(neutral) - 6 and len(whisper) > len(neutral) * 0.8
    bad = run_engine("voices", "seed", ACTING, "--emotion", "sleepy", "--config", config)
    assert bad.returncode == 1 and "--emotion sleepy: not an emotion (known: afraid, angry" in bad.stderr
