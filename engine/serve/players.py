"""Who plays on one server: every game by its id and its player, at most `max_players` at once, idle
ones saved and closed; each player's saves in a folder of their own. A player's id is made here (a random
cookie) and checked against its shape before it names a folder; a slot is one of SLOTS: nothing else a
client sends becomes a path."""

from __future__ import annotations

import json
import logging
import re
import secrets
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from engine.config import EngineSettings
from engine.context import PlayContext
from engine.core.errors import EngineError, SaveError
from engine.core.files import write_atomic
from engine.core.model import Story
from engine.core.saves import save_path
from engine.runner import Driver
from engine.serve.game import BadRequest, Game, Notices

PLAYER = re.compile(r"^[0-9a-f]{32}$")
SLOTS = ("auto", "1", "2", "3")
FORMAT = 1


class NotFound(EngineError):
    """No such game for this player, or no such save (404)."""


class Full(EngineError):
    """The server has its most players (503)."""


class Shelf:
    """One story's saves on this server: <root>/<player>/<slot>.json, written atomically."""

    def __init__(self, saves_dir: Path, story: Story) -> None:
        self.root = save_path(saves_dir / "served", story).with_suffix("")  # the terminal's name for the story

    def put(self, player: str, slot: str, record: dict[str, Any], label: str) -> None:
        saved = {"format": FORMAT, "label": label, "saved_at": datetime.now(UTC).isoformat(timespec="seconds"),
                 "game": record}
        write_atomic(self._path(player, slot), json.dumps(saved).encode())

    def get(self, player: str, slot: str) -> dict[str, Any]:
        path = self._path(player, slot)
        if not path.exists():
            raise NotFound(f"There is no save in slot {slot}.")
        try:
            saved = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            saved = None
        if not isinstance(saved, dict) or saved.get("format") != FORMAT or not isinstance(saved.get("game"), dict):
            raise SaveError(f"The save in slot {slot} is damaged; save over it to use the slot again.")
        return saved

    def list(self, player: str) -> list[dict[str, Any]]:
        found = []
        for slot in SLOTS:
            try:
                saved = self.get(player, slot)
            except (NotFound, SaveError):
                continue
            found.append({"slot": slot, "label": saved.get("label", ""), "saved_at": saved.get("saved_at", "")})
        return found

    def drop(self, player: str, slot: str) -> None:
        self._path(player, slot).unlink(missing_ok=True)

    def _path(self, player: str, slot: str) -> Path:
        if not PLAYER.match(player):
            raise BadRequest("This browser has no player id; reload the page.")
        if slot not in SLOTS:
            raise BadRequest(f"There is no save slot '{slot[:20]}'; use one of {', '.join(SLOTS)}.")
        return self.root / player / f"{slot}.json"


class Players:
    """Every game on the server; called from the server's threads (one lock for the table of games, held only
    to read or change it: a game is opened, saved and closed outside it).

    At most `max_players` games on the server, and `per_player` for one player: a player's next game takes the
    place of their least recently used one (saved first), so one player never locks the others out.

    A closed game ends (engine_story_ended) on the `serve-close` thread (owned here, joined by close_all): a
    plugin stopping its work for the game may wait for a line being made, and no request waits for that."""

    def __init__(self, context: PlayContext, hook: Any, settings: EngineSettings, shelf: Shelf,
                 max_players: int, idle_seconds: float, per_player: int = 3) -> None:
        self.context = context  # the server's: each game's own is made from it (_driver)
        self.story = context.story
        self.hook = hook
        self.settings = settings
        self.shelf = shelf
        self.max_players = max_players
        self.per_player = per_player
        self.opening = 0  # games being opened: counted against max_players before they are in the table
        self.idle_seconds = idle_seconds
        self.trace = context.trace
        self.shared = self.story.format.shared(self.story)  # e.g. ink's parsed runtime, read once for every game
        self.lock = threading.Lock()
        self.games: dict[str, Game] = {}
        self.closer = ThreadPoolExecutor(1, thread_name_prefix="serve-close")
        self.stopping = False

    def open(self, player: str, slot: str | None) -> tuple[Game, list[dict[str, Any]]]:
        """A new game, or the one saved in `slot`; its first events."""
        saved = self.shelf.get(player, slot)["game"] if slot else None
        with self.lock:
            if self.stopping:
                raise Full("This server is stopping; try again when it is back.")
            mine = [game for game in self.games.values() if game.player == player]
            replaced = min(mine, key=lambda game: game.last_seen) if len(mine) >= self.per_player else None
            if replaced is None and len(self.games) + self.opening >= self.max_players:
                raise Full(f"This server has {self.max_players} players, its most; try again in a few minutes.")
            self.opening += 1
        try:
            if replaced is not None:
                self.retire(replaced, "replaced")
            notices = Notices()
            game = Game(self._driver(saved, notices), player, notices, self.settings.directions == "show")
            with self.lock:
                self.games[game.game_id] = game
        finally:
            with self.lock:
                self.opening -= 1
        self.trace({"game": game.game_id, "event": "started", "player": player, "slot": slot})
        return game, game.start()

    def _driver(self, saved: dict[str, Any] | None, notices: Notices) -> Driver:
        """A game's driver, with the game's own PlayContext: its records tagged with its id, its notices on the
        server's console (the player is not the operator), a player's sentence in the page."""
        game_id = secrets.token_hex(16)

        def trace(record: dict[str, Any]) -> None:
            self.trace({"game": game_id, **record})

        def notify(text: str) -> None:
            self.context.notify(f"game {game_id[:8]}: {text}")

        context = replace(self.context, trace=trace, notify=notify, game=game_id, streams_audio=True,
                          tell_player=notices.add)
        return Driver(context, self.hook, self.settings, "read", self.story.format.open(self.story, saved, self.shared))

    def get(self, player: str, game_id: str) -> Game:
        with self.lock:
            game = self.games.get(game_id)
        if game is None or game.player != player:  # another player's game is as unknown as a made-up id
            raise NotFound("This game is not open (it ended, or was closed after a while idle); reload the page.")
        game.last_seen = time.monotonic()
        return game

    def choose(self, game: Game, number: int) -> list[dict[str, Any]]:
        return game.choose(number)

    def save(self, game: Game, slot: str) -> None:
        self.shelf.put(game.player, slot, game.save(), game.scene_title)

    def close(self, game: Game, reason: str) -> None:
        with self.lock:
            if self.games.pop(game.game_id, None) is None:
                return
        try:
            self.closer.submit(_close, game, reason)
        except RuntimeError:  # close_all has joined the closer: closed here
            _close(game, reason)

    def retire(self, game: Game, reason: str) -> None:
        """Closes a game, saved first to its player's `auto` slot unless it has ended."""
        if game.ending is None:
            self.save(game, "auto")
        self.close(game, reason)

    def sweep(self, now: float) -> int:
        """Saves and closes the games idle for longer than idle_seconds; how many."""
        with self.lock:
            idle = [game for game in self.games.values() if now - game.last_seen > self.idle_seconds]
        for game in idle:
            self.retire(game, "idle")
        return len(idle)

    def close_all(self) -> None:
        """The server stops: every game is saved and closed, no new one opens, the closer is joined."""
        with self.lock:
            self.stopping = True
            games = list(self.games.values())
        for game in games:
            self.retire(game, "quit")
        self.closer.shutdown(wait=True)

    def count(self) -> int:
        with self.lock:
            return len(self.games)

    def autosave(self, game: Game) -> None:
        """After every move (once its answer is sent: the write is synced to disk): the `auto` slot follows the
        game, and is gone at its ending. Writes the game as it is now, so two moves' saves never land in the
        wrong order."""
        with game.saving:
            moves, ended = game.moves, game.ending is not None
            if moves == game.saved_moves:
                return
            if ended:
                self.shelf.drop(game.player, "auto")
            else:
                self.save(game, "auto")
            game.saved_moves = moves


def _close(game: Game, reason: str) -> None:
    try:
        game.close(reason)
    except Exception:  # a bug: logged like a request's, the other games still close
        logging.getLogger("engine.serve").exception("closing game %s failed", game.game_id)
