"""The page's runtime for our scene format (engine/export/page/scenes.js, run by node) plays exactly what the
engine plays: for every path to every ending of the tomb and of the crypt, and for 200 random walks over
three generated stories, the same scenes, lines (ids, speakers, texts, directions), choices and endings as
the driver's --trace records."""

from __future__ import annotations

import json
import random
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from engine.config import Config, EngineSettings
from engine.context import PlayContext
from engine.core.errors import EngineError
from engine.export.story_data import story_data
from engine.formats import open_playthrough
from engine.loader import load_story
from engine.plugins import make_plugin_manager
from engine.runner import ChoicePoint, Driver
from engine.trace import TracePlugin
from tests.support.common import CRYPT, ENDINGS, ROOT, TOMB
from tests.support.story_gen import write_story

RUNTIME = ROOT / "engine" / "export" / "page" / "scenes.js"
WALKER = ROOT / "tests" / "support" / "scenes_walk.mjs"
KEPT = {"scene": ("scene", "resumed"), "narration": ("line_id", "character_id", "speaker", "text", "directions",
                                                     "qualifier"),
        "choices": ("options",), "choice": ("choice", "label", "target"), "ended": ("ending",)}
KEPT["dialogue"] = KEPT["narration"]


class Records:
    def __init__(self) -> None:
        self.kept: list[dict[str, Any]] = []

    def write(self, record: dict[str, Any]) -> None:
        record = json.loads(json.dumps(record))  # as the --trace file holds it
        event = record["event"]
        if event in KEPT and not (event == "ended" and record["reason"] != "ending"):
            self.kept.append({"event": event, **{key: record[key] for key in KEPT[event]}})


class Quiet:
    def show_scene(self, scene: Any, resumed: bool) -> None: ...
    def show_line(self, line: Any) -> None: ...
    def pause(self, seconds: float, waits: Any) -> str:
        return "done"


def engine_walk(story: Any, pick: Callable[[int], int], most: int) -> tuple[list[int], list[dict[str, Any]]]:
    """The driver plays the story, `pick(count)` choosing (1-based) at most `most` times: (choices, records)."""
    records = Records()
    pm = make_plugin_manager(Config({"plugins": {"disabled": ["voice"]}}))
    pm.register(TracePlugin(records))  # type: ignore[arg-type]
    driver = Driver(PlayContext(story, Config(), game="walk"), pm.hook, EngineSettings(), "instant",
                    open_playthrough(story))
    choices: list[int] = []
    try:
        stop = driver.advance(Quiet())
        while isinstance(stop, ChoicePoint) and len(choices) < most:
            choices.append(pick(len(stop.options)))
            driver.choose(stop.options[choices[-1] - 1])
            stop = driver.advance(Quiet())
    except EngineError as exc:  # a generated story may corner itself: both must stop there
        records.kept.append({"event": "error", "text": str(exc)})
    driver.end("out_of_choices")
    return choices, records.kept


def scripted(path: list[int]) -> Callable[[int], int]:
    answers = iter(path)
    return lambda count: next(answers)


def page_walks(story: Any, walks: list[list[int]]) -> list[list[dict[str, Any]]]:
    node = shutil.which("node")
    if node is None:
        pytest.fail("no node: 'make test' needs nodejs (it runs inkjs's compiler too)")
    data = json.dumps({"runtime": str(RUNTIME), "story": story_data(story), "walks": walks})
    done = subprocess.run([node, str(WALKER)], input=data, capture_output=True, text=True, timeout=120, check=True)
    return list(json.loads(done.stdout))


def same(engine: list[dict[str, Any]], page: list[dict[str, Any]]) -> bool:
    if engine and engine[-1]["event"] == "error":  # the same corner: the page stops there too, in its words
        return page[-1]["event"] == "error" and engine[:-1] == page[:-1]
    return engine == page


def test_every_ending_of_the_tomb_and_the_crypt_plays_the_same_in_the_page() -> None:
    for folder, endings in ((TOMB, ENDINGS), (CRYPT, {"god": [1], "home": [2]})):
        story = load_story(folder)
        walks = [engine_walk(story, scripted(path), 99) for path in endings.values()]
        played = page_walks(story, [choices for choices, _ in walks])
        for (choices, records), page in zip(walks, played, strict=True):
            assert records[-1]["event"] == "ended" and page == records, (folder.name, choices)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_walks_over_generated_stories_play_the_same_in_the_page(seed: int, tmp_path: Path) -> None:
    story = load_story(write_story(tmp_path / "story", 14, seed))
    rng = random.Random(seed)
    walks = [engine_walk(story, lambda count: rng.randint(1, count), rng.randint(1, 25)) for _ in range(67)]
    played = page_walks(story, [choices for choices, _ in walks])
    for (choices, records), page in zip(walks, played, strict=True):
        assert same(records, page), (seed, choices, records[-3:], page[-3:])
    ends = [records[-1]["event"] for _, records in walks]
    assert ends.count("ended") >= 3 and ends.count("ended") + ends.count("error") < len(ends), ends  # all kinds
