"""`engine check` on broken stories: every problem as path:line: message, exit 1, no traceback."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.common import TOMB, run_engine

MANIFEST = 'title = "Mini"\nstart = "a"\nscenes = ["main.story"]\n'
SCENES = "=== a ===\nHello.\n@guide: Hi there.\n* Go on -> b\n\n=== b ===\nBye.\n-> END Done\n"


def write_story(root: Path, manifest: str = MANIFEST, scenes: str = SCENES, extra: dict[str, str] | None = None) -> Path:
    (root / "characters").mkdir(parents=True)
    (root / "story.toml").write_text(manifest, encoding="utf-8")
    (root / "main.story").write_text(scenes, encoding="utf-8")
    for cid, name in [("narrator", "Narrator"), ("guide", "Guide")]:
        profile = {"character_id": cid, "display_name": name}
        (root / "characters" / f"{cid}.json").write_text(json.dumps(profile), encoding="utf-8")
    for name, text in (extra or {}).items():
        (root / name).write_text(text, encoding="utf-8")
    return root


def _scenes(text: str) -> Callable[[Path], Path]:
    return lambda root: write_story(root, scenes=text)


def _manifest(text: str) -> Callable[[Path], Path]:
    return lambda root: write_story(root, manifest=text)


def _profile(name: str, text: str) -> Callable[[Path], Path]:
    return lambda root: write_story(root, extra={f"characters/{name}": text})


BROKEN = {
    "unknown scene": (_scenes(SCENES.replace("-> b", "-> nowhere")), "main.story:4: unknown scene 'nowhere'"),
    "unknown character": (_scenes(SCENES.replace("@guide", "@ghost")), "main.story:3: unknown character_id 'ghost'"),
    "syntax: bad choice": (_scenes(SCENES.replace("* Go on -> b", "* Go on")), "main.story:4: a choice looks like"),
    "syntax: bad condition": (_scenes(SCENES.replace("Hello.", "{x >} Hello.")), "main.story:2: "),
    "text before scene": (_scenes("Hello.\n" + SCENES), "main.story:1: text before the first scene"),
    "duplicate scene": (_scenes(SCENES + "=== a ===\nAgain.\n-> b\n"), "main.story:9: scene 'a' is already defined"),
    "duplicate line id": (
        _scenes(SCENES.replace("Hello.", "Hello. #x").replace("Bye.", "Bye. #x")), "main.story:7: line id 'x'"),
    "no way out": (_scenes(SCENES.replace("-> END Done", "")), "main.story:6: scene 'b' has no way out"),
    "bad assignment": (_scenes(SCENES.replace("Hello.", "~ torch")), "main.story:2: cannot read assignment"),
    "unknown start": (_manifest(MANIFEST.replace('"a"', '"zz"')), "story.toml:2: start scene 'zz' is not defined"),
    "bad toml": (_manifest(MANIFEST + "oops = \n"), "story.toml:4: bad TOML"),
    "missing scene file": (_manifest(MANIFEST.replace("main.story", "gone.story")),
                           "story.toml:3: scene file 'gone.story' does not exist"),
    "scene file escapes": (_manifest(MANIFEST.replace("main.story", "../x.story")), "story.toml:3: scene file"),
    "bad json": (_profile("guide.json", '{"character_id": "guide",\n "display_name": }'), "guide.json:2: bad JSON"),
    "id differs from file": (_profile("guide.json", '{\n"character_id": "tariq",\n"display_name": "T"}'),
                             'guide.json:2: character_id "tariq" must equal the file name'),
    "no display name": (_profile("guide.json", '{"character_id": "guide"}'), "guide.json:1: 'display_name'"),
    "loop with no choice": (_scenes("=== a ===\nHello.\n-> b\n\n=== b ===\nBye.\n-> a\n"),
                            "main.story:7: scenes a -> b -> a jump to each other for ever with no choice"),
    "title after a scene in a choice": (_scenes(SCENES.replace("* Go on -> b", "* Go on -> b Later")),
                                        "main.story:4: unexpected text after '-> b'"),
    "a value in text": (_scenes(SCENES.replace("Hi there.", "You came back {visits} times.")),
                        "main.story:3: '{visits}' inside a line: this format does not put values into text"),
    "not utf-8": (lambda root: _bytes(write_story(root), "main.story", SCENES.encode() + b"\n\xff\xfe"),
                  "main.story:10: this file is not UTF-8 text"),
}


def _bytes(root: Path, name: str, data: bytes) -> Path:
    (root / name).write_bytes(data)
    return root


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_story(case: str, tmp_path: Path, config_file: Path) -> None:
    build, expected = BROKEN[case]
    root = build(tmp_path / "story")
    result = run_engine("check", root, "--config", config_file, cwd=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    lines = [line for line in result.stdout.splitlines() if ": warning: " not in line]
    assert any(expected in line for line in lines), result.stdout
    located = [line for line in lines[:-1]]
    assert located and all(line.startswith("story/") and line.split(":")[1].isdigit() for line in located)

    # play refuses the same story with one sentence and no traceback
    played = run_engine("play", root, "--pace", "instant", "--choices", "1", "--config", config_file, cwd=tmp_path)
    assert played.returncode == 1
    assert played.stderr.startswith("engine: ") and "Traceback" not in played.stderr
    assert len(played.stderr.strip().splitlines()) == 1


def test_warnings_do_not_fail(tmp_path: Path, config_file: Path) -> None:
    root = write_story(tmp_path / "story", scenes=SCENES + "=== lost ===\n{secret} Hm.\n-> END\n")
    result = run_engine("check", root, "--config", config_file, cwd=tmp_path)
    assert result.returncode == 0, result.stdout
    assert "main.story:9: warning: scene 'lost' cannot be reached from 'a'" in result.stdout
    assert "main.story:10: warning: 'secret' is never set" in result.stdout


def test_bundled_story_is_clean(config_file: Path) -> None:
    result = run_engine("check", TOMB, "--config", config_file)
    assert result.returncode == 0
    assert result.stdout.strip().endswith("0 error(s), 0 warning(s)")


def test_bundled_story_meets_the_brief() -> None:
    from engine import load_story

    story = load_story(TOMB)
    assert len(story.scenes) >= 8 and len(story.all_lines()) >= 60
    assert {"narrator", "archaeologist", "god"} < set(story.characters) and len(story.characters) >= 4
    for character in story.characters.values():
        for key in ["voice_id", "voice_seed_text", "voice_seed_seconds_target", "voice_clone_ref", "engine",
                    "language", "speed"]:
            assert key in character.profile, (character.character_id, key)


def test_a_choice_may_end_the_story(tmp_path: Path, config_file: Path) -> None:
    scenes = SCENES.replace("* Go on -> b", "* Go on -> b\n* Give up -> END Home Before Dawn ~ gave_up = true")
    root = write_story(tmp_path / "story", scenes=scenes)
    checked = run_engine("check", root, "--config", config_file, cwd=tmp_path)
    assert checked.returncode == 0 and "0 error(s), 0 warning(s)" in checked.stdout, checked.stdout
    played = run_engine("play", root, "--pace", "instant", "--choices", "2", "--config", config_file, cwd=tmp_path)
    assert played.returncode == 0, played.stderr
    assert "Home Before Dawn" in played.stdout and "Bye." not in played.stdout


def test_a_loop_that_never_asks_stops_with_one_sentence(tmp_path: Path, config_file: Path) -> None:
    """A loop `engine check` cannot prove endless (its way out is conditional) is stopped during play."""
    scenes = "=== a ===\nHello.\n~ n += 1\n{n < 0} -> END Never\n-> b\n\n=== b ===\n-> a\n"
    root = write_story(tmp_path / "story", scenes=scenes)
    played = run_engine("play", root, "--pace", "instant", "--config", config_file, cwd=tmp_path)
    assert played.returncode == 1 and "Traceback" not in played.stderr
    assert played.stderr.startswith("engine: story/main.story:5: the story jumped 1000 times without offering a choice")
    assert len(played.stderr.strip().splitlines()) == 1
