"""A plugin for tests: voices `engine serve`'s games with a tone per line (10 ms per letter) and writes
what it was asked to $ECHO_OUT as JSON lines: the smallest complete engine_serve_voices. With
$ECHO_PIECES set, a line comes a tenth of a second per read, as a line still being made does. With
$ECHO_HOLD set, a line's tone comes at once but the line never ends before its game closes, and closing
a game waits for a file $ECHO_OUT.release (a voice slow to stop: a line half made)."""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Sequence
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
    def __init__(self, trace: Callable[[dict[str, Any]], None]) -> None:
        self.trace = trace
        self.closed = threading.Event()

    def say(self, line: SpokenLine) -> Tone:
        _note({"say": line.text, "speaker": line.speaker})
        self.trace({"event": "echo", "line_id": line.line_id})
        return Tone(line.text, self.closed)

    def prefetch(self, lines: Sequence[SpokenLine]) -> None:
        _note({"prefetch": len(lines)})

    def skip(self, sound: Any) -> None:
        _note({"skip": True})

    def close(self) -> None:
        _note({"close": True})
        self.closed.set()
        if os.environ.get("ECHO_HOLD"):
            release = os.environ["ECHO_OUT"] + ".release"
            while not os.path.exists(release):
                time.sleep(0.02)
            _note({"closed": True})


class EchoVoices:
    def open(self, trace: Callable[[dict[str, Any]], None], notify: Callable[[str], None]) -> EchoGame:
        notify("echo voice ready")
        return EchoGame(trace)

    def close(self) -> None:
        _note({"server_closed": True})


@hookimpl
def engine_serve_voices(context: PlayContext) -> EchoVoices:
    _note({"story": context.story.title})
    return EchoVoices()
