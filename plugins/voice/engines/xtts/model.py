"""The XTTS model's owner: one thread, `xtts-model`, does everything that touches the model.

Loading, device moves (low-VRAM mode), latents and synthesis all run on that thread, one
request at a time, so no lock guards the model and none is ever held across a `yield`.
Who waits on whom: callers put a Request in the queue and read its `out` queue, holding no
lock; the owner never waits on a caller (it only puts into unbounded queues). Urgent requests
(the line being spoken) go first; a background one (prefetch) gives way between two chunks
by ending with Preempted, and its caller queues it again later. `close()` stops and joins it (not
while the model still loads). If the thread stops on a bug, every pending and later request fails.
"""

from __future__ import annotations

import functools
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from plugins.voice.core.budget import Budget, wait_item
from plugins.voice.core.errors import EngineUnavailable, Preempted, SpeechFailure, Stalled, SynthesisFailed
from plugins.voice.core.settings import XttsSettings
from plugins.voice.engines.base import EngineEvent, EngineEvents
from plugins.voice.engines.models import ModelError
from plugins.voice.engines.xtts.latents import LatentsCache
from plugins.voice.engines.xtts.loading import build, load_failure, short
from plugins.voice.engines.xtts.placement import Placement

log = logging.getLogger(__name__)
DONE = object()  # the last item of a request's output


@dataclass(eq=False)
class Request:
    """Work for the owner thread. `run` puts its results into `out`; DONE or an exception ends it."""

    run: Callable[[Request], None]
    urgent: bool
    out: queue.Queue[Any] = field(default_factory=queue.Queue)
    cancelled: threading.Event = field(default_factory=threading.Event)
    on_stall: Callable[[], None] = lambda: None  # its reader gave up waiting (the owner made no headway)
    followed: Callable[[], bool] = lambda: False  # background work the speaker now waits on (a prefetch it adopted)

    @property
    def pressing(self) -> bool:
        """Served before other work, which gives way to it: the line being spoken, made here or adopted."""
        return self.urgent or self.followed()

    def results(self, budget: Budget | None = None, progress: Callable[[], float] | None = None) -> Iterator[Any]:
        """What `run` produced, as it comes (caller's thread); raises what it raised. With a budget, a
        wait longer than it allows (no headway on any request: `progress`) ends with Stalled."""
        try:
            while (item := wait_item(self.out, budget, "xtts", progress)) is not DONE:
                if isinstance(item, BaseException):
                    raise item
                yield item
        except Stalled:
            self.on_stall()
            raise
        finally:
            self.cancelled.set()  # a caller that stops reading stops the work


class Headway:
    """When the owner last moved (a chunk or a request finished, the model loaded), and when a reader
    last gave up waiting on it: readers count their budget from `last` (owner thread writes it)."""

    def __init__(self) -> None:
        self.last = time.monotonic()
        self.stalled_at = 0.0

    def beat(self) -> None:
        self.last = time.monotonic()

    def gave_up(self) -> None:
        self.stalled_at = time.monotonic()

    def stuck(self) -> str | None:
        if self.stalled_at > self.last:
            return f"its model has made no audio for {time.monotonic() - self.last:.0f} s"
        return None


class XttsModel:
    def __init__(self, settings: XttsSettings, events: EngineEvents) -> None:
        self.settings = settings
        self.events = events
        self.model: Any = None
        self.streamer: Any = None  # stream.Streamer over the loaded model
        self.placement = Placement(settings)  # device, fp16, low-VRAM moves
        self.error: str | None = None
        self.loaded = threading.Event()
        self.latents = LatentsCache(settings.latents_dir)
        self._queue: list[Request] = []
        self._changed = threading.Condition()
        self._stopping = False
        self._died: str | None = None  # why the owner thread stopped on a bug: every request fails with it
        self._thread: threading.Thread | None = None
        self.serving: Request | None = None  # owner thread's current request (read by `stuck`)
        self.headway = Headway()

    @property
    def started(self) -> bool:
        return self._thread is not None

    def start(self, warm: Sequence[Callable[[], None]] = ()) -> None:
        """Starts the owner thread, which loads the model first (idempotent)."""
        with self._changed:
            if self._thread is None:
                self._stopping = False
                self._thread = threading.Thread(target=self._run, name="xtts-model", daemon=True)
                self._thread.start()
        for job in warm:
            self.later(job)

    def later(self, job: Callable[[], None]) -> None:
        """Queues `job` as background work for the owner thread (after what is queued; urgent lines first)."""
        self.submit(functools.partial(_run_job, job), urgent=False)

    def submit(self, run: Callable[[Request], None], urgent: bool,
               followed: Callable[[], bool] = lambda: False) -> Request:
        request = Request(run, urgent, on_stall=self.headway.gave_up, followed=followed)
        with self._changed:
            if self._stopping or self._died:
                request.out.put(EngineUnavailable("xtts", self._died or "the game is ending"))
                return request
            self._queue.append(request)
            self._changed.notify_all()
        return request

    def stuck(self) -> str | None:
        """Why new work would not be served now: a reader gave up waiting and the owner has made no headway
        since, still inside a request (an abandoned one is dropped at its next chunk). None when free or moving."""
        return self.headway.stuck() if self.serving is not None else None

    def urgent_waiting(self) -> bool:
        with self._changed:
            return any(request.pressing for request in self._queue)

    def close(self) -> None:
        """Stops the owner and joins it; one still loading the model (which cannot be interrupted) is left
        to end by itself once loaded (a daemon thread), so a quit does not wait for a load."""
        with self._changed:
            self._stopping = True
            pending, self._queue = self._queue, []
            thread = self._thread
            self._changed.notify_all()
        for request in pending:
            request.cancelled.set()
            request.out.put(EngineUnavailable("xtts", "the game is ending"))
        if thread is not None and self.loaded.is_set():
            thread.join()
        elif thread is not None:
            log.info("the game ends while XTTS is still loading: the load is left to finish on its own")
        with self._changed:
            self._thread = None

    # --- the owner thread ------------------------------------------------------------

    def _run(self) -> None:
        request: Request | None = None
        try:
            if self.model is None and self.error is None:
                self._load()
            while True:
                with self._changed:
                    self._changed.wait_for(lambda: self._stopping or bool(self._queue), timeout=self.placement.idle_left())
                    if self._stopping:
                        return
                    urgent = [r for r in self._queue if r.pressing]
                    request = urgent[0] if urgent else self._queue[0] if self._queue else None
                    if request is not None:
                        self._queue.remove(request)
                if request is None:
                    self.placement.to_ram(self.model)  # woken by the idle deadline
                else:
                    self._serve(request)
                    request = None
        except Exception as exc:  # a bug of ours: no request may wait for ever on a thread that is gone
            log.exception("the XTTS model thread stopped")
            self._die(f"its model thread stopped ({type(exc).__name__}: {short(exc)})", request)

    def _die(self, reason: str, request: Request | None) -> None:
        with self._changed:
            self._died = reason
            pending, self._queue = self._queue, []
        for waiting in pending + ([request] if request is not None else []):
            waiting.out.put(EngineUnavailable("xtts", reason))
        self.error = reason  # probes report it: the engine stays down for this game
        self.loaded.set()

    def _serve(self, request: Request) -> None:
        if request.cancelled.is_set():
            request.out.put(DONE)
            return
        self.serving = request
        try:
            if self.error or self.model is None:
                raise EngineUnavailable("xtts", self.error or "the model did not load")
            with self.placement.on_device(self.model):
                request.run(request)
        except SpeechFailure as exc:
            request.out.put(exc)
        except Exception as exc:  # a bug or an unexpected torch error: the caller falls back and logs it
            log.exception("xtts request failed")
            request.out.put(SynthesisFailed("xtts", f"synthesis failed ({type(exc).__name__}: {exc})"[:200]))
        else:
            request.out.put(DONE)
        finally:
            self.serving = None
            self.headway.beat()

    def check_turn(self, request: Request) -> bool:
        """Between two chunks (owner thread): False if the caller left; Preempted if background work
        must give way to a line being spoken."""
        self.headway.beat()  # a chunk was made: readers waiting behind this work see the model is moving
        if request.cancelled.is_set():
            return False
        if not request.pressing and self.urgent_waiting():
            raise Preempted("xtts", "gave way to the line being spoken")
        return True

    def _load(self) -> None:
        started = time.monotonic()
        folder = self.settings.model_dir
        self.events(EngineEvent("xtts", "loading", f"loading the model from {folder} ..."))
        try:
            loaded = build(self.settings)
            self.model, self.placement.device, self.streamer = loaded.model, loaded.device, loaded.streamer
            paths = f" ({loaded.paths})" if loaded.paths else ""
            self.events(EngineEvent("xtts", "ready",
                                    f"model ready on {self.placement.device}{paths} in {time.monotonic() - started:.1f} s"))
        except ModelError as exc:
            self.error = str(exc)
        except Exception as exc:  # torch and coqui raise many kinds; all mean "this model cannot load"
            self.error = load_failure(exc, folder)
        finally:
            self.headway.beat()  # a line that waited for the load gets its whole budget from now
            self.loaded.set()
        if self.error:
            self.events(EngineEvent("xtts", "failed", self.error))


def _run_job(job: Callable[[], None], request: Request) -> None:
    job()
