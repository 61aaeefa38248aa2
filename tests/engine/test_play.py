"""`engine play` end to end: endings, traces, saves, and a real pseudo-terminal."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pexpect
import pytest

from engine.core.directions import shown as directions_shown
from tests.support.common import ENDINGS, ROOT, TOMB, engine_env, run_engine


@pytest.mark.parametrize("ending", sorted(ENDINGS))
def test_each_ending_is_reached_with_a_full_trace(ending: str, tmp_path: Path, config_file: Path) -> None:
    trace = tmp_path / "t.jsonl"
    choices = ",".join(map(str, ENDINGS[ending]))
    result = run_engine("play", TOMB, "--choices", choices, "--pace", "instant", "--trace", trace,
                        "--config", config_file)
    assert result.returncode == 0, result.stderr
    assert result.stdout.rstrip().endswith(f"*** {ending} ***")
    records = [json.loads(line) for line in trace.read_text(encoding="utf-8").splitlines()]
    spoken = [r for r in records if r["event"] in ("narration", "dialogue")]
    # every line printed on the screen is in the trace, with its ids, in the same order
    printed = [line for line in result.stdout.splitlines()
               if line and not line.startswith(("—", "  ", "> ", "***", "(", "The Tomb"))]
    said = [" ".join(filter(None, (directions_shown(tuple(r["directions"])), r["text"]))) for r in spoken]
    who = [f"{r['speaker']}{' (' + r['qualifier'] + ')' if r['qualifier'] else ''}: " for r in spoken]
    shown = [text if r["event"] == "narration" else name + text for r, name, text in zip(spoken, who, said, strict=True)]
    assert printed == shown
    assert all(r["line_id"] and r["character_id"] and r["scene"] for r in spoken)
    times = [r["t_ms"] for r in records]
    assert times == sorted(times)
    assert records[-1]["event"] == "ended" and records[-1]["ending"] == ending
    assert [r["choice"] for r in records if r["event"] == "choice"] == ENDINGS[ending]


def test_state_changes_what_is_said(tmp_path: Path, config_file: Path) -> None:
    def said(choices: list[int]) -> str:
        result = run_engine("play", TOMB, "--choices", ",".join(map(str, choices)), "--pace", "instant",
                            "--config", config_file)
        return result.stdout

    angry, calm = said(ENDINGS["Buried Again"]), said(ENDINGS["The Sun Rises on Time"])
    assert "The steps are hot beneath your boots." in angry and "The steps are hot" not in calm
    assert "Khepri-Anu. That is the name my grandmother gave me." in calm
    assert "I know a hundred stories, but not that one." in angry


def spawn(config: Path, *extra: str, cwd: Path = ROOT) -> pexpect.spawn:
    child = pexpect.spawn(sys.executable, ["-m", "engine", "play", str(TOMB), "--config", str(config), *extra],
                          cwd=str(cwd), env=engine_env(), encoding="utf-8", timeout=30, dimensions=(40, 160))
    return child


def test_terminal_play_by_typing_numbers_and_words(config_file: Path) -> None:
    child = spawn(config_file, "--pace", "instant")
    child.expect("Make camp and wait for dawn")
    child.expect("> ")
    child.sendline("camp")  # a word of the choice
    child.expect("Whisper the name to the door")
    child.expect("> ")
    child.sendline("the")  # fits two choices: asks again
    child.expect("type its number")
    child.sendline("whisper")
    child.expect("It is possible. It is polite.")
    child.expect("> ")
    child.sendline("7")
    child.expect("Type a number from 1 to 3")
    for answer in ["2", "1", "2", "1", "1"]:
        child.expect("> ")
        child.sendline(answer)
    child.expect(r"\*\*\* The Sun Rises on Time \*\*\*")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0


def test_quit_saves_and_continue_resumes(config_file: Path) -> None:
    child = spawn(config_file, "--pace", "instant")
    for answer in ["2", "1"]:
        child.expect("> ")
        child.sendline(answer)
    child.expect("Take the golden scarab")
    child.expect("> ")
    child.sendline("q")
    child.expect("Progress saved")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0

    child = spawn(config_file, "--pace", "instant", "--continue")
    child.expect("The Hall of Pillars")
    child.expect("Take the golden scarab")
    for answer in ["3", "2", "1", "1"]:  # footprints, thank her, go down, tell the truth
        child.expect("> ")
        child.sendline(answer)
    # the camp set `knows_name` before the save: the guide still remembers it at the end
    child.expect("And one name we will never print.")
    child.expect(r"\*\*\* The Sun Rises on Time \*\*\*")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    again = run_engine("play", TOMB, "--continue", "--config", config_file)
    assert again.returncode == 1 and "There is no saved game" in again.stderr


def test_enter_skips_and_q_quits_during_a_line(tmp_path: Path, config_file: Path) -> None:
    config_file.write_text(config_file.read_text().replace("[engine]\n", "[engine]\nwords_per_minute = 5\n"))
    trace = tmp_path / "t.jsonl"
    child = spawn(config_file, "--pace", "read", "--trace", str(trace))
    child.expect("copper")
    child.sendline("")
    child.expect("like a tooth")
    child.sendline("q")
    child.expect("Progress saved")
    child.expect(pexpect.EOF)
    records = [json.loads(line) for line in trace.read_text().splitlines()]
    assert {"event": "skip", "line_id": "dunes.1"} in [{k: v for k, v in r.items() if k != "t_ms"} for r in records]
    assert records[-1]["reason"] == "quit"
    resumed = spawn(config_file, "--pace", "instant", "--continue")
    resumed.expect("The Dunes at Dusk")
    resumed.expect("A stone doorway")  # the interrupted line is shown again
    resumed.terminate(force=True)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["play", "stories/nowhere"], "There is no story folder at stories/nowhere"),
        (["play", "README.md"], "There is no story folder"),
        (["play", "stories/tomb", "--choices", "1,x"], "--choices takes numbers"),
        (["play", "stories/tomb", "--config", "missing.toml"], "The config file missing.toml does not exist."),
        (["check", "docs"], "docs is not a story folder: it has no story.toml."),
    ],
)
def test_expected_failures_are_one_sentence(args: list[str], message: str) -> None:
    result = run_engine(*args)
    assert result.returncode != 0
    assert message in result.stderr and "Traceback" not in result.stderr


def test_bad_config_is_one_sentence(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    for text, message in [("[engine\n", "is not valid TOML"), ('[engine]\npace = "fast"\n', "pace must be one of"),
                          ("[engine]\nwords_per_minute = 0\n", "[engine] words_per_minute must be 1 or more, not 0"),
                          ("[engine]\nspeed = 2\n", "[engine] has unknown keys ['speed']"),
                          ('[engine]\nmin_pause = "long"\n', "[engine] min_pause must be a number, not 'long'"),
                          ("[plugins]\nmodules = ['no_such_plugin']\n", "could not be loaded")]:
        config.write_text(text)
        result = run_engine("play", TOMB, "--pace", "instant", "--config", config)
        assert result.returncode == 1 and message in result.stderr, result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
