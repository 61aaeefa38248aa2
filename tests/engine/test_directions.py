"""Acting directions as authors write them (dink's conventions): kept apart from what is said, in both formats."""

from __future__ import annotations

import io
import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from rich.console import Console

from engine.core.directions import split_directions, split_qualifier
from engine.core.model import Line, SpokenLine
from engine.formats.explore import reachable_lines
from engine.formats.scenes.parser import parse_scene_file
from engine.loader import load_story
from engine.terminal import Terminal
from tests.support.common import run_engine

pytestmark = pytest.mark.timeout(120)
ACTING = Path(__file__).parent / "acting"  # the scene-format twin of tests/engine/ink/dink


def test_directions_and_qualifiers_are_split_off() -> None:
    assert split_directions("(quietly) (beat) Let's go.") == (("quietly", "beat"), "Let's go.")
    assert split_directions("( angrily, to Fred )Who is there?") == (("angrily, to Fred",), "Who is there?")
    assert split_directions("He said (quietly) nothing.") == ((), "He said (quietly) nothing.")
    assert split_directions("(laughs)") == (("laughs",), "")
    assert split_qualifier("LAURA (O.S.)") == ("LAURA", "O.S.")
    assert split_qualifier("Laura") == ("Laura", "")


def test_scene_format_lines_carry_qualifier_directions_tags_and_comment(tmp_path: Path) -> None:
    text = ("=== a ===\n// tired now\n@fred (O.S.): (quietly) (beat) Let's go. #lamp #vo:loud\n(SFX) A door slams.\n"
            "Room #5\n@fred: Hi #id:hi\n-> END\n")
    scenes, problems = parse_scene_file(text, tmp_path / "a.story")
    assert problems == []
    fred, sfx, room, hi = scenes[0].lines
    assert (fred.line_id, fred.character_id, fred.text, fred.directions, fred.qualifier, fred.tags, fred.comment) == \
        ("lamp", "fred", "Let's go.", ("quietly", "beat"), "O.S.", ("vo:loud",), "tired now")
    assert (sfx.text, sfx.directions, sfx.is_narration, sfx.line_id) == ("A door slams.", ("SFX",), True, "a.2")
    assert (room.text, room.line_id) == ("Room #5", "a.3")  # '#5' is not a tag: an id starts with a letter
    assert (hi.line_id, hi.text, hi.comment) == ("hi", "Hi", "")


def test_a_line_with_nothing_at_all_is_still_an_error(tmp_path: Path) -> None:
    _, problems = parse_scene_file("=== a ===\n@fred: #id:x\n", tmp_path / "a.story")
    assert [str(p).split(": ", 1)[1] for p in problems] == ["this line has nothing to say"]


def _said(lines: list[Line]) -> list[tuple[str, str, str, tuple[str, ...], str, tuple[str, ...]]]:
    return [(line.line_id.removeprefix("cellar_").removeprefix("wait_").removeprefix("climb_"), line.character_id,
             line.text, line.directions, line.qualifier, line.tags) for line in lines]


def test_ink_in_dinks_style_reads_as_the_scene_format_does(ink_story: Callable[[str], Path]) -> None:
    ink = load_story(ink_story("dink"))
    scenes = load_story(ACTING)
    ink_lines = reachable_lines(ink).lines
    scene_lines = reachable_lines(scenes).lines
    # the same lines, speakers, directions, qualifiers and tags (ink's shuffle says one of three texts)
    assert _said([ln for ln in ink_lines if ln.line_id != "cellar_fred_ok"]) == \
        _said([ln for ln in scene_lines if ln.line_id != "cellar_fred_ok"])
    who = next(line for line in ink_lines if line.line_id == "cellar_fred_who")
    assert (who.character_id, who.text, who.directions, who.tags) == ("fred", "Who is there?", ("angrily",), ("vo:loud",))
    os_line = next(line for line in ink_lines if line.line_id == "cellar_laura_os")
    assert (os_line.character_id, os_line.qualifier, os_line.text) == ("laura", "O.S.", "Down here, Fred.")
    # the lines as written (for checks) say the same, at their place in the .ink source
    written = {line.line_id: line for line in ink.format.lines(ink)}
    assert written["cellar_laura_radio"].directions == ("whispering",)
    assert written["cellar_laura_radio"].source.line == 12 and written["cellar_laura_radio"].source.path.name == "story.ink"


def _shown(line: SpokenLine, directions: bool) -> str:
    out = io.StringIO()
    read_fd, write_fd = os.pipe()
    os.close(write_fd)
    try:
        Terminal(Console(file=out, width=200, highlight=False, force_terminal=True), fd=read_fd,
                 directions=directions).show_line(line)
    finally:
        os.close(read_fd)
    return out.getvalue()


def test_the_terminal_shows_directions_apart_from_speech_or_hides_them() -> None:
    line = SpokenLine("x", "s", "laura", "Laura", "Stay where you are.", False, "en", ("whispering",), "radio")
    shown = _shown(line, True)
    assert "\x1b[2;3m(whispering)" in shown and "(radio)" in shown and "Stay where you are." in shown
    hidden = _shown(line, False)
    assert "whispering" not in hidden and "radio" not in hidden and "Laura" in hidden and "Stay where" in hidden
    assert _shown(SpokenLine("y", "s", "n", "N", "", True, "en", ("beat",)), False) == ""


def test_the_trace_keeps_directions_out_of_the_text(tmp_path: Path) -> None:
    trace = tmp_path / "trace.jsonl"
    config = tmp_path / "config.toml"
    config.write_text(f'[engine]\nsaves_dir = "{tmp_path}"\n[plugins]\ndisabled = ["voice"]\n')
    result = run_engine("play", ACTING, "--pace", "instant", "--choices", "2", "--trace", trace, "--config", config)
    assert result.returncode == 0, result.stderr
    lines = [json.loads(r) for r in trace.read_text().splitlines()]
    said = {r["line_id"]: r for r in lines if r["event"] in ("narration", "dialogue")}
    assert all("(" not in r["text"] for r in said.values())
    assert said["cellar_laura_radio"]["directions"] == ["whispering"] and said["cellar_laura_radio"]["qualifier"] == "radio"
    assert said["cellar_fred_who"]["tags"] == ["vo:loud"]
    assert "(whispering) Stay where you are." in result.stdout
