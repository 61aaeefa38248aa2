"""Faults inside a game, for the soak (bench/soak.py and tests/voice/test_whole.py).

Loaded through `[plugins] modules = ["chaos_plugin"]`. Settings come from $CHAOS (JSON):
seed, rates of each fault, and `report`, a file that gets what the process saw at exit
(Python threads and open file descriptors at start and end, faults injected).
Faults are injected where the real failure would come from: inside Piper's, Kokoro's, XTTS's and
Pocket TTS's own calls (exceptions, CUDA out-of-memory), in the cache's file writes (ENOSPC),
and in the sound card (a sink that fails once). What cannot happen here: a real CUDA error.
`listening`: the sink takes as long as the audio lasts, like a sound card (a player who listens).
"""

from __future__ import annotations

import atexit
import errno
import faulthandler
import json
import os
import random
import signal
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import numpy as np

from engine import PlayContext, hookimpl
from plugins.voice.core.errors import NoAudioDevice
from plugins.voice.output.sinks import NullSink

SETTINGS: dict[str, Any] = json.loads(os.environ.get("CHAOS", "{}"))
RANDOM = random.Random(SETTINGS.get("seed", 7))
LOCK = threading.Lock()
INJECTED: Counter[str] = Counter()
SEEN: dict[str, str] = {}  # every thread alive at a line or at a choice (the busiest moments): name -> its code's module
def _fds() -> list[str]:
    found = []
    for fd in sorted(os.listdir("/proc/self/fd"), key=int):
        try:
            found.append(os.readlink(f"/proc/self/fd/{fd}"))
        except OSError:
            continue  # the listing's own descriptor, closed meanwhile
    return found


START = {"threads": [t.name for t in threading.enumerate()], "fds": _fds()}
faulthandler.register(signal.SIGUSR1, all_threads=True)  # the soak asks for every thread's stack on a hang


def _roll(kind: str) -> bool:
    with LOCK:
        hit = RANDOM.random() < float(SETTINGS.get(kind, 0.0))
        if hit:
            INJECTED[kind] += 1
    return hit


def _report() -> None:
    path = SETTINGS.get("report")
    if not path:
        return
    end = {"threads": [t.name for t in threading.enumerate()], "fds": _fds()}
    with open(path, "w", encoding="utf-8") as handle:
        json.dump({"start": START, "end": end, "injected": dict(INJECTED), "seen": sorted(SEEN), "seen_in": SEEN}, handle)


atexit.register(_report)


def _patch_piper() -> None:
    from piper import PiperVoice

    real = PiperVoice.synthesize

    def synthesize(self: Any, text: str, *args: Any, **kwargs: Any) -> Iterator[Any]:
        for number, chunk in enumerate(real(self, text, *args, **kwargs)):
            if number == 0 and len(text) > 40 and _roll("piper_error"):
                raise RuntimeError("chaos: onnxruntime failed in the middle of a line")
            yield chunk

    PiperVoice.synthesize = synthesize  # type: ignore[method-assign]


def _patch_kokoro() -> None:
    try:
        from kokoro_onnx import Kokoro
    except ImportError:
        return
    real = Kokoro.create

    def create(self: Any, *args: Any, **kwargs: Any) -> Any:
        if _roll("kokoro_error"):
            raise RuntimeError("chaos: Kokoro failed")
        return real(self, *args, **kwargs)

    Kokoro.create = create  # type: ignore[method-assign]


def _patch_xtts() -> None:
    """Patches the loaded model (on XTTS's own thread), so torch is not imported here first:
    that would hide an import race the soak is meant to catch."""
    from plugins.voice.engines.xtts import model as xtts_model

    real_build = xtts_model.build

    def build(settings: Any) -> Any:
        loaded = real_build(settings)
        loaded.streamer = ChaosStreamer(loaded.streamer)
        return loaded

    xtts_model.build = build


class ChaosStreamer:
    """Our streaming loop, with faults rolled per line; the rest (its warm-up steps) is the real one's."""

    def __init__(self, real: Any) -> None:
        self.real = real

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    def __call__(self, *args: Any, **kwargs: Any) -> Iterator[Any]:
        import torch

        if _roll("xtts_oom"):
            raise torch.cuda.OutOfMemoryError("chaos: CUDA out of memory")
        for number, chunk in enumerate(self.real(*args, **kwargs)):
            if number == 1 and _roll("xtts_error"):
                raise RuntimeError("chaos: XTTS failed in the middle of a line")
            yield chunk


def _patch_pocket() -> None:
    """Pocket TTS's streaming loop, with a fault rolled per part of a line (after its first chunk)."""
    from plugins.voice.engines.pocket import stream

    real_speak = stream.speak

    def speak(*args: Any, **kwargs: Any) -> Iterator[Any]:
        for number, chunk in enumerate(real_speak(*args, **kwargs)):
            if number == 1 and _roll("pocket_error"):
                raise RuntimeError("chaos: Pocket TTS failed in the middle of a line")
            yield chunk

    stream.speak = speak


def _patch_cache() -> None:
    from plugins.voice.store import cache

    real = cache.write_atomic

    def write_atomic(path: Any, data: bytes) -> None:
        if _roll("enospc"):
            raise OSError(errno.ENOSPC, "No space left on device (chaos)")
        real(path, data)

    cache.write_atomic = write_atomic  # type: ignore[assignment]


class FlakySink(NullSink):
    """Plays nothing, like the null sink, but its device fails once (a sound card unplugged)."""

    name = "flaky"

    def write(self, pcm: np.ndarray) -> None:
        if _roll("sink_error"):
            raise NoAudioDevice("chaos: the sound card went away")


class ListeningSink(FlakySink):
    """Takes as long as a sound card to play what it is given (a player who listens, so prefetch has
    the time it would have): a write returns once the audio before it has played, drain once all of it has."""

    name = "listening"

    def __init__(self, rate: int) -> None:
        self.rate = rate
        self.until = 0.0  # when the audio written so far ends, on the monotonic clock
        self.cuts = 0  # stop() count: a wait ends early when it changes
        self.changed = threading.Condition()

    def write(self, pcm: np.ndarray) -> None:
        super().write(pcm)
        with self.changed:
            start = max(self.until, time.monotonic())
            self.until = start + len(pcm) / self.rate
        self._wait(start)

    def drain(self) -> None:
        self._wait(self.until)

    def stop(self) -> None:
        with self.changed:
            self.until = 0.0
            self.cuts += 1
            self.changed.notify_all()

    def _wait(self, moment: float) -> None:
        with self.changed:
            cuts = self.cuts
            while self.cuts == cuts and (left := moment - time.monotonic()) > 0:
                self.changed.wait(left)


def _patch_sink() -> None:
    from plugins.voice import session

    listening = bool(SETTINGS.get("listening"))
    session.open_sink = lambda name, rate: ListeningSink(rate) if listening else FlakySink()  # type: ignore[assignment]


def _patch_speaker() -> None:
    """A bug in our own code while a line is spoken (not a failure of an engine)."""
    from plugins.voice.pipeline.line_play import LinePlay

    real = LinePlay.play

    def play(self: Any, *args: Any, **kwargs: Any) -> Any:
        if _roll("speaker_bug"):
            raise KeyError("chaos: a bug in the speaker")
        return real(self, *args, **kwargs)

    LinePlay.play = play  # type: ignore[method-assign]


@hookimpl(tryfirst=True)
def engine_story_loaded(context: PlayContext) -> None:
    """Runs before the voice plugin's (tryfirst): the patches are in place before any engine starts."""
    context.trace({"event": "chaos_clock", "unix": time.time()})  # lines up the soak's outside faults with the trace
    _patch_piper()
    _patch_kokoro()
    _patch_xtts()
    _patch_pocket()
    _patch_cache()
    _patch_sink()
    _patch_speaker()


def _runs_in(frame: Any) -> str:
    """The module of the code a thread was started to run: its outermost frame outside threading.py."""
    outer = []
    while frame is not None:
        outer.append(frame)
        frame = frame.f_back
    for candidate in reversed(outer):
        module = candidate.f_globals.get("__name__", "?")
        if module != "threading":
            return str(module)
    return "threading"


def _look() -> None:
    frames = sys._current_frames()
    found = {thread.name: _runs_in(frames.get(thread.ident or 0)) for thread in threading.enumerate()}
    with LOCK:
        SEEN.update(found)


@hookimpl
def engine_narration(line: Any) -> None:
    _look()


@hookimpl
def engine_dialogue(line: Any) -> None:
    _look()


@hookimpl
def engine_choices_presented(options: Any) -> None:
    _look()
