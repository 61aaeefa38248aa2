"""The story in a real browser, keys only: every line shown and heard to its end, replay, speech rate,
accessibility (axe-core), saves across a reload and a server restart, two players apart, a closed tab."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import ENDINGS, TOMB
from tests.serve.conftest import Player, Server, axe_violations, story_lines

FASTEST = ["+"] * 8  # speech at 3x (the page's fastest): the same audio, played in a third of the time


def play_through(player: Player, choices: list[int], check: Any = None) -> str:
    """Chooses by number keys; `check(where)` runs at the first line, each choice and the ending."""
    player.page.wait_for_selector(".line")
    if check:
        check("mid-scene")
    for number in choices:
        player.wait_choices()
        if check:
            check("choice")
        player.press(str(number))
    ending = player.wait_ending()
    if check:
        check("ending")
    return ending


@pytest.mark.slow
@pytest.mark.parametrize("ending", sorted(ENDINGS))
def test_the_tomb_to_each_ending_by_keys(server: Server, browser: Any, ending: str) -> None:
    context = browser.new_context(bypass_csp=True)  # axe-core is injected as an inline script
    player = Player(context.new_page(), server.url)
    found: dict[str, list[Any]] = {}

    def check(where: str) -> None:
        if where not in found:
            found[where] = axe_violations(player.page)

    check("start")
    assert player.focused() == "New game"
    player.press(*FASTEST, "Enter")
    assert play_through(player, ENDINGS[ending], check) == ending
    texts, title = story_lines(TOMB, ENDINGS[ending])
    assert player.texts() == texts and title == ending
    spoken = {event["line"] for event in player.events() if event["event"] in ("ended", "read")}
    lines = player.page.evaluate("document.querySelectorAll('.line').length")
    assert len(spoken) == lines == len(texts)
    assert all(event["event"] != "read" for event in player.events()), "a line was read without its voice"
    assert sorted(player.ended_lines()) == sorted(set(player.ended_lines()))  # each played once, to its end
    assert len({url for url in player.requests}) == len(player.requests) == len(texts)  # each fetched once
    assert found.keys() == {"start", "mid-scene", "choice", "ending"}
    assert all(not violations for violations in found.values()), found
    context.close()
