"""Recorded takes replace synthetic lines one by one; recording scripts list every line an actor may record."""

from __future__ import annotations

import csv
import json
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile

from engine import SpokenLine
from engine.formats.explore import reachable_lines
from engine.loader import load_story
from plugins.voice.casting.cast import build_cast
from plugins.voice.core.settings import CacheSettings, VoiceSettings
from plugins.voice.core.voice import LineSettings, Voice
from plugins.voice.engines.piper.engine import PiperEngine
from plugins.voice.output.playback import Output
from plugins.voice.output.sinks import NullSink
from plugins.voice.pipeline.fallback import Fallback
from plugins.voice.pipeline.speaker import Speaker
from plugins.voice.store.cache import AudioCache
from plugins.voice.store.manifest import Manifest
from plugins.voice.store.takes import Takes
from plugins.voice.tools.script import COLUMNS
from tests.support.common import LIGHTHOUSE, ROOT, TOMB, compile_ink, run_engine, wait_until
from tests.support.voice import write_config
from tests.support.xtts_helpers import speak_reference

pytestmark = pytest.mark.timeout(300)
ACTING = ROOT / "tests" / "engine" / "acting"
DINK = ROOT / "tests" / "engine" / "ink" / "dink"


class Counting:
    """Real Piper, counting what it is asked to say."""

    def __init__(self, engine: PiperEngine) -> None:
        self.engine = engine
        self.texts: list[str] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.engine, name)

    def synthesize(self, text: str, voice: Voice, settings: LineSettings) -> Any:
        self.texts.append(text)
        return self.engine.synthesize(text, voice, settings)


def take(piper: PiperEngine, story: Path, name: str, text: str, variant: int = 5) -> Path:
    made = speak_reference(piper, story / "takes" / "tmp" / Path(name).name, text, variant)
    target = story / "takes" / name
    target.parent.mkdir(parents=True, exist_ok=True)
    made.replace(target)  # dropped in whole, as a file manager's move does
    return target


def spoken(story: Path) -> list[SpokenLine]:
    loaded = load_story(story)
    return [SpokenLine(ln.line_id, ln.scene_id, ln.character_id, ln.character_id, ln.text, ln.is_narration, "en",
                       ln.directions, ln.qualifier, ln.tags) for ln in reachable_lines(loaded).lines]


class Game:
    """A speaker on the story with real Piper (counted) and the story's takes folder."""

    def __init__(self, story: Path, piper: PiperEngine, tmp_path: Path) -> None:
        settings = VoiceSettings(voices_dir=tmp_path / "voices", checked_dir=tmp_path / "checked")
        self.engine = Counting(piper)
        self.trace: list[dict[str, Any]] = []
        self.notes: list[str] = []
        cast = build_cast(load_story(story), settings, {})
        self.speaker = Speaker(cast, Fallback({"piper": self.engine}, ["piper"], self.notes.append, 0),  # type: ignore[dict-item]
                               AudioCache(CacheSettings(tmp_path / "cache")),
                               Output(NullSink(), 24000, -20.0, self.notes.append), self.trace.append,
                               self.notes.append, takes=Takes(story / "takes")).start()

    def say(self, *lines: SpokenLine) -> dict[str, dict[str, Any]]:
        jobs = [self.speaker.say(line) for line in lines]
        wait_until(lambda: all(job.done.is_set() for job in jobs), 120, "the lines")
        ids = {line.line_id for line in lines}
        return {r["line_id"]: r for r in self.trace if r["event"] == "voice" and r["line_id"] in ids}

    def close(self) -> None:
        self.speaker.close(drain=False)


@pytest.fixture
def story(tmp_path: Path) -> Path:
    folder = tmp_path / "acting"
    shutil.copytree(ACTING, folder)
    return folder


def test_recorded_lines_play_with_no_synthesis_and_the_best_take_wins(story: Path, piper: PiperEngine,
                                                                       tmp_path: Path) -> None:
    take(piper, story, "final/cellar_fred_hear.wav", "Did you hear that?")
    take(piper, story, "recorded/cellar_lamp.wav", "The lamp flickers and steadies.")
    take(piper, story, "recorded/cellar_lamp_v2.wav", "The lamp flickers and steadies.", variant=2)
    take(piper, story, "scratch/cellar_laura_os.wav", "Down here, Fred.")
    take(piper, story, "recorded/cellar_laura_os.wav", "Down here, Fred.", variant=2)
    game = Game(story, piper, tmp_path)
    try:
        voices = game.say(*spoken(story))
    finally:
        game.close()
    recorded = {line_id: (r["take"], r["take_file"]) for line_id, r in voices.items() if r["engine"] == "recorded"}
    assert recorded == {"cellar_fred_hear": ("final", "cellar_fred_hear.wav"),
                        "cellar_lamp": ("recorded", "cellar_lamp_v2.wav"),
                        "cellar_laura_os": ("recorded", "cellar_laura_os.wav")}
    assert all(r["seconds"] > 0.5 for line_id, r in voices.items() if line_id in recorded)
    said = Counter(game.engine.texts)
    assert not {"Did you hear that?", "The lamp flickers and steadies.", "Down here, Fred."} & set(said)
    synthesized = {line_id for line_id, r in voices.items() if r["engine"] == "piper"}
    assert synthesized == {"cellar_fred_who", "cellar_laura_radio", "cellar_fred_ok", "wait_fred", "climb_laura"}
    assert sum(said.values()) == len(synthesized)  # one synthesis per synthetic line, none for recorded ones


def test_a_take_dropped_in_mid_game_is_used_and_a_bad_one_is_refused(story: Path, piper: PiperEngine,
                                                                     tmp_path: Path) -> None:
    lines = {line.line_id: line for line in spoken(story)}
    game = Game(story, piper, tmp_path)
    try:
        assert game.say(lines["cellar_lamp"])["cellar_lamp"]["engine"] == "piper"
        take(piper, story, "final/wait_fred.wav", "We wait here.")  # while the game runs: no restart
        assert game.say(lines["wait_fred"])["wait_fred"]["engine"] == "recorded"
        bad = story / "takes" / "final" / "climb_laura.wav"
        soundfile.write(bad, np.zeros(24000, dtype=np.float32), 24000, subtype="PCM_16")
        assert game.say(lines["climb_laura"])["climb_laura"]["engine"] == "piper"
        assert game.say(lines["cellar_fred_ok"])["cellar_fred_ok"]["engine"] == "piper"
    finally:
        game.close()
    assert [n for n in game.notes if "climb_laura.wav refused: silent" in n] == \
        ["climb_laura.wav refused: silent; the line is synthesized instead."]


def test_a_take_of_an_old_text_is_stale_everywhere(story: Path, piper: PiperEngine, tmp_path: Path) -> None:
    config = write_config(tmp_path)
    take(piper, story, "recorded/cellar_lamp.wav", "The lamp flickers and steadies.")
    assert run_engine("script", story, "--out", tmp_path / "script.csv", "--config", config).returncode == 0
    scenes = story / "scenes" / "cellar.story"
    scenes.write_text(scenes.read_text().replace("The lamp flickers and steadies.", "The lamp goes out."))
    game = Game(story, piper, tmp_path)
    try:
        lamp = next(line for line in spoken(story) if line.line_id == "cellar_lamp")
        assert game.say(lamp)["cellar_lamp"]["engine"] == "piper"
    finally:
        game.close()
    assert any('was recorded for "The lamp flickers and steadies."' in note for note in game.notes), game.notes
    status = run_engine("pack", "status", story, "--config", config)
    assert status.returncode == 0, status.stderr
    assert "8 line(s): 0 recorded, 0 synthetic in the pack, 1 stale, 7 missing." in status.stdout
    assert "stale: recorded/cellar_lamp.wav" in status.stdout
    check = run_engine("check", story, "--config", config)
    assert "cellar.story:9: warning: the take recorded/cellar_lamp.wav was recorded for " in check.stdout, check.stdout


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.parametrize("name", ["tomb", "lighthouse", "dink"])
def test_the_script_lists_every_line_once_with_its_speaker(name: str, tmp_path: Path) -> None:
    folder = tmp_path / name
    shutil.copytree({"tomb": TOMB, "lighthouse": LIGHTHOUSE, "dink": DINK}[name], folder)
    if name == "dink":
        compile_ink(folder / "story.ink", folder / "story.ink.json")
    out = tmp_path / "script.csv"
    result = run_engine("script", folder, "--out", out, "--config", write_config(tmp_path))
    assert result.returncode == 0, result.stderr
    rows = _rows(out)
    story = load_story(folder)
    reached = [ln for ln in reachable_lines(story).lines if ln.text and "SFX" not in ln.directions]
    firsts = [(r["line_id"], r["character"]) for r in rows if r["alternate"] in ("",) or r["alternate"].startswith("(1/")]
    assert firsts == [(ln.line_id, ln.character_id) for ln in reached]  # one to one, in the order met
    assert all(r["status"] == "missing" and r["take_file"].endswith(".wav") for r in rows)
    if name == "dink":
        ok = [r for r in rows if r["line_id"] == "cellar_fred_ok"]
        assert [(r["text"], r["alternate"]) for r in ok] == \
            [("Right.", "(1/3)"), ("Fine.", "(2/3)"), ("Okay then.", "(3/3)")]
        who = next(r for r in rows if r["line_id"] == "cellar_fred_who")
        assert (who["direction"], who["emotion"], who["tags"], who["comment"]) == \
            ("(angrily)", "shout", "#vo:loud", "Fred is trying to sound brave.")
    assert json.loads((folder / "takes" / "script.json").read_text())["lines"]["" + rows[0]["take_file"][:-4]] == \
        rows[0]["text"]


def test_the_script_as_a_spreadsheet_by_character(story: Path, tmp_path: Path) -> None:
    from openpyxl import load_workbook

    out = tmp_path / "script.xlsx"
    result = run_engine("script", story, "--out", out, "--by-character", "--config", write_config(tmp_path))
    assert result.returncode == 0, result.stderr
    sheet = load_workbook(out).active
    assert sheet is not None
    values = list(sheet.iter_rows(values_only=True))
    assert values[0] == COLUMNS and len(values) == 9
    assert [row[2] for row in values[1:]] == ["fred"] * 4 + ["laura"] * 3 + ["narrator"]


def test_render_puts_takes_in_the_pack_in_place_of_synthesis(story: Path, piper: PiperEngine, tmp_path: Path) -> None:
    recorded = take(piper, story, "final/cellar_fred_hear.wav", "Did you hear that?")
    pack = tmp_path / "pack"
    result = run_engine("render", story, "--engine", "piper", "--format", "flac", "--no-gate", "--out", pack,
                        "--config", write_config(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "1 from recorded takes" in result.stdout
    manifest = Manifest.read(pack)
    assert manifest is not None
    entry = manifest.entries["cellar_fred_hear"]
    assert (entry.engine, entry.model, entry.settings["emotion"]) == ("recorded", "take:final/cellar_fred_hear.wav",
                                                                      "whisper")
    assert abs(entry.seconds - soundfile.info(recorded).duration) < 0.01
    assert {e.engine for key, e in manifest.entries.items() if key != "cellar_fred_hear"} == {"piper"}
    assert "sfx" not in " ".join(manifest.entries)  # a sound cue is not voiced
