"""One driver behind every front end: a plugin that records every hook sees the same game in the terminal
(`engine play`) and in a browser game driven over HTTP (`engine serve`), for our format and for ink."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.support.common import LIGHTHOUSE, LIGHTHOUSE_ENDINGS, TOMB, run_engine, wait_until
from tests.support.serving import Server

CASES = [(TOMB, [2, 1, 3, 2, 1, 2], "The Eternal Treasury"),
         (LIGHTHOUSE, LIGHTHOUSE_ENDINGS["The Light Holds"], "The Light Holds")]


def recorded(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()] if path.exists() else []


def config(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    tmp_path.mkdir(exist_ok=True)
    path.write_text(f'[engine]\nsaves_dir = "{tmp_path / "saves"}"\n'
                    '[plugins]\ndisabled = ["voice"]\nmodules = ["recorder_plugin"]\n', encoding="utf-8")
    return path


def served_game(story: Path, choices: list[int], tmp_path: Path, out: Path,
                monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Plays the choices in a browser game, as the page does (over HTTP); the events the page was sent."""
    monkeypatch.setenv("RECORDER_OUT", str(out))
    server = Server(story, config(tmp_path), tmp_path)
    try:
        client = server.client()
        opened = client.post("/api/games", json={}).json()
        game, events = opened["game"], list(opened["events"])
        for number in choices:
            events += client.post(f"/api/games/{game}/choices", json={"number": number}).json()["events"]
        assert client.post(f"/api/games/{game}/close").status_code == 200
        wait_until(lambda: any(r["event"] == "story_ended" for r in recorded(out)), 60, "the game's end")
    finally:
        server.stop()
    return events


@pytest.mark.parametrize(("story", "choices", "ending"), CASES, ids=["scenes", "ink"])
def test_a_plugin_sees_the_same_game_in_the_terminal_and_in_the_browser(
        story: Path, choices: list[int], ending: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    played_out, served_out = tmp_path / "played.jsonl", tmp_path / "served.jsonl"
    result = run_engine("play", story, "--pace", "instant", "--choices", ",".join(map(str, choices)),
                        "--config", config(tmp_path), RECORDER_OUT=str(played_out))
    assert result.returncode == 0, result.stderr
    sent = served_game(story, choices, tmp_path / "served", served_out, monkeypatch)
    played, served = recorded(played_out), recorded(served_out)
    assert len({r.pop("game") for r in played}) == 1 and len({r.pop("game") for r in served}) == 1
    assert served == played  # every hook, in order: kinds, line ids, speakers, texts, choices, the ending
    kinds = {r["event"] for r in played}
    assert kinds == {"story_loaded", "scene_entered", "upcoming_lines", "narration", "dialogue",
                     "choices_presented", "choice_made", "story_ended"}
    assert played[-1] == {"event": "story_ended", "ending": ending, "reason": "ending"}
    lines = [(r.get("speaker"), r["text"]) for r in played if r["event"] in ("narration", "dialogue")]
    shown = [(e["speaker"] or "Narrator", e["text"]) for e in sent if e["kind"] == "line"]
    assert [text for _, text in shown] == [text for _, text in lines] and len(lines) > 10  # what the page showed
    assert sent[-1] == {"kind": "ending", "title": ending}
