"""Who plays on one server, in process: games bounded per player and on the server, idle games saved and
closed, notices handed over whole."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from engine import hookimpl
from engine.serve.game import BadRequest
from engine.serve.players import Full, NotFound, Shelf
from tests.support.common import ENDINGS
from tests.support.serving import players_for, served_story


def test_one_player_cannot_lock_the_others_out(tmp_path: Path) -> None:
    """Games are limited per player as well as on the server: a player's next game takes the place of their least
    recently used one (saved first), and another player still gets in."""
    story = served_story()
    shelf = Shelf(tmp_path, story)
    players = players_for(story, shelf, 3, per_player=2)
    a, b, c = "a" * 32, "b" * 32, "c" * 32
    first, _ = players.open(a, None)
    players.choose(first, 1)
    second, _ = players.open(a, None)
    first.last_seen, second.last_seen = 1.0, 2.0  # the first is the one least recently used
    third, _ = players.open(a, None)  # replaces the first, not a 503
    assert players.count() == 2
    with pytest.raises(NotFound):
        players.get(a, first.game_id)
    assert players.get(a, third.game_id) is third and players.get(a, second.game_id) is second
    assert [save["slot"] for save in shelf.list(a)] == ["auto"]  # the replaced game was saved
    players.open(b, None)  # another player still gets in: 3 games, the server's most
    with pytest.raises(Full):
        players.open(c, None)
    players.close_all()


def test_no_notice_is_lost_while_voice_threads_add_them_and_answers_take_them(tmp_path: Path) -> None:

    story = served_story()
    players = players_for(story, Shelf(tmp_path, story), 5)
    game, _ = players.open("a" * 32, None)
    taken: list[str] = []
    done = threading.Event()

    def add(thread: int) -> None:
        for n in range(5000):
            game.notice(f"{thread}.{n}")

    def take() -> None:
        while not done.is_set():
            taken.extend(game.take_notices())

    taker = threading.Thread(target=take)
    taker.start()
    adders = [threading.Thread(target=add, args=(thread,)) for thread in range(4)]
    for thread in adders:
        thread.start()
    for thread in adders:
        thread.join(60)
    done.set()
    taker.join(60)
    taken.extend(game.take_notices())
    assert len(taken) == len(set(taken)) == 20000
    players.close_all()


def test_an_idle_game_is_saved_then_closed(tmp_path: Path) -> None:

    story = served_story()
    shelf = Shelf(tmp_path, story)
    players = players_for(story, shelf, 5)
    game, _ = players.open("a" * 32, None)
    players.choose(game, 1)
    assert players.sweep(game.last_seen + 59) == 0 and players.count() == 1  # not idle long enough
    assert players.sweep(game.last_seen + 61) == 1 and players.count() == 0
    assert [save["slot"] for save in shelf.list("a" * 32)] == ["auto"]
    resumed, events = players.open("a" * 32, "auto")
    assert events[0]["resumed"] is True and events[0]["title"] == game.scene_title
    players.close_all()  # saves the resumed game and joins the thread that closed the idle one
    assert players.count() == 0 and not [t for t in threading.enumerate() if t.name.startswith("serve-close")]


class Ends:
    """Records engine_story_ended, per game."""

    def __init__(self) -> None:
        self.ended: list[tuple[str, str | None, str]] = []

    @hookimpl
    def engine_story_ended(self, ending: str | None, reason: str, game: str) -> None:
        self.ended.append((game, ending, reason))


def test_every_way_a_served_game_ends_goes_through_the_drivers_one_end(tmp_path: Path) -> None:
    """Closed, replaced, idle or stopped: engine_story_ended fires once per game, with "ending" for a game that
    reached one; a closed game takes no more moves."""
    story, ends = served_story(), Ends()
    players = players_for(story, Shelf(tmp_path, story), 5, 1, ends)
    finished, _ = players.open("a" * 32, None)
    for number in ENDINGS["Buried Again"]:
        finished.choose(number)
    assert finished.ending == "Buried Again"
    replacing, _ = players.open("a" * 32, None)  # one game per player here: it replaces the finished one
    idle, _ = players.open("b" * 32, None)
    replacing.last_seen = idle.last_seen + 61  # seen just now: only the other one is idle
    assert players.sweep(idle.last_seen + 61) == 1
    closed, _ = players.open("c" * 32, None)
    players.close(closed, "closed")
    players.close_all()
    assert sorted(ends.ended, key=lambda end: end[0]) == sorted([
        (finished.game_id, "Buried Again", "ending"), (idle.game_id, None, "idle"),
        (closed.game_id, None, "closed"), (replacing.game_id, None, "quit")], key=lambda end: end[0])
    with pytest.raises(BadRequest, match="This game is closed"):
        closed.choose(1)
    assert closed.sound(1) is None


def test_a_game_being_opened_holds_up_no_other_player(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Opening a game (reading its save, starting its plugins) happens outside the table's lock: while one is
    held up there, another player's request is answered."""
    story = served_story()
    players = players_for(story, Shelf(tmp_path, story), 5)
    release, held = threading.Event(), threading.Event()
    opening = story.format.open

    def slow_open(*args: object) -> object:
        held.set()
        release.wait(60)
        return opening(*args)

    monkeypatch.setattr(story.format, "open", slow_open)
    first = threading.Thread(target=players.open, args=("a" * 32, None))
    first.start()
    assert held.wait(60)
    counted = threading.Thread(target=players.count)
    counted.start()
    counted.join(30)
    answered = not counted.is_alive()
    release.set()
    first.join(60)
    assert answered and players.count() == 1
    players.close_all()
