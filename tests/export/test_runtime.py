"""The page's runtimes (engine/export/page/scenes.js for our format, ink_game.js over inkjs for ink), run in
headless Chromium, play exactly what the engine plays: for every path to every ending of the tomb, the crypt
and the lighthouse (against `engine play --trace`), and for 200 random walks over three generated stories of
each format (against the driver's records from the same trace plugin, in process), the same scenes and
headings, lines (ids, speakers, texts, directions, qualifiers, tags), choices and endings."""

from __future__ import annotations

import json
import random
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from engine.config import Config, EngineSettings
from engine.context import PlayContext
from engine.core.errors import EngineError
from engine.export.story_data import story_data
from engine.formats import open_playthrough
from engine.formats.registry import known_formats
from engine.loader import load_story
from engine.plugins import make_plugin_manager
from engine.runner import ChoicePoint, Driver
from engine.trace import TracePlugin
from tests.support.common import CRYPT, ENDINGS, LIGHTHOUSE, LIGHTHOUSE_ENDINGS, ROOT, TOMB, run_engine
from tests.support.ink_gen import write_ink_story
from tests.support.story_gen import write_story
from tests.support.web import StaticServer

PAGE = ROOT / "engine" / "export" / "page"
RUNTIMES = {"scenes": ("scenes.js", "ScenesGame"), "ink": ("ink_game.js", "InkGame")}
WALKER = ROOT / "tests" / "support" / "page_walk.mjs"
pytestmark = pytest.mark.xdist_group("browser")
KEPT = {"scene": ("scene", "resumed"), "narration": ("line_id", "character_id", "speaker", "text", "directions",
                                                     "qualifier"),
        "choices": ("options",), "choice": ("choice", "label", "target"), "ended": ("ending",)}
KEPT["dialogue"] = KEPT["narration"]
INK_KEPT = {**KEPT, "narration": (*KEPT["narration"], "tags"), "dialogue": (*KEPT["narration"], "tags")}


class Records:
    def __init__(self, kept: dict[str, tuple[str, ...]]) -> None:
        self.fields = kept
        self.kept: list[dict[str, Any]] = []

    def write(self, record: dict[str, Any]) -> None:
        record = json.loads(json.dumps(record))  # as the --trace file holds it
        event = record["event"]
        if event in self.fields and not (event == "ended" and record["reason"] != "ending"):
            self.kept.append({"event": event, **{key: record[key] for key in self.fields[event]}})


class Shown:
    """The front end: keeps each scene's heading as shown (after its scene record), nothing else."""

    def __init__(self, records: Records) -> None:
        self.records = records

    def show_scene(self, scene: Any, resumed: bool) -> None:
        self.records.kept.append({"event": "heading", "title": scene.title})

    def show_line(self, line: Any) -> None: ...
    def pause(self, seconds: float, waits: Any) -> str:
        return "done"


def engine_walk(story: Any, pick: Callable[[int], int], most: int) -> tuple[list[int], list[dict[str, Any]]]:
    """The driver plays the story, `pick(count)` choosing (1-based) at most `most` times: (choices, records)."""
    records = Records(INK_KEPT if story.format.name == "ink" else KEPT)
    pm = make_plugin_manager(Config({"plugins": {"disabled": ["voice"]}}))
    pm.register(TracePlugin(records))  # type: ignore[arg-type]
    driver = Driver(PlayContext(story, Config(), game="walk"), pm.hook, EngineSettings(), "instant",
                    open_playthrough(story))
    choices: list[int] = []
    try:
        stop = driver.advance(Shown(records))
        while isinstance(stop, ChoicePoint) and len(choices) < most:
            choices.append(pick(len(stop.options)))
            driver.choose(stop.options[choices[-1] - 1])
            stop = driver.advance(Shown(records))
    except EngineError as exc:  # a generated story may corner itself: both must stop there
        records.kept.append({"event": "error", "text": str(exc)})
    driver.end("out_of_choices")
    return choices, records.kept


def scripted(path: list[int]) -> Callable[[int], int]:
    answers = iter(path)
    return lambda count: next(answers)


@pytest.fixture(scope="module")
def page(browser: Any) -> Iterator[Any]:
    """A page on a static server holding the runtimes (page/) and the walker (walk/), which it imports."""
    root = Path(tempfile.mkdtemp(prefix="runtimes-"))
    (root / "page").symlink_to(PAGE, target_is_directory=True)
    (root / "walk.mjs").symlink_to(WALKER)
    (root / "index.html").write_text("<!doctype html><title>runtimes</title>")
    server = StaticServer(root, "site")
    opened = browser.new_page()
    opened.goto(server.url)
    yield opened
    opened.close()
    server.stop()


def page_walks(page: Any, story: Any, walks: list[list[int]]) -> list[list[dict[str, Any]]]:
    runtime, game = RUNTIMES[story.format.name]
    played = page.evaluate("""async ([runtime, game, story, walks]) => {
        const [{ playWalks }, module] = await Promise.all([import("./walk.mjs"), import(`./page/${runtime}`)]);
        return playWalks(module[game], story, walks);
    }""", [runtime, game, story_data(story), walks])
    return list(played)


def same(engine: list[dict[str, Any]], page: list[dict[str, Any]]) -> bool:
    if engine and engine[-1]["event"] == "error":  # the same corner: the page stops there too, in its words
        return page[-1]["event"] == "error" and engine[:-1] == page[:-1]
    return engine == page


def played_in_the_terminal(folder: Path, choices: list[int], tmp_path: Path) -> list[dict[str, Any]]:
    """`engine play --trace`'s records for these choices, kept as Records keeps them."""
    config, trace = tmp_path / "config.toml", tmp_path / "trace.jsonl"
    config.write_text('[plugins]\ndisabled = ["voice"]\n')
    done = run_engine("play", folder, "--pace", "instant", "--choices", ",".join(map(str, choices)), "--trace", trace,
                      "--config", config)
    assert done.returncode == 0, done.stderr
    records = Records(INK_KEPT if folder == LIGHTHOUSE else KEPT)
    for line in trace.read_text().splitlines():
        records.write(json.loads(line))
    return records.kept


def test_every_ending_of_the_tomb_the_crypt_and_the_lighthouse_plays_the_same_in_the_page(page: Any,
                                                                                          tmp_path: Path) -> None:
    for folder, endings in ((TOMB, ENDINGS), (CRYPT, {"god": [1], "home": [2]}), (LIGHTHOUSE, LIGHTHOUSE_ENDINGS)):
        story = load_story(folder)
        walks = [engine_walk(story, scripted(path), 99) for path in endings.values()]
        played = page_walks(page, story, [choices for choices, _ in walks])
        for (choices, records), shown in zip(walks, played, strict=True):
            assert records[-1]["event"] == "ended" and shown == records, (folder.name, choices)
            terminal = played_in_the_terminal(folder, choices, tmp_path)
            assert [r for r in shown if r["event"] != "heading"] == terminal, (folder.name, choices)


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("kind", ["scenes", "ink"])
def test_random_walks_over_generated_stories_play_the_same_in_the_page(kind: str, seed: int, page: Any,
                                                                       tmp_path: Path) -> None:
    write = write_ink_story if kind == "ink" else write_story
    story = load_story(write(tmp_path / "story", 14, seed), known_formats(make_plugin_manager(Config())))
    rng = random.Random(seed)
    walks = [engine_walk(story, lambda count: rng.randint(1, count), rng.randint(1, 25)) for _ in range(67)]
    played = page_walks(page, story, [choices for choices, _ in walks])
    for (choices, records), shown in zip(walks, played, strict=True):
        assert same(records, shown), (seed, choices, records[-3:], shown[-3:])
    ends = [records[-1]["event"] for _, records in walks]
    lines = sum(r["event"] in ("narration", "dialogue") for _, records in walks for r in records)
    assert ends.count("ended") >= 1 and lines > 300, (ends, lines)  # an ending reached, and long walks too
