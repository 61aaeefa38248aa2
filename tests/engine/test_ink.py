"""ink stories: compiled by the real ink compiler (inkjs), played by the real runtime (bink), through `engine`."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from engine.formats import ChoiceStep, EndStep, LineStep, SceneStep, open_playthrough
from engine.formats.ink.book import book_of
from engine.formats.ink.playthrough import implicit_id, open_runtime
from engine.loader import load_story
from tests.support.common import LIGHTHOUSE, LIGHTHOUSE_ENDINGS, compile_ink, run_engine

THROUGH = [4, 1]  # walk past the guide, go through
COINS = [3, 2, 1, 1, 2, 2]  # count (0), take, ring the bell, count (1), pay, turn back


def play(story: Path, choices: list[int], config: Path, tmp_path: Path, *extra: str) -> tuple[str, list[dict]]:
    trace = tmp_path / "t.jsonl"
    result = run_engine("play", story, "--choices", ",".join(map(str, choices)), "--pace", "instant",
                        "--trace", trace, "--config", config, *extra)
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    return result.stdout, [json.loads(x) for x in trace.read_text(encoding="utf-8").splitlines()]


def spoken(records: list[dict]) -> list[tuple[str, str, str]]:
    return [(r["character_id"], r["line_id"], r["text"]) for r in records if r["event"] in ("narration", "dialogue")]


def test_through_the_gate_speakers_ids_and_text(ink_story: Callable[[str], Path], config_file: Path,
                                               tmp_path: Path) -> None:
    out, records = play(ink_story("features"), THROUGH, config_file, tmp_path)
    assert spoken(records) == [
        ("narrator", "hall_quiet", "The hall is quiet."),
        ("guide", "hall_welcome", "Welcome, traveller."),  # GUIDE: prefix, the character_id in capitals
        ("guide", implicit_id("hall", "guide", "Mind the step."), "Mind the step."),  # no #id: tag
        ("guide", "hall_name", "I am called Tariq."),  # Tariq: prefix, the display name
        ("narrator", "hall_knock", "KNOCK: a sound at the door, not a speaker."),  # no such character
        ("narrator", "gate_frown", "The guide frowns."),  # {paid: ... - else: ...}
        ("scribe", "riddle_q", "What walks on four legs in the morning?"),  # a tunnel, in an INCLUDEd file
        ("narrator", "gate_open", "The gate swings open."),  # a labelled gather
        ("narrator", implicit_id("gate", "narrator", "Hello!"), "Hello!"),  # a function's result
        ("scribe", "gate_end", "The end of the road."),  # a stitch
    ]
    assert [r["scene"] for r in records if r["event"] == "scene"] == ["hall", "gate", "riddle", "gate"]
    assert out.count("— The Gate —") == 1  # back from the tunnel: no second heading
    assert "— The Hall —" in out and "GUIDE:" not in out and "Tariq: Welcome, traveller." in out
    options = [r["options"] for r in records if r["event"] == "choices"]
    # a thread's choice (the bell) comes first; choice-only text in [brackets] is the label
    assert options[0] == ["Ring the bell", "Take a coin", "Count the coins", "Walk past the guide"]
    assert records[-1] == {**records[-1], "event": "ended", "ending": "Through the Gate", "reason": "ending"}
    assert out.rstrip().endswith("*** Through the Gate ***")


def test_coins_sticky_and_once_only_choices_variables_and_done(ink_story: Callable[[str], Path], config_file: Path,
                                                                tmp_path: Path) -> None:
    out, records = play(ink_story("features"), COINS, config_file, tmp_path)
    lines = spoken(records)
    assert ("scribe", lines[5][1], "You have 0 coins.") == lines[5]  # #speaker: tag, a variable, a conditional
    assert [text for _, _, text in lines[6:10]] == ["You take a coin.", "The bell rings.", "You have 1 coin.",
                                                     "Pay the guide"]  # choice text without brackets is said
    assert lines[9][1] == "paid_guide" and ("guide", "gate_thanks", "Thank you kindly.") in lines
    assert lines[-1] == ("narrator", "turn_back", "You turn back.")  # `# speaker: narrator`, spaces and all
    options = [r["options"] for r in records if r["event"] == "choices"]
    assert "Take a coin" not in options[2] and "Ring the bell" not in options[3]  # once-only choices
    assert all("Count the coins" in o for o in options[:5])  # a sticky choice stays
    assert "Pay the guide" not in options[0] and "Pay the guide" in options[2]  # {coins > 0}
    assert records[-1]["ending"] == "The End" and out.rstrip().endswith("*** The End ***")  # -> DONE, no tag
    assert [r["scene"] for r in records if r["event"] == "scene"][:3] == ["hall", "bell", "hall"]


def test_implicit_ids_are_the_same_in_every_game(ink_story: Callable[[str], Path], config_file: Path,
                                                 tmp_path: Path) -> None:
    story = ink_story("features")
    first = spoken(play(story, COINS, config_file, tmp_path)[1])
    second = spoken(play(story, COINS, config_file, tmp_path)[1])
    assert first == second
    implicit = [line_id for _, line_id, _ in first if "." in line_id]
    assert implicit and all(re.fullmatch(r"[a-z_]+(\.[a-z_]+)?\.[a-z0-9-]+-[0-9a-f]{6}", i) for i in implicit)


def test_looking_ahead_does_not_move_the_game(ink_story: Callable[[str], Path], config_file: Path,
                                              tmp_path: Path) -> None:
    story_dir = ink_story("features")
    _, records = play(story_dir, COINS, config_file, tmp_path)
    # the same choices through the bare runtime, nobody looking ahead
    book = book_of(load_story(story_dir))
    assert book is not None
    runtime = open_runtime(book)
    bare, picks = [], [c - 1 for c in COINS]
    while True:
        while runtime.can_continue():
            text = " ".join(runtime.cont().split())
            bare += [text] if text else []
        if not runtime.get_current_choices():
            break
        runtime.choose_choice_index(picks.pop(0))
    shown = [r["text"] for r in records if r["event"] in ("narration", "dialogue")]
    assert [re.sub(r"^(GUIDE|guide|Tariq|SCRIBE): ", "", t) for t in bare] == shown
    upcoming = [r["line_ids"] for r in records if r["event"] == "upcoming"]
    assert len(upcoming) == sum(r["event"] in ("scene", "choices") for r in records)
    # at the first choice: each choice's opening lines, nearest first
    at_choice = upcoming[1]
    assert {"took_coin", "bell_rang", "gate_frown"} <= set(at_choice)
    assert at_choice.index("bell_rang") < at_choice.index("riddle_q")


def test_a_game_saved_mid_line_continues_with_that_line() -> None:
    story = load_story(LIGHTHOUSE)
    game = open_playthrough(story)
    steps = [game.next(), game.next(), game.next()]
    assert isinstance(steps[0], SceneStep) and isinstance(steps[2], LineStep)
    record = json.loads(json.dumps(game.save()))
    again = open_playthrough(story, record)
    resumed = again.next()
    assert isinstance(resumed, SceneStep) and resumed.resumed and resumed.scene.scene_id == "gallery"
    line = again.next()
    assert isinstance(line, LineStep) and line.line == steps[2].line
    while not isinstance(again.next(), ChoiceStep):
        pass
    again.choose(0)
    assert not isinstance(again.next(), EndStep)


def test_quit_at_a_choice_then_continue(config_file: Path, tmp_path: Path) -> None:
    first = run_engine("play", LIGHTHOUSE, "--pace", "instant", "--config", config_file)  # stdin is empty: quits
    assert first.returncode == 0 and "Progress saved" in first.stdout, first.stderr
    out, records = play(LIGHTHOUSE, LIGHTHOUSE_ENDINGS["The Light Holds"], config_file, tmp_path, "--continue")
    assert records[0] == {**records[0], "event": "scene", "scene": "gallery", "resumed": True}
    lines = spoken(records)
    assert lines[0][1] == "gal_trim"  # the game goes on from the choice, nothing said twice
    assert out.rstrip().endswith("*** The Light Holds ***")
    again = run_engine("play", LIGHTHOUSE, "--continue", "--config", config_file)
    assert again.returncode == 1 and "There is no saved game" in again.stderr  # an ending forgets the save


@pytest.mark.parametrize("ending", sorted(LIGHTHOUSE_ENDINGS))
def test_the_bundled_ink_story_reaches_each_ending(ending: str, config_file: Path, tmp_path: Path) -> None:
    out, records = play(LIGHTHOUSE, LIGHTHOUSE_ENDINGS[ending], config_file, tmp_path)
    assert out.rstrip().endswith(f"*** {ending} ***")
    lines = spoken(records)
    assert {c for c, _, _ in lines} == {"narrator", "keeper", "sailor"}
    ids = [i for _, i, _ in lines]
    assert all("." not in i for i in ids)  # every line has its #id:
    assert not any(t.startswith(("KEEPER:", "Agnes:", "Ren:", "REN:", "SAILOR:")) for _, _, t in lines)


def test_the_bundled_ink_story_is_compiled_from_its_source(tmp_path: Path) -> None:
    compile_ink(LIGHTHOUSE / "story.ink", tmp_path / "story.ink.json")
    fresh = json.loads((tmp_path / "story.ink.json").read_text(encoding="utf-8-sig"))
    assert json.loads((LIGHTHOUSE / "story.ink.json").read_text(encoding="utf-8-sig")) == fresh, \
        "stories/lighthouse/story.ink.json is older than story.ink: run 'make ink'"


def test_the_bundled_ink_story_checks_clean(config_file: Path) -> None:
    result = run_engine("check", LIGHTHOUSE, "--config", config_file)
    assert result.returncode == 0, result.stdout
    (only,) = result.stdout.strip().splitlines()
    assert only.endswith("lighthouse: 0 error(s), 0 warning(s)")


def test_engine_check_names_ink_problems_at_their_place(ink_story: Callable[[str], Path], config_file: Path) -> None:
    result = run_engine("check", ink_story("features"), "--config", config_file)
    assert result.returncode == 0, result.stdout
    assert re.search(r"features/story\.ink:14: warning: 'KNOCK:' looks like a speaker", result.stdout)
    assert re.search(r"features/story\.ink:\d+: warning: 2 of \d+ lines have no #id: tag", result.stdout)


def write_ink(folder: Path, source: str, characters: tuple[str, ...] = ("narrator", "guide")) -> Path:
    (folder / "characters").mkdir(parents=True)
    for name in characters:
        (folder / "characters" / f"{name}.json").write_text(json.dumps({"character_id": name, "display_name": name}))
    (folder / "story.toml").write_text('title = "Bad"\nformat = "ink"\nink = "story.ink.json"\n')
    (folder / "story.ink").write_text(source)
    compile_ink(folder / "story.ink", folder / "story.ink.json")
    return folder


def refused(story: Path, config: Path) -> tuple[str, str]:
    check = run_engine("check", story, "--config", config)
    play = run_engine("play", story, "--choices", "1", "--pace", "instant", "--config", config)
    assert check.returncode == 1 and play.returncode == 1
    assert "Traceback" not in check.stderr + play.stderr
    return check.stdout, play.stderr.strip()


def test_a_speaker_tag_naming_no_profile(tmp_path: Path, config_file: Path) -> None:
    story = write_ink(tmp_path / "s", "Hello. #id:a\nBoo! #speaker:ghost #id:b\n-> END\n")
    check, play = refused(story, config_file)
    assert "s/story.ink:2: speaker 'ghost' has no profile characters/ghost.json" in check
    assert play.startswith("engine: ") and "s/story.ink:2: speaker 'ghost' has no profile" in play


def test_duplicate_id_tags(tmp_path: Path, config_file: Path) -> None:
    story = write_ink(tmp_path / "s", "One. #id:same\n* [Go] Two. #id:other\n-> END\n* [Stay]\nThree. #id:same\n-> END\n")
    check, _ = refused(story, config_file)
    assert "s/story.ink:5: line id 'same' is already used at story.ink:1" in check


@pytest.mark.parametrize(("content", "message"), [
    ('{"title": "not ink"}', "this JSON is not a compiled ink story (no inkVersion and root)"),
    ('{"inkVersion": 22, "root": [["^x", "\\n", "done", null], "done", null]}',
     "it was compiled for ink version 22; this engine plays ink versions 18 to 21"),
    ('{"inkVersion": 21,\n "root": [', "story.ink.json:2: bad JSON"),
    ("Hello.\n* [Go] -> END\n", "this is not compiled ink JSON (ink source?)"),
])
def test_a_file_that_is_not_compiled_ink(content: str, message: str, tmp_path: Path, config_file: Path) -> None:
    story = write_ink(tmp_path / "s", "Hello. #id:a\n-> END\n")
    (story / "story.ink.json").write_text(content)
    check, play = refused(story, config_file)
    assert message in check and message in play
    assert re.search(r"s/story\.ink\.json:\d+: ", check)


def test_a_missing_ink_file_is_named_in_story_toml(tmp_path: Path, config_file: Path) -> None:
    story = write_ink(tmp_path / "s", "Hello. #id:a\n-> END\n")
    (story / "story.ink.json").unlink()
    check, play = refused(story, config_file)
    assert "s/story.toml:3: ink file 'story.ink.json' does not exist" in check


def test_an_external_function_without_an_ink_fallback(tmp_path: Path, config_file: Path) -> None:
    story = write_ink(tmp_path / "s", "EXTERNAL roll()\n-> room\n=== room ===\nYou roll {roll()}. #id:r\n-> END\n")
    check, play = refused(story, config_file)
    assert "s/story.ink:1: EXTERNAL function 'roll' has no ink fallback" in check
    fixed = story / "story.ink"
    fixed.write_text(fixed.read_text() + "=== function roll() ===\n~ return 4\n")
    compile_ink(fixed, story / "story.ink.json")
    result = run_engine("play", story, "--pace", "instant", "--config", config_file)
    assert result.returncode == 0 and "You roll 4." in result.stdout, result.stderr
