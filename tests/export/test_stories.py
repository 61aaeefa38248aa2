"""The bundled stories exported for the web from Piper packs: inkjs in the folder is the release the tests
compile with, byte for byte, its licence beside it; the lighthouse (ink) and the tomb (our format) played to
each ending by keys, every line heard (ink texts that depend on state included); an ink save continued after
a reload."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.support.common import ENDINGS, LIGHTHOUSE, LIGHTHOUSE_ENDINGS, NODE_TOOLS, ROOT, TOMB
from tests.support.serving import Player, story_lines, until
from tests.support.web import Exported, StaticServer

FASTEST = ["+"] * 12
PAGE = ROOT / "engine" / "export" / "page"
pytestmark = pytest.mark.xdist_group("browser")


@pytest.fixture(scope="module")
def lighthouse(tmp_path_factory: pytest.TempPathFactory) -> Exported:
    return Exported.rendered(LIGHTHOUSE, tmp_path_factory.mktemp("lighthouse"))


def test_inkjs_in_the_page_is_the_release_the_tests_compile_with() -> None:
    pinned = re.search(r"^INKJS\s*:=\s*inkjs@(\S+)", (ROOT / "Makefile").read_text(), re.MULTILINE)
    installed = NODE_TOOLS / "inkjs" / "node_modules" / "inkjs"
    if not installed.exists():
        pytest.fail(f"no inkjs at {installed}: run 'make test' (it installs inkjs into .venv/inkjs)")
    assert pinned and json.loads((installed / "package.json").read_text())["version"] == pinned.group(1)
    assert (PAGE / "ink.mjs").read_bytes() == (installed / "dist" / "ink.mjs").read_bytes()
    assert (PAGE / "inkjs-LICENSE.md").read_bytes() == (installed / "LICENSE.md").read_bytes()


def every_line_heard(exported: Exported, prefix: str, browser: Any, choices: list[int], ending: str) -> int:
    """Plays the export by keys to `ending`: every line shown and heard to its end; how many audio requests."""
    server = StaticServer(exported.web, prefix)
    try:
        player = Player(browser.new_page(), server.url, audio="/audio/")
        player.press(*FASTEST, "Enter")
        for number in choices:
            player.wait_choices()
            player.press(str(number))
        assert player.wait_ending() == ending
        texts, _ = story_lines(exported.story, choices)
        assert player.texts() == texts
        assert len(player.ended_lines()) == len(texts) and all(e["event"] != "read" for e in player.events())
        player.page.close()
        return len(player.requests) - len(texts)
    finally:
        server.stop()


@pytest.mark.parametrize("ending", sorted(LIGHTHOUSE_ENDINGS))
def test_the_lighthouse_by_keys_every_line_heard(lighthouse: Exported, browser: Any, ending: str) -> None:
    every_line_heard(lighthouse, "lighthouse", browser, LIGHTHOUSE_ENDINGS[ending], ending)


def test_an_ink_save_continues_after_a_reload(lighthouse: Exported, browser: Any, tmp_path: Path) -> None:
    server = StaticServer(lighthouse.web, "lighthouse")
    try:
        player = Player(browser.new_page(), server.url, audio="/audio/")
        player.press(*FASTEST, "Enter")
        player.wait_choices()
        player.press("3")
        options = player.wait_choices()
        player.page.reload()
        until(player.page, "document.activeElement && document.activeElement.tagName === 'BUTTON'")
        assert player.focused().startswith("Continue: ")  # the autosave
        player.press("Enter")
        assert player.wait_choices() == options
        player.page.close()
    finally:
        server.stop()


@pytest.fixture(scope="module")
def tomb(tmp_path_factory: pytest.TempPathFactory) -> Exported:
    return Exported.rendered(TOMB, tmp_path_factory.mktemp("tomb"))


@pytest.mark.slow
@pytest.mark.parametrize("ending", sorted(ENDINGS))
def test_the_tomb_by_keys_every_line_heard(tomb: Exported, browser: Any, ending: str) -> None:
    extra = every_line_heard(tomb, "games/tomb", browser, ENDINGS[ending], ending)
    assert extra == 0  # each line's audio fetched once, from the folder
