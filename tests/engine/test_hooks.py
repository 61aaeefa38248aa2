"""Each hook, exercised through the real runner or CLI; plus the two meta-tests."""

from __future__ import annotations

import argparse
import json
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from engine import ChoiceOption, Scene, SpokenLine, hookimpl, hookspecs
from engine.cli import build_parser, parse_args
from engine.core.errors import QuitGame
from engine.plugins import make_plugin_manager
from tests.support.common import ENDINGS, ROOT, TOMB, run_engine
from tests.support.play import play

HOOKS = sorted(name for name in dir(hookspecs) if name.startswith("engine_"))
DAWN = ENDINGS["The Sun Rises on Time"]


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, Any]] = []

    @hookimpl
    def engine_scene_entered(self, scene: Scene, resumed: bool) -> None:
        self.events.append(("scene", scene.scene_id))

    @hookimpl
    def engine_upcoming_lines(self, lines: Sequence[SpokenLine]) -> None:
        self.events.append(("upcoming", [line.line_id for line in lines]))

    @hookimpl
    def engine_narration(self, line: SpokenLine) -> None:
        self.events.append(("narration", line))

    @hookimpl
    def engine_dialogue(self, line: SpokenLine) -> None:
        self.events.append(("dialogue", line))

    @hookimpl
    def engine_choices_presented(self, options: Sequence[ChoiceOption]) -> None:
        self.events.append(("choices", [o.label for o in options]))

    @hookimpl
    def engine_choice_made(self, option: ChoiceOption) -> None:
        self.events.append(("choice", option.number))

    @hookimpl
    def engine_line_skipped(self, line: SpokenLine) -> None:
        self.events.append(("skipped", line.line_id))

    def of(self, kind: str) -> list[Any]:
        return [value for name, value in self.events if name == kind]


def test_every_hook_is_documented() -> None:
    documented = (ROOT / "docs" / "plugins.md").read_text(encoding="utf-8")
    for name in HOOKS:
        doc = getattr(hookspecs, name).__doc__ or ""
        assert len(doc.split()) >= 6, f"{name} needs a docstring saying when it fires and what it gets"
        assert f"`{name}" in documented, f"{name} is missing from docs/plugins.md"


def test_every_hook_has_a_test() -> None:
    sources = "\n".join(path.read_text(encoding="utf-8") for path in (ROOT / "tests").rglob("test_*.py"))
    for name in HOOKS:
        assert f"def test_hook_{name}(" in sources, f"no test_hook_{name}"


def test_hook_engine_register_commands(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[plugins]\ndisabled = ["voice"]\nmodules = ["extra_plugin"]\n', encoding="utf-8")
    result = run_engine("--config", config, "hello", "world")
    assert (result.returncode, result.stdout) == (7, "hello world\n")


def test_hook_engine_add_play_options() -> None:
    pm = make_plugin_manager({"plugins": {"disabled": ["voice"], "modules": ["extra_plugin"]}})
    args = build_parser(pm).parse_args(["play", "stories/tomb", "--shout"])
    assert args.shout is True


def test_hook_engine_add_serve_options() -> None:
    voiced = parse_args(make_plugin_manager({}), ["serve", "stories/tomb", "--pack", "packs/tomb"])
    assert voiced.pack == Path("packs/tomb")  # the voice plugin's option, not the engine's
    silent = make_plugin_manager({"plugins": {"disabled": ["voice"]}})
    with pytest.raises(SystemExit):
        parse_args(silent, ["serve", "stories/tomb", "--pack", "packs/tomb"])


def test_config_and_verbose_work_after_every_command_at_any_depth() -> None:
    pm = make_plugin_manager({})  # the voice plugin's commands too
    for command in (["play", "stories/tomb"], ["check", "stories/tomb"], ["models", "verify"],
                    ["voices", "seed", "stories/tomb"], ["bridge", "serve"], ["pack", "verify", "stories/tomb"]):
        args = parse_args(pm, [*command, "--config", "mine.toml", "-v"])
        assert args.config == "mine.toml" and args.verbose and args.handler, command
        args = parse_args(pm, ["--config", "mine.toml", *command])
        assert args.config == "mine.toml" and not args.verbose, command


def test_hook_engine_validate(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[plugins]\ndisabled = ["voice"]\nmodules = ["extra_plugin"]\n[extra]\ncomplain = true\n')
    result = run_engine("check", TOMB, "--config", config)
    assert result.returncode == 1
    assert "stories/tomb/characters/guide.json:1: guide has no voice (from a plugin)" in result.stdout
    played = run_engine("play", TOMB, "--pace", "instant", "--choices", "1,2,1,2,2", "--config", config)
    assert played.returncode == 0 and "guide has no voice (from a plugin)]" in played.stdout


def test_hook_engine_story_loaded(tmp_path: Path, config_file: Path) -> None:
    config_file.write_text(config_file.read_text() + 'modules = ["recorder_plugin"]\n')
    out, trace = tmp_path / "events.jsonl", tmp_path / "trace.jsonl"
    result = run_engine("play", TOMB, "--pace", "instant", "--choices", "1,2,1,2,2", "--trace", trace,
                        "--config", config_file, RECORDER_OUT=str(out))
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in out.read_text().splitlines()]
    game = events[0].pop("game")
    assert events[0] == {"event": "story_loaded", "title": "The Tomb of the Sleeping Sun"} and len(game) == 16
    assert {event["game"] for event in events[1:]} == {game}  # every later hook knew the game
    assert events[-1] == {"event": "story_ended", "ending": "Buried Again", "reason": "ending", "game": game}
    kinds = [e["event"] for e in events]
    assert kinds[1:4] == ["scene_entered", "upcoming_lines", "narration"]
    assert kinds.count("choice_made") == 5 and kinds.count("choices_presented") == 5
    assert kinds.index("choices_presented") < kinds.index("choice_made")
    records = [json.loads(line) for line in trace.read_text().splitlines()]
    assert {"event": "recorder", "note": "hello from a plugin"} in [
        {k: v for k, v in r.items() if k != "t_ms"} for r in records]


def test_hook_engine_scene_entered() -> None:
    recorder = Recorder()
    play(TOMB, DAWN, recorder)
    assert recorder.of("scene") == ["dunes", "camp", "entrance", "door_opens", "hall", "pillars", "scribe",
                                    "stairs", "sanctum", "truth", "blessing"]


def test_hook_engine_upcoming_lines() -> None:
    recorder = Recorder()
    play(TOMB, DAWN, recorder)
    first = recorder.of("upcoming")[0]
    assert first[:6] == ["dunes.1", "dunes.2", "dunes.3", "dunes.4", "dunes.5", "grant"]
    # then the opening lines of both reachable scenes, nearest first, honouring conditions:
    # choice 1 sets `hurried`, so entrance.2 ("not hurried") is left out of that branch.
    assert first[6:] == ["entrance.1", "camp.1", "entrance.3", "camp.2", "entrance.4", "camp.3"]
    # every line shown was announced by the latest upcoming list before it
    announced: list[str] = []
    for kind, value in recorder.events:
        if kind == "upcoming":
            announced = value
        elif kind in ("narration", "dialogue"):
            assert value.line_id in announced
    # fired on each scene entry and each choice presentation
    kinds = [kind for kind, _ in recorder.events]
    assert kinds.count("upcoming") == kinds.count("scene") + kinds.count("choices")


def test_hook_engine_narration() -> None:
    recorder = Recorder()
    play(TOMB, DAWN, recorder)
    lines = recorder.of("narration")
    assert lines[0].text.startswith("The sun is sinking") and lines[0].character_id == "narrator"
    assert all(line.is_narration and line.speaker == "Narrator" for line in lines)


def test_hook_engine_dialogue() -> None:
    recorder = Recorder()
    ending, printed = play(TOMB, DAWN, recorder)
    lines = recorder.of("dialogue")
    assert (lines[0].character_id, lines[0].speaker, lines[0].line_id) == ("guide", "Tariq", "dunes.3")
    assert {line.character_id for line in lines} == {"guide", "archaeologist", "scribe", "god"}
    assert f"{lines[-1].speaker}: {lines[-1].text}" in printed


class Deliverer:
    """Finishes each line on another thread a moment later and logs when it did."""

    def __init__(self, log: list[str]) -> None:
        self.log = log

    @hookimpl
    def engine_narration(self, line: SpokenLine) -> None:
        self.log.append(f"shown {line.line_id}")

    @hookimpl
    def engine_line_delivery(self, line: SpokenLine) -> threading.Event:
        done = threading.Event()

        def finish() -> None:
            self.log.append(f"delivered {line.line_id}")
            done.set()

        threading.Timer(0.02, finish).start()
        return done


def test_hook_engine_line_delivery() -> None:
    log: list[str] = []
    play(TOMB, ENDINGS["Buried Again"], Deliverer(log), pace="listen")
    shown = [entry for entry in log if entry.startswith("shown")]
    assert len(shown) > 10
    for index, entry in enumerate(log[:-1]):
        if entry.startswith("shown"):
            assert log[index + 1] == entry.replace("shown", "delivered"), "the next line came before delivery"


def test_hook_engine_line_skipped() -> None:
    recorder = Recorder()
    play(TOMB, DAWN, recorder, pace="read", typed=b"\n\n")
    assert recorder.of("skipped") == ["dunes.1", "dunes.2"]


def test_hook_engine_choices_presented() -> None:
    recorder = Recorder()
    play(TOMB, [2, 2, 1, 2, 2], recorder)
    offered = recorder.of("choices")
    assert offered[0] == ["Go in now, before the light is gone", "Make camp and wait for dawn"]
    # state changes what is offered: the name is known after camping, and anger opens the way back
    assert offered[1][0] == "Whisper the name to the door"
    assert offered[-1] == ["Go down into the light", "Turn back and run"]


def test_hook_engine_choice_made() -> None:
    recorder = Recorder()
    ending, _ = play(TOMB, ENDINGS["The Eternal Treasury"], recorder)
    assert recorder.of("choice") == ENDINGS["The Eternal Treasury"]
    assert ending == "The Eternal Treasury"


class EndWatcher:
    def __init__(self) -> None:
        self.ended: list[tuple[str | None, str]] = []

    @hookimpl
    def engine_story_ended(self, ending: str | None, reason: str) -> None:
        self.ended.append((ending, reason))


@pytest.mark.parametrize(
    ("choices", "expected_reason", "expected_rc"),
    [("2,1,3,2,1,2", "ending", 0), ("2,1", "out_of_choices", 1)],
)
def test_hook_engine_story_ended(choices: str, expected_reason: str, expected_rc: int, tmp_path: Path,
                                 config_file: Path) -> None:
    config_file.write_text(config_file.read_text() + 'modules = ["recorder_plugin"]\n')
    out = tmp_path / "events.jsonl"
    result = run_engine("play", TOMB, "--pace", "instant", "--choices", choices, "--config", config_file,
                        RECORDER_OUT=str(out))
    assert result.returncode == expected_rc
    last = json.loads(out.read_text().splitlines()[-1])
    assert (last["event"], last["reason"]) == ("story_ended", expected_reason)


def test_quit_during_a_line_raises_quit() -> None:
    with pytest.raises(QuitGame):
        play(TOMB, DAWN, pace="read", typed=b"q\n")


def test_parser_built_without_plugins_has_core_commands() -> None:
    pm = make_plugin_manager({"plugins": {"disabled": ["voice"]}})
    parser = build_parser(pm)
    assert isinstance(parser, argparse.ArgumentParser)
    assert parser.parse_args(["check", "x"]).command == "check"
