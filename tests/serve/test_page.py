"""The page's own behaviour in headless Chromium, voiced by the echo plugin (a tone per line): who reads which
notice, modules, replay, object URLs, the back/forward cache, and the record of played lines."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.serve.test_api import echo_config
from tests.support.common import TOMB, wait_until
from tests.support.serving import Player, Server, until

FASTEST = ["+"] * 12
pytestmark = pytest.mark.xdist_group("browser")
# what the page does with its audio elements and object URLs, seen from outside its module
WATCH = """
window.made = []; window.revoked = []; window.played = [];
const create = URL.createObjectURL, revoke = URL.revokeObjectURL, play = HTMLMediaElement.prototype.play;
URL.createObjectURL = (thing) => { const url = create(thing); window.made.push(url); return url; };
URL.revokeObjectURL = (url) => { window.revoked.push(url); revoke(url); };
HTMLMediaElement.prototype.play = function () { window.played.push(this); return play.call(this); };
"""


@pytest.fixture
def echoed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Server]:
    monkeypatch.setenv("ECHO_OUT", str(tmp_path / "echo.jsonl"))
    running = Server(TOMB, echo_config(tmp_path), tmp_path)
    yield running
    running.stop()


def test_the_player_gets_one_sentence_apart_from_the_story_and_no_operator_notice(echoed: Server, browser: Any) -> None:
    player = Player(browser.new_page(), echoed.url)
    player.press("Enter")
    player.page.wait_for_selector(".line")
    notice = player.page.locator("#player-notice")
    assert notice.inner_text() == "echo voice ready" and notice.get_attribute("role") == "status"
    assert player.page.locator("#log .notice").count() == 0  # nothing but the story in the story
    assert "operator" not in player.page.locator("body").inner_text()
    player.page.close()


def test_the_scripts_are_modules_and_players_get_no_record_of_what_played(echoed: Server, browser: Any) -> None:
    page = browser.new_page()
    page.goto(echoed.url)
    until(page, "document.activeElement && document.activeElement.tagName === 'BUTTON'")
    assert page.evaluate("[...document.scripts].every(script => script.type === 'module')")
    assert page.evaluate("typeof lineAudio === 'undefined' && typeof state === 'undefined'")  # no shared globals
    page.keyboard.press("Enter")
    page.wait_for_selector(".line")
    assert page.evaluate("typeof window.voiceEvents === 'undefined'")
    page.close()


def test_the_record_of_played_lines_stays_bounded(echoed: Server, browser: Any) -> None:
    player = Player(browser.new_page(), echoed.url)
    player.press(*(["+", "-"] * 150))  # each rate change is recorded
    until(player.page, "document.getElementById('rate').textContent === '1×'")
    assert player.page.evaluate("window.voiceEvents.length") == 200
    player.page.close()


def line_fetches(player: Player, number: int) -> int:
    return sum(url.endswith(f"/lines/{number}") for url in player.requests)


def test_replays_do_not_stack_and_follow_rate_and_mute(echoed: Server, browser: Any) -> None:
    player = Player(browser.new_page(), echoed.url, WATCH)
    player.press(*FASTEST, "Enter")
    player.wait_choices()
    last = max(player.ended_lines())
    player.press("r", "r", "r")  # three presses while it plays: one replay
    player.press("-")  # during the replay: it slows down too
    until(player.page, "window.voiceEvents.some(e => e.event === 'replayed')")
    assert line_fetches(player, last) == 2
    assert player.page.evaluate("window.played[window.played.length - 1].playbackRate") == 3.75
    player.press("m", "r")  # muted: nothing is fetched or played
    until(player.page, "document.getElementById('status').textContent.startsWith('Voices are muted')")
    assert line_fetches(player, last) == 2
    player.page.close()


def test_every_object_url_is_revoked(echoed: Server, browser: Any) -> None:
    player = Player(browser.new_page(), echoed.url, WATCH)
    player.press(*FASTEST, "Enter")
    player.wait_choices()
    made = player.page.evaluate("window.made")
    assert len(made) >= 3 and sorted(player.page.evaluate("window.revoked")) == sorted(made)
    player.page.close()


def test_a_page_kept_in_the_back_forward_cache_keeps_its_game(echoed: Server, browser: Any) -> None:
    player = Player(browser.new_page(), echoed.url)
    player.press(*FASTEST, "Enter")
    player.wait_choices()
    player.page.evaluate("window.dispatchEvent(new PageTransitionEvent('pagehide', { persisted: true }))")
    player.press("1")  # the game still answers: it was not closed
    player.page.wait_for_selector(".chosen")
    until(player.page, "document.querySelectorAll('.line').length > 5 && !document.getElementById('status').textContent")
    assert echoed.status()["players"] == 1
    player.page.evaluate("window.dispatchEvent(new PageTransitionEvent('pagehide', { persisted: false }))")
    wait_until(lambda: echoed.status()["players"] == 0, 30, "the game to close")
    player.page.close()


def test_a_piece_of_audio_that_fails_to_append_never_leaves_the_line_waiting(echoed: Server, browser: Any) -> None:
    """The buffer answers the first line's first piece with `error` and no `updateend`: the line is read as text
    instead (recorded as an error) and the game goes on."""
    failing = """
    const append = SourceBuffer.prototype.appendBuffer;
    let failed = false;
    SourceBuffer.prototype.appendBuffer = function (data) {
      if (failed) return append.call(this, data);
      failed = true;
      queueMicrotask(() => this.dispatchEvent(new Event("error")));
    };
    """
    player = Player(browser.new_page(), echoed.url, failing)
    player.press(*FASTEST, "Enter")
    player.wait_choices()
    events = [event for event in player.events() if event["event"] != "rate"]
    assert events[0]["event"] == "error" and events[1]["event"] == "read"
    assert len(player.ended_lines()) == len(player.texts()) - 1  # every other line was heard to its end
    player.page.close()
