"""The story in a real browser, keys only: every line shown and heard to its end, replay, speech rate,
accessibility (axe-core), saves across a reload and a server restart, two players apart, a closed tab."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.support.common import ENDINGS, LIGHTHOUSE, LIGHTHOUSE_ENDINGS, TOMB, wait_until
from tests.support.serving import Player, Server, axe_violations, serve_config, story_lines, until

FASTEST = ["+"] * 12  # speech at 4x (the page's fastest): the same audio, played in a quarter of the time
pytestmark = pytest.mark.xdist_group("browser")  # one worker plays them one after another (make test: 2 workers)


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


def heard_every_line(player: Player, texts: list[str]) -> None:
    """Each line shown was fetched once and played to its end, none read silently instead."""
    assert player.texts() == texts
    assert all(event["event"] != "read" for event in player.events()), "a line was read without its voice"
    ended = player.ended_lines()
    assert len(ended) == len(set(ended)) == len(texts)
    assert len(set(player.requests)) == len(player.requests) == len(texts)


@pytest.mark.slow
@pytest.mark.parametrize("ending", sorted(ENDINGS))
def test_the_tomb_to_each_ending_by_keys(server: Server, browser: Any, ending: str) -> None:
    context = browser.new_context(bypass_csp=True)  # axe-core is injected as an inline script
    player = Player(context.new_page(), server.url)
    found: dict[str, list[Any]] = {}

    def check(where: str) -> None:
        if where not in found and ending == "Buried Again":  # one walk is enough for the page's states
            found[where] = axe_violations(player.page)

    check("start")
    assert player.focused() == "New game"
    player.press(*FASTEST, "Enter")
    assert play_through(player, ENDINGS[ending], check) == ending
    texts, title = story_lines(TOMB, ENDINGS[ending])
    assert title == ending
    heard_every_line(player, texts)
    if ending == "Buried Again":
        assert found.keys() == {"start", "mid-scene", "choice", "ending"}
        assert all(not violations for violations in found.values()), found
    context.close()


@pytest.mark.slow
def test_the_lighthouse_ink_by_keys(tmp_path: Path, browser: Any) -> None:
    choices = LIGHTHOUSE_ENDINGS["The Empty Rocks"]
    running = Server(LIGHTHOUSE, serve_config(tmp_path), tmp_path)
    try:
        player = Player(browser.new_page(), running.url)
        player.press(*FASTEST, "Enter")
        assert play_through(player, choices) == "The Empty Rocks"
        heard_every_line(player, story_lines(LIGHTHOUSE, choices)[0])
        player.page.close()
    finally:
        running.stop()


@pytest.mark.slow
def test_replay_rate_and_mute(server: Server, browser: Any) -> None:
    player = Player(browser.new_page(), server.url)
    player.press(*FASTEST, "Enter")
    player.wait_choices()
    assert player.focused().startswith("1. ")  # focus moved to the choices
    fetched = len(player.requests)
    player.press("-", "-")  # 3.5x: the element's rate, nothing fetched again
    assert player.page.locator("#rate").inner_text() == "3.5×" and len(player.requests) == fetched
    player.press("r")
    until(player.page, "window.voiceEvents.some(e => e.event === 'replayed')")
    last = max(player.ended_lines())
    assert [e["line"] for e in player.events() if e["event"] == "replayed"] == [last]
    assert player.requests[-1].endswith(f"/lines/{last}")  # the line kept on the server, fetched again
    player.press("m", "1")  # muted: the next lines are read, not fetched
    player.wait_choices()
    after = len(player.requests)
    assert after == fetched + 1 and any(e["event"] == "read" for e in player.events())
    assert player.page.evaluate("localStorage.getItem('muted')") == "1"
    player.page.close()


def game_of(player: Player) -> str:
    return player.requests[0].split("/api/games/", 1)[1].split("/", 1)[0]


@pytest.mark.slow
def test_two_players_at_once_see_only_their_own(server: Server, browser: Any) -> None:
    first, second = browser.new_context(), browser.new_context()
    one, two = Player(first.new_page(), server.url), Player(second.new_page(), server.url)
    for player in (one, two):
        player.press(*FASTEST, "Enter")
    for player in (one, two):
        player.wait_choices()
    one.press("1")
    two.press("2")
    for player in (one, two):
        player.wait_choices()
    assert server.status()["players"] == 2
    assert one.texts() == story_lines(TOMB, [1, 1, 1, 1, 1, 1, 1, 1])[0][:len(one.texts())]
    assert two.texts() == story_lines(TOMB, [2, 1, 1, 1, 1, 1, 1, 1])[0][:len(two.texts())]
    assert one.texts() != two.texts() and game_of(one) != game_of(two)
    assert all(game_of(one) in url for url in one.requests) and all(game_of(two) in url for url in two.requests)
    stolen = second.request.get(one.requests[-1])  # the other player's audio, by its exact address
    assert stolen.status == 404
    one.press("s", "1")
    until(one.page, "document.getElementById('status').textContent === 'Saved in slot 1.'")
    assert [save["slot"] for save in second.request.get(server.base + "api/saves").json()["saves"]] == ["auto"]
    first.close()
    second.close()


@pytest.mark.slow
def test_save_and_continue_across_a_reload_and_a_restart(tmp_path: Path, browser: Any) -> None:
    config = serve_config(tmp_path)
    running = Server(TOMB, config, tmp_path)
    context = browser.new_context()
    try:
        player = Player(context.new_page(), running.url)
        player.press(*FASTEST, "Enter")
        player.wait_choices()
        player.press("2")
        options = player.wait_choices()
        player.press("s", "3")
        until(player.page, "document.getElementById('status').textContent === 'Saved in slot 3.'")
        player.page.reload()
        until(player.page, "document.activeElement && document.activeElement.tagName === 'BUTTON'")
        assert player.focused().startswith("Continue: ")
        player.press("Enter")
        assert player.wait_choices() == options
    finally:
        running.stop()
    running = Server(TOMB, config, tmp_path)  # a new process, another port: the saves are on disk
    try:
        page = context.new_page()
        again = Player(page, running.url)
        assert again.focused().startswith("Continue: ")
        assert page.locator("#start-buttons button").all_inner_texts()[1].startswith("Load slot 3: ")
        again.press("Enter")
        assert again.wait_choices() == options
        context.close()
    finally:
        running.stop()


def voices(status: dict[str, Any]) -> int:
    """The voice plugin's threads among the server's (plugins/voice/session.py names them)."""
    return sum(name.startswith("voice-") for name in status["thread_names"])


@pytest.mark.slow
def test_a_tab_closed_mid_line_ends_its_game_and_its_threads(server: Server, browser: Any) -> None:
    idle = server.status()
    page = browser.new_page()
    player = Player(page, server.url)
    player.press("Enter")  # speech at 1x: the first line is still playing when the tab closes
    page.wait_for_selector(".line")
    assert player.events() == [] and server.status()["players"] == 1
    assert voices(server.status()) > voices(idle)  # its speaker and prefetch
    page.close(run_before_unload=True)
    wait_until(lambda: server.status()["players"] == 0, 30, "the game to close")
    wait_until(lambda: voices(server.status()) == voices(idle), 30, "its threads to end")
