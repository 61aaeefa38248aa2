"""A plugin for tests: voices `engine serve`'s games with a tone per line (10 ms per letter) and writes
what it was asked to $ECHO_OUT as JSON lines: the smallest plugin that voices a browser game through the
per-game hooks (a LineSound from engine_line_delivery and engine_read_aloud). With
$ECHO_PIECES set, a line comes a tenth of a second per read, as a line still being made does. With
$ECHO_HOLD set, a line's tone comes at once but the line never ends before its game closes, and closing
a game waits for a file $ECHO_OUT.release (a voice slow to stop: a line half made)."""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from engine import PlayContext, SpokenLine, hookimpl

RATE = 16000


def _note(record: dict[str, Any]) -> None:
    with open(os.environ["ECHO_OUT"], "a", encoding="utf-8") as handle:
        handle.write(json.dumps(record) + "\n")


class Tone:
    def __init__(self, text: str, closed: threading.Event) -> None:
        self.rate = RATE
        self.closed = closed
        seconds = 0.01 * len(text)
        wave = np.sin(2 * np.pi * 220 * np.arange(int(RATE * seconds)) / RATE) * 8000
        self.pcm = wave.astype("<i2").tobytes()

    def wait(self, timeout: float | None = None) -> bool:
        return not os.environ.get("ECHO_HOLD") or self.closed.wait(timeout)

    def read(self, offset: int, timeout: float) -> tuple[bytes, bool]:
        if os.environ.get("ECHO_HOLD"):
            if offset == 0:
                return self.pcm, False
            return b"", self.closed.wait(timeout)
        if os.environ.get("ECHO_PIECES"):
            piece = self.pcm[offset:offset + RATE // 10 * 2]
            return piece, offset + len(piece) >= len(self.pcm)
        return self.pcm[offset:], True


class EchoGame:
    def __init__(self, context: PlayContext) -> None:
        self.trace = context.trace
        self.closed = threading.Event()
        self.said: dict[str, Tone] = {}
        context.tell_player("echo voice ready")  # for the page
        context.notify("echo: a notice for the operator")  # for the server's console only

    def say(self, line: SpokenLine) -> Tone:
        _note({"say": line.text, "speaker": line.speaker})
        self.trace({"event": "echo", "line_id": line.line_id})
        self.said[line.line_id] = Tone(line.text, self.closed)
        return self.said[line.line_id]

    def close(self, reason: str) -> None:
        _note({"close": True, "reason": reason})
        self.closed.set()
        if os.environ.get("ECHO_HOLD"):
            release = os.environ["ECHO_OUT"] + ".release"
            while not os.path.exists(release):
                time.sleep(0.02)
            _note({"closed": True})


GAMES: dict[str, EchoGame] = {}  # by game id; the server's request threads add and end games
LOCK = threading.Lock()


def _game(game: str) -> EchoGame | None:
    with LOCK:
        return GAMES.get(game)


@hookimpl
def engine_serve_started(context: PlayContext) -> None:
    _note({"story": context.story.title})


@hookimpl
def engine_serve_stopped() -> None:
    _note({"server_closed": True})


@hookimpl
def engine_story_loaded(context: PlayContext) -> None:
    with LOCK:
        GAMES[context.game] = EchoGame(context)


@hookimpl
def engine_upcoming_lines(lines: Sequence[SpokenLine], game: str) -> None:
    _note({"prefetch": len(lines)})


@hookimpl
def engine_narration(line: SpokenLine, game: str) -> None:
    if echo := _game(game):
        echo.say(line)


@hookimpl
def engine_dialogue(line: SpokenLine, game: str) -> None:
    if echo := _game(game):
        echo.say(line)


@hookimpl
def engine_line_delivery(line: SpokenLine, game: str) -> Tone | None:
    echo = _game(game)
    return echo.said.get(line.line_id) if echo else None


@hookimpl
def engine_read_aloud(line: SpokenLine, game: str) -> Tone | None:
    echo = _game(game)
    return echo.say(line) if echo else None


@hookimpl
def engine_line_skipped(line: SpokenLine, game: str) -> None:
    _note({"skip": True})


@hookimpl
def engine_story_ended(ending: str | None, reason: str, game: str) -> None:
    with LOCK:
        echo = GAMES.pop(game, None)
    if echo is not None:
        echo.close(reason)
